/* pattern.h: the byte pattern --bytes streams, and its checker.
 *
 * Harness, not lesson: the deadlock lesson (stream.c) needs a stream whose
 * every byte can be checked on the way back. Byte i is i mod 251: a prime,
 * so no buffer size lines up with it, and a byte lost, doubled or moved shows
 * up at once.
 *
 * Usage: send(fd, pattern_at(sent), n, 0); ... pattern_check(received, data, n);
 * See also: pattern.c, stream.c.
 */
#ifndef SOCKLAB_PATTERN_H
#define SOCKLAB_PATTERN_H

#include <stddef.h>

/* The most pattern_at() may be asked for in one piece. */
#define PATTERN_CHUNK 65536

/* PATTERN_CHUNK bytes of the pattern, starting at stream offset OFFSET. */
const unsigned char *pattern_at(long long offset);

/* Checks LENGTH bytes that came back at stream offset OFFSET: -1 and the
 * offset of the first wrong byte in *WHERE (and its value in *GOT, the
 * expected one in *WANTED), or 0 when all are right. */
int pattern_check(long long offset, const unsigned char *data, size_t length, long long *where,
                  unsigned *got, unsigned *wanted);

#endif
