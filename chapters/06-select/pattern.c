/* pattern.c: the byte pattern --bytes streams, and its checker.
 *
 * Harness, not lesson: see pattern.h.
 *
 * Usage: see pattern.h.
 * See also: stream.c (the deadlock lesson that streams it).
 */
#include "pattern.h"

#define PATTERN_PERIOD 251

/* One chunk starting at any phase of the pattern. */
static unsigned char pattern[PATTERN_CHUNK + PATTERN_PERIOD];
static int filled;

const unsigned char *pattern_at(long long offset)
{
    if (!filled) {
        for (size_t i = 0; i < sizeof pattern; i++)
            pattern[i] = (unsigned char)(i % PATTERN_PERIOD);
        filled = 1;
    }
    return pattern + offset % PATTERN_PERIOD;
}

int pattern_check(long long offset, const unsigned char *data, size_t length, long long *where,
                  unsigned *got, unsigned *wanted)
{
    const unsigned char *expected = pattern_at(offset);
    for (size_t i = 0; i < length; i++) {
        if (data[i] != expected[i]) {
            *where = offset + (long long)i;
            *got = data[i];
            *wanted = expected[i];
            return -1;
        }
    }
    return 0;
}
