/* framing.c: the end-marker scanner and the length-prefix reader.
 *
 * Both work on bytes already received and keep no state of their own: the
 * caller owns the buffer and remembers how far it has searched. That is what
 * makes them safe to call after every recv(), whatever size each recv returns.
 *
 * Usage: see framing.h.
 * See also: framing.h (the contracts), README.md ("Finding the marker").
 */
#include "framing.h"

#include <string.h>

ptrdiff_t marker_find(const unsigned char *data, size_t length, size_t scanned,
                      const unsigned char *marker, size_t marker_length)
{
    if (marker_length == 0 || length < marker_length)
        return -1;
    if (scanned > length)
        scanned = length;
    /* A marker that ends inside the old bytes was already looked for; one that
     * starts up to MARKER_LENGTH - 1 bytes before their end may finish in the
     * new ones. That overlap is all the memory of earlier reads this needs. */
    size_t start = (scanned >= marker_length) ? scanned - (marker_length - 1) : 0;
    size_t last_start = length - marker_length;
    for (size_t i = start; i <= last_start;) {
        const unsigned char *first = memchr(data + i, marker[0], last_start - i + 1);
        if (first == NULL)
            return -1;
        i = (size_t)(first - data);
        if (memcmp(data + i, marker, marker_length) == 0)
            return (ptrdiff_t)i;
        i++;
    }
    return -1;
}

enum frame_state frame_check(const unsigned char *data, size_t length, uint32_t limit,
                             uint32_t *payload_length)
{
    *payload_length = 0;
    if (length < FRAME_HEADER_SIZE)
        return FRAME_INCOMPLETE;
    uint32_t announced = frame_read_header(data);
    *payload_length = announced;
    if (announced > limit)
        return FRAME_TOO_LONG;
    if (length - FRAME_HEADER_SIZE < announced)
        return FRAME_INCOMPLETE;
    return FRAME_COMPLETE;
}

uint32_t frame_read_header(const unsigned char header[FRAME_HEADER_SIZE])
{
    /* Big-endian, byte by byte: no alignment and no host byte order assumed. */
    return (uint32_t)header[0] << 24 | (uint32_t)header[1] << 16 |
           (uint32_t)header[2] << 8 | (uint32_t)header[3];
}

void frame_put_header(unsigned char header[FRAME_HEADER_SIZE], uint32_t payload_length)
{
    header[0] = (unsigned char)(payload_length >> 24);
    header[1] = (unsigned char)(payload_length >> 16);
    header[2] = (unsigned char)(payload_length >> 8);
    header[3] = (unsigned char)payload_length;
}
