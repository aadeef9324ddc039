/* wire.c: the sum service's wire format, as small pure functions.
 *
 * Two ways to get integers on and off the wire in the right byte order are
 * here, on purpose. The classic one copies the integer's memory after
 * htonl()/ntohl() have put its bytes in network order (sum_decode_count).
 * The other builds each byte with shifts (sum_put_be64): shifts work on
 * values, not on memory, so that code never needs to know the host's order.
 * Nothing here does I/O, keeps state or exits: bytes in, numbers out.
 *
 * Usage: see wire.h.
 * See also: server.c, client.c (the callers), README.md (the wire format), byteorder(3).
 */
#include "wire.h"

#include <arpa/inet.h>
#include <string.h>

void sum_put_be32(unsigned char out[4], uint32_t value)
{
    out[0] = (unsigned char)(value >> 24);
    out[1] = (unsigned char)(value >> 16);
    out[2] = (unsigned char)(value >> 8);
    out[3] = (unsigned char)value;
}

uint32_t sum_get_be32(const unsigned char in[4])
{
    return (uint32_t)in[0] << 24 | (uint32_t)in[1] << 16 | (uint32_t)in[2] << 8 | in[3];
}

void sum_put_be64(unsigned char out[8], uint64_t value)
{
    for (int i = 0; i < 8; i++)
        out[i] = (unsigned char)(value >> (56 - 8 * i));   /* most significant first */
}

uint64_t sum_get_be64(const unsigned char in[8])
{
    uint64_t value = 0;
    for (int i = 0; i < 8; i++)
        value = value << 8 | in[i];
    return value;
}

/* glibc has htobe64 and the BSDs have htobe64 or htonll, under different
 * headers; these two need nothing but C. Reordering is its own inverse, so
 * the same bytes serve both directions. */
uint64_t sum_host_to_network_64(uint64_t host)
{
    unsigned char bytes[8];
    uint64_t network;
    sum_put_be64(bytes, host);
    memcpy(&network, bytes, sizeof network);
    return network;
}

uint64_t sum_network_to_host_64(uint64_t network)
{
    unsigned char bytes[8];
    memcpy(bytes, &network, sizeof bytes);
    return sum_get_be64(bytes);
}

uint32_t sum_decode_count(const unsigned char in[SUM_COUNT_SIZE])
{
    uint32_t network;
    memcpy(&network, in, sizeof network);   /* not *(uint32_t *)in: in may be misaligned */
    return ntohl(network);
}

/* C leaves converting a uint64_t over INT64_MAX to int64_t up to the
 * compiler; this spells out two's complement instead. */
static int64_t from_twos_complement(uint64_t bits)
{
    if (bits <= (uint64_t)INT64_MAX)
        return (int64_t)bits;
    return -(int64_t)(~bits) - 1;           /* ~bits <= INT64_MAX: no overflow */
}

int64_t sum_decode_int64(const unsigned char in[SUM_NUMBER_SIZE])
{
    return from_twos_complement(sum_get_be64(in));
}

void sum_encode_int64(unsigned char out[SUM_NUMBER_SIZE], int64_t value)
{
    sum_put_be64(out, (uint64_t)value);     /* int64_t to uint64_t is defined: modulo 2^64 */
}

enum sum_parse_result sum_parse_int64(const char *text, size_t length, int64_t *out)
{
    int negative = (length > 0 && text[0] == '-');
    size_t first = negative ? 1 : 0;
    if (first == length)
        return SUM_PARSE_NOT_A_NUMBER;
    for (size_t i = first; i < length; i++) {
        if (text[i] < '0' || text[i] > '9')
            return SUM_PARSE_NOT_A_NUMBER;
    }
    /* The magnitude may reach 2^63 for a negative number, one more than
     * INT64_MAX: count it in a uint64_t and check before every step. */
    uint64_t limit = negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    uint64_t magnitude = 0;
    for (size_t i = first; i < length; i++) {
        unsigned digit = (unsigned)(text[i] - '0');
        if (magnitude > (limit - digit) / 10)
            return SUM_PARSE_OUT_OF_RANGE;
        magnitude = magnitude * 10 + digit;
    }
    *out = negative ? from_twos_complement(~magnitude + 1) : (int64_t)magnitude;
    return SUM_PARSE_OK;
}

int sum_add_checked(int64_t a, int64_t b, int64_t *sum)
{
    /* Signed overflow is undefined in C: test before adding, never after. */
    if ((b > 0 && a > INT64_MAX - b) || (b < 0 && a < INT64_MIN - b))
        return -1;
    *sum = a + b;
    return 0;
}

size_t sum_encode_ok_reply(unsigned char out[SUM_REPLY_OK_SIZE], int64_t sum)
{
    out[0] = SUM_STATUS_OK;
    sum_encode_int64(out + 1, sum);
    return SUM_REPLY_OK_SIZE;
}

size_t sum_encode_error_reply(unsigned char out[2 + SUM_MAX_MESSAGE], enum sum_status status,
                              const char *message)
{
    size_t length = strlen(message);
    if (length > SUM_MAX_MESSAGE)
        length = SUM_MAX_MESSAGE;
    out[0] = (unsigned char)status;
    out[1] = (unsigned char)length;
    memcpy(out + 2, message, length);
    return 2 + length;
}

void sum_printable(char *out, size_t size, const char *text, size_t length)
{
    if (size == 0)
        return;
    size_t i;
    for (i = 0; i < length && i + 1 < size; i++)
        out[i] = (text[i] >= ' ' && text[i] <= '~') ? text[i] : '?';
    out[i] = '\0';
}
