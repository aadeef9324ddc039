/* wire.h: the sum service's wire format, as small pure functions.
 *
 * Everything that turns bytes from a peer into numbers (and back) lives
 * here, apart from the sockets: no I/O, no globals, no exits, no errno.
 * Each function can be called on its own, on any bytes, which is what a
 * fuzzer needs. The format itself is described in README.md and --help.
 *
 * Usage: #include "wire.h" (chapter 3 only).
 * See also: wire.c, server.c and client.c (the callers), byteorder(3) (htonl, ntohl).
 */
#ifndef SUM_WIRE_H
#define SUM_WIRE_H

#include <stddef.h>
#include <stdint.h>

/* The limits the server enforces, documented in README.md and --help. */
#define SUM_MAX_COUNT 10000     /* numbers in one request */
#define SUM_MAX_LINE 64         /* characters in one text line, before its newline */
#define SUM_MAX_MESSAGE 255     /* bytes of text in a binary error reply */

/* Sizes on the wire, in bytes. */
#define SUM_COUNT_SIZE 4        /* the count: unsigned, big-endian */
#define SUM_NUMBER_SIZE 8       /* each number and the sum: signed, big-endian */
#define SUM_REPLY_OK_SIZE 9     /* status byte + the sum */

/* The first byte of a binary reply. */
enum sum_status {
    SUM_STATUS_OK = 0,              /* the 8-byte sum follows */
    SUM_STATUS_COUNT_TOO_LARGE = 1, /* then a length byte and that much text */
    SUM_STATUS_OVERFLOW = 2,        /* likewise */
    SUM_STATUS_SHORT_REQUEST = 3    /* likewise */
};

enum sum_parse_result { SUM_PARSE_OK, SUM_PARSE_NOT_A_NUMBER, SUM_PARSE_OUT_OF_RANGE };

/* Big-endian bytes to and from unsigned integers, by shifts: the same code
 * is right on every machine, whatever order it keeps integers in. */
void sum_put_be32(unsigned char out[4], uint32_t value);
uint32_t sum_get_be32(const unsigned char in[4]);
void sum_put_be64(unsigned char out[8], uint64_t value);
uint64_t sum_get_be64(const unsigned char in[8]);

/* htonl and ntohl for 64 bits, which POSIX lacks: the returned value, stored
 * in memory as it is, has its bytes in the other order. */
uint64_t sum_host_to_network_64(uint64_t host);
uint64_t sum_network_to_host_64(uint64_t network);

/* The request's count, from its 4 bytes as they came off the wire. */
uint32_t sum_decode_count(const unsigned char in[SUM_COUNT_SIZE]);

/* A signed number (two's complement), from or to its 8 wire bytes. */
int64_t sum_decode_int64(const unsigned char in[SUM_NUMBER_SIZE]);
void sum_encode_int64(unsigned char out[SUM_NUMBER_SIZE], int64_t value);

/* TEXT (LENGTH bytes, no NUL needed) as a decimal integer: an optional '-',
 * then digits and nothing else. SUM_PARSE_OK stores it in *out. */
enum sum_parse_result sum_parse_int64(const char *text, size_t length, int64_t *out);

/* *sum = a + b: 0, or -1 (and *sum untouched) when that leaves int64_t. */
int sum_add_checked(int64_t a, int64_t b, int64_t *sum);

/* A success reply into out (SUM_REPLY_OK_SIZE bytes): its length. */
size_t sum_encode_ok_reply(unsigned char out[SUM_REPLY_OK_SIZE], int64_t sum);

/* An error reply (status, length byte, MESSAGE cut to SUM_MAX_MESSAGE bytes)
 * into out, which holds 2 + SUM_MAX_MESSAGE bytes: its length. */
size_t sum_encode_error_reply(unsigned char out[2 + SUM_MAX_MESSAGE], enum sum_status status,
                              const char *message);

/* Copies LENGTH bytes of a peer's text into out (SIZE bytes, NUL-terminated,
 * cut if need be) with anything unprintable shown as '?': safe to print. */
void sum_printable(char *out, size_t size, const char *text, size_t length);

#endif
