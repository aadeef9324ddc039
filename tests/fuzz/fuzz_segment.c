/* fuzz_segment.c: the wire tap's decoder and numbering
 * (classroom/segment.c, classroom/conversation.c).
 *
 * The input is a capture: packets as the tap's ring hands them over, each
 * three bytes (how long the packet was, how much of it was captured, the
 * GSO size the capture reported) and then the packet, from its IP header
 * on; the decoder sees only the captured part. Each is decoded, and
 * what the decoder says is checked against the bytes themselves: the ports
 * and sequence numbers read directly where a plain IPv4 header puts them,
 * the payload inside what was captured, never past it. Every segment is
 * then numbered within its conversation, one table for the whole input, and
 * its line must be a line: ends, an arrow, flags, within the size given.
 *
 * See also: fuzz.h, segment.h and conversation.h (the contracts checked).
 */
#include "fuzz.h"
#include "../../classroom/conversation.h"
#include "../../classroom/segment.h"

#include <string.h>

static unsigned get16(const uint8_t *p)
{
    return (unsigned)p[0] << 8 | p[1];
}

/* Where the input says a plain IPv4 TCP packet is (a 20-byte IP header, no
 * fragment): the ports and sequence number must be these bytes. */
static void check_plain_ipv4(const uint8_t *p, size_t captured, const struct segment *s)
{
    if (captured < 40 || p[0] != 0x45)
        return;
    FUZZ_CHECK(s->family == 4);
    FUZZ_CHECK(s->source_port == get16(p + 20));
    FUZZ_CHECK(s->destination_port == get16(p + 22));
    FUZZ_CHECK(s->seq == ((uint32_t)get16(p + 24) << 16 | get16(p + 26)));
    FUZZ_CHECK(s->flags == p[33]);
    FUZZ_CHECK(memcmp(s->source, p + 12, 4) == 0);
}

static void check_segment(const uint8_t *p, size_t captured, size_t length, const struct segment *s)
{
    FUZZ_CHECK(s->family == 4 || s->family == 6);
    FUZZ_CHECK(s->payload >= p && s->payload <= p + captured);
    FUZZ_CHECK(s->payload + s->captured <= p + captured);
    FUZZ_CHECK(s->captured <= s->length);
    FUZZ_CHECK(s->length <= length);
    FUZZ_CHECK(s->window <= 0xffff && s->window_scale >= -1 && s->window_scale <= 14);
    FUZZ_CHECK(segment_count(s) >= 1);
    check_plain_ipv4(p, captured, s);
}

static void check_line(struct conversations *all, struct segment *s, uint8_t gso)
{
    int created;
    s->segment_size = gso;   /* what the capture would say, or 0 */
    struct conversation *c = conversation_of(all, s, &created);
    FUZZ_CHECK(c != NULL && c->in_use);
    if (created) {
        snprintf(c->end[0].name, sizeof c->end[0].name, "client");
        snprintf(c->end[1].name, sizeof c->end[1].name, "server");
    }
    char line[CONVERSATION_LINE_MAX + 8];
    memset(line, 'x', sizeof line);
    conversation_line(c, s, line, CONVERSATION_LINE_MAX);
    size_t n = strnlen(line, CONVERSATION_LINE_MAX);
    FUZZ_CHECK(n < CONVERSATION_LINE_MAX);
    FUZZ_CHECK(line[CONVERSATION_LINE_MAX] == 'x');   /* nothing written past the size */
    FUZZ_CHECK(strstr(line, " -> ") != NULL && strstr(line, "  seq ") != NULL);
    char flags[SEGMENT_FLAGS_STRLEN];
    FUZZ_CHECK(strstr(line, segment_flags(s->flags, flags)) != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct conversations all;
    memset(&all, 0, sizeof all);
    while (size >= 3) {
        size_t length = data[0], captured = data[1] < data[0] ? data[1] : data[0];
        uint8_t gso = data[2];
        data += 3;
        size -= 3;
        if (length > size)
            length = captured = size;
        if (captured > 0) {
            /* A copy of exactly the captured bytes: a read past them is an ASan error. */
            uint8_t *packet = malloc(captured);
            FUZZ_CHECK(packet != NULL);
            memcpy(packet, data, captured);
            struct segment s;
            if (segment_decode(packet, captured, length, &s) == 0) {
                check_segment(packet, captured, length, &s);
                check_line(&all, &s, gso);
            }
            free(packet);
        }
        data += length;
        size -= length;
    }
    return 0;
}
