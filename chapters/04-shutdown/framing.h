/* framing.h: chapter 4's two ways to find where a message ends.
 *
 * A byte stream has no message boundaries: the program must put them there.
 * Either an end marker after the message (the recipe's way), or the message's
 * length in front of it. Both readers below are pure functions: no I/O, no
 * globals, no exits, nothing allocated. They look at bytes a caller already
 * received, so they can be tested (and fuzzed) on their own.
 *
 * Usage: #include "framing.h", link framing.c (it needs only the C library).
 * See also: framing.c, server.c and length_prefix.c (the programs using them),
 *           README.md.
 */
#ifndef FRAMING_H
#define FRAMING_H

#include <stddef.h>
#include <stdint.h>

/* Where MARKER (MARKER_LENGTH bytes, at least 1) starts in DATA[0, LENGTH),
 * or -1 when it is not there (yet). The first SCANNED bytes were searched by
 * an earlier call that found nothing: only a match ending after them can be
 * new, so the search restarts MARKER_LENGTH - 1 bytes before SCANNED and a
 * marker split across any number of reads is found once its last byte is in.
 * An empty marker is never found. */
ptrdiff_t marker_find(const unsigned char *data, size_t length, size_t scanned,
                      const unsigned char *marker, size_t marker_length);

/* Length-prefix framing: a 32-bit unsigned length, big-endian, then that many bytes. */
#define FRAME_HEADER_SIZE 4

enum frame_state {
    FRAME_INCOMPLETE,   /* fewer bytes than the header, or than the header says */
    FRAME_COMPLETE,     /* header and payload are all in DATA */
    FRAME_TOO_LONG      /* the header announces more than LIMIT bytes */
};

/* Looks at the first LENGTH bytes of a length-prefixed stream. Sets
 * *PAYLOAD_LENGTH to the announced length once the header is in (0 before).
 * Bytes after the frame are not looked at. */
enum frame_state frame_check(const unsigned char *data, size_t length, uint32_t limit,
                             uint32_t *payload_length);

/* The length a complete 4-byte header announces. */
uint32_t frame_read_header(const unsigned char header[FRAME_HEADER_SIZE]);

/* Writes the header announcing PAYLOAD_LENGTH bytes into HEADER. */
void frame_put_header(unsigned char header[FRAME_HEADER_SIZE], uint32_t payload_length);

#endif
