/* fuzz_frame.c: chapter 4's length-prefix reader (frame_check in framing.c).
 *
 * Input layout: bytes 0 and 1 give the reader's limit (bit 0 of byte 2 makes
 * it the largest there is), the rest is a stream of frames as a peer could
 * send them. frame_check is asked about every prefix of the stream, each in
 * a buffer of exactly that size, and must agree with a reference written
 * from the header's description; then the stream is read frame after frame,
 * as a server would, and no frame may reach past the bytes received.
 *
 * See also: fuzz.h, chapters/04-shutdown/framing.h (the contract).
 */
#include "fuzz.h"
#include "framing.h"

#include <string.h>

static enum frame_state reference_check(const unsigned char *data, size_t length,
                                        uint32_t limit, uint32_t *payload_length)
{
    *payload_length = 0;
    if (length < 4)
        return FRAME_INCOMPLETE;
    uint32_t announced = 0;
    for (int i = 0; i < 4; i++)
        announced = announced * 256 + data[i];
    *payload_length = announced;
    if (announced > limit)
        return FRAME_TOO_LONG;
    return (length - 4 >= (size_t)announced) ? FRAME_COMPLETE : FRAME_INCOMPLETE;
}

static enum frame_state check_in_copy(const unsigned char *data, size_t length, uint32_t limit,
                                      uint32_t *payload_length)
{
    unsigned char *copy = malloc(length > 0 ? length : 1);
    FUZZ_CHECK(copy != NULL);
    if (length > 0)
        memcpy(copy, data, length);
    *payload_length = 0xdeadbeef;   /* must be overwritten, whatever the answer */
    enum frame_state state = frame_check(copy, length, limit, payload_length);
    free(copy);
    return state;
}

static void check_prefix(const unsigned char *stream, size_t prefix, uint32_t limit)
{
    uint32_t got, expected;
    enum frame_state state = check_in_copy(stream, prefix, limit, &got);
    FUZZ_CHECK(state == reference_check(stream, prefix, limit, &expected));
    FUZZ_CHECK(got == expected);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    uint32_t limit = (data[2] & 1) ? UINT32_MAX : (uint32_t)data[0] << 8 | data[1];
    const unsigned char *stream = data + 3;
    size_t length = size - 3;

    /* Every short prefix, then the whole stream. */
    for (size_t prefix = 0; prefix < length && prefix < 64; prefix++)
        check_prefix(stream, prefix, limit);
    check_prefix(stream, length, limit);

    /* Frame after frame, as a server reads them; stops at the first that isn't whole. */
    size_t offset = 0;
    uint32_t payload;
    while (check_in_copy(stream + offset, length - offset, limit, &payload) == FRAME_COMPLETE) {
        FUZZ_CHECK(payload <= limit && FRAME_HEADER_SIZE + (size_t)payload <= length - offset);
        unsigned char header[FRAME_HEADER_SIZE];
        frame_put_header(header, payload);
        FUZZ_CHECK(memcmp(header, stream + offset, FRAME_HEADER_SIZE) == 0);
        FUZZ_CHECK(frame_read_header(header) == payload);
        offset += FRAME_HEADER_SIZE + payload;
    }
    FUZZ_CHECK(offset <= length);
    return 0;
}
