/* fuzz_marker.c: chapter 4's end-marker scanner (marker_find in framing.c),
 * checked for correctness against the obvious search, not only for crashes.
 *
 * Input layout: byte 0 picks the marker's length (0 to 8), byte 1 seeds the
 * sizes of the simulated recv() chunks, then come the marker's bytes, then
 * the stream. The stream is scanned twice: whole, and grown chunk by chunk
 * the way server.c calls it after each recv(), passing how far it had
 * already searched. Both must find the first occurrence a naive search
 * finds, and the chunked scan must find it in the first chunk that
 * completes it. Each call sees a buffer of exactly the bytes received, so
 * a peek past them is an ASan error.
 *
 * See also: fuzz.h, chapters/04-shutdown/framing.h (the contract).
 */
#include "fuzz.h"
#include "framing.h"

#include <string.h>

/* The first position of MARKER in DATA, by trying every position. */
static ptrdiff_t naive_find(const unsigned char *data, size_t length,
                            const unsigned char *marker, size_t marker_length)
{
    if (marker_length == 0)
        return -1;
    for (size_t i = 0; i + marker_length <= length; i++) {
        size_t k = 0;
        while (k < marker_length && data[i + k] == marker[k])
            k++;
        if (k == marker_length)
            return (ptrdiff_t)i;
    }
    return -1;
}

/* marker_find on a private copy of exactly LENGTH bytes. */
static ptrdiff_t find_in_copy(const unsigned char *data, size_t length, size_t scanned,
                              const unsigned char *marker, size_t marker_length)
{
    unsigned char *copy = malloc(length > 0 ? length : 1);
    FUZZ_CHECK(copy != NULL);
    if (length > 0)
        memcpy(copy, data, length);
    ptrdiff_t found = marker_find(copy, length, scanned, marker, marker_length);
    free(copy);
    return found;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t marker_length = data[0] % 9;
    unsigned seed = data[1];
    if (size - 2 < marker_length)
        return 0;
    unsigned char marker[8];
    if (marker_length > 0)
        memcpy(marker, data + 2, marker_length);
    const unsigned char *stream = data + 2 + marker_length;
    size_t length = size - 2 - marker_length;
    ptrdiff_t expected = naive_find(stream, length, marker, marker_length);

    FUZZ_CHECK(find_in_copy(stream, length, 0, marker, marker_length) == expected);

    /* Grown in chunks of 1 to 16 bytes, as recv() might hand them over. */
    size_t received = 0, scanned = 0;
    ptrdiff_t found = -1;
    while (received < length) {
        seed = seed * 1103515245u + 12345u;
        size_t chunk = 1 + (seed >> 16) % 16;
        received = (length - received < chunk) ? length : received + chunk;
        found = find_in_copy(stream, received, scanned, marker, marker_length);
        if (found >= 0)
            break;
        /* Nothing yet: then there must be nothing in these bytes at all. */
        FUZZ_CHECK(naive_find(stream, received, marker, marker_length) == -1);
        scanned = received;
    }
    FUZZ_CHECK(found == expected);
    if (found >= 0)     /* found as soon as its last byte arrived, not later */
        FUZZ_CHECK((size_t)found + marker_length > scanned);

    /* A SCANNED past the end is clamped: whatever comes back is a real match. */
    ptrdiff_t clamped = find_in_copy(stream, length, length + 100, marker, marker_length);
    FUZZ_CHECK(clamped == -1 || (clamped >= 0 && (size_t)clamped + marker_length <= length &&
                                 memcmp(stream + clamped, marker, marker_length) == 0));
    return 0;
}
