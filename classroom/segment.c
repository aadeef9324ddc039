/* segment.c: the IPv4, IPv6 and TCP headers of a captured packet, decoded.
 *
 * Every length is checked against the bytes that are really there before a
 * byte is read: a packet capture is input like any other, and a header cut
 * short or a length that points past the end is refused, never followed.
 *
 * See also: segment.h for each function's contract.
 */
#include "segment.h"

#include <stdio.h>
#include <string.h>

enum { IPV4_HEADER = 20, IPV6_HEADER = 40, TCP_HEADER = 20, PROTOCOL_TCP = 6 };

static unsigned get16(const unsigned char *p)
{
    return (unsigned)p[0] << 8 | p[1];
}

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* IPv4: where the TCP header starts (*OFFSET) and how long the IP payload
 * is (*LENGTH); -1 for a fragment, another protocol or a bad length. */
static int ipv4_payload(const unsigned char *p, size_t captured, size_t packet_length,
                        struct segment *out, size_t *offset, size_t *length)
{
    size_t header = (size_t)(p[0] & 0x0f) * 4;
    size_t total = get16(p + 2);
    if (total == 0)
        total = packet_length;
    /* More fragments, or a fragment offset: only a first, whole packet has a TCP header. */
    if (header < IPV4_HEADER || header > captured || (get16(p + 6) & 0x3fff) != 0 ||
        p[9] != PROTOCOL_TCP || total < header || total > packet_length)
        return -1;
    out->family = 4;
    memcpy(out->source, p + 12, 4);
    memcpy(out->destination, p + 16, 4);
    *offset = header;
    *length = total - header;
    return 0;
}

/* IPv6: the same, after skipping the extension headers TCP may follow
 * (hop-by-hop, routing, destination options). A fragment header ends it. */
static int ipv6_payload(const unsigned char *p, size_t captured, size_t packet_length,
                        struct segment *out, size_t *offset, size_t *length)
{
    if (captured < IPV6_HEADER)
        return -1;
    size_t total = get16(p + 4) + (size_t)IPV6_HEADER;
    if (total == IPV6_HEADER)
        total = packet_length;   /* a jumbo (BIG TCP) packet: the length is the packet's */
    if (total > packet_length)
        return -1;
    unsigned next = p[6];
    size_t at = IPV6_HEADER;
    while (next == 0 || next == 43 || next == 60) {
        if (at + 8 > captured)
            return -1;
        next = p[at];
        at += ((size_t)p[at + 1] + 1) * 8;
    }
    if (next != PROTOCOL_TCP || at > total)
        return -1;
    out->family = 6;
    memcpy(out->source, p + 8, 16);
    memcpy(out->destination, p + 24, 16);
    *offset = at;
    *length = total - at;
    return 0;
}

/* The options a SYN carries that the tap reports: MSS and window scale. */
static void read_options(const unsigned char *p, size_t length, struct segment *out)
{
    size_t at = 0;
    while (at < length && p[at] != 0) {
        if (p[at] == 1) {                       /* no-operation: one byte */
            at++;
            continue;
        }
        if (at + 1 >= length || p[at + 1] < 2 || at + p[at + 1] > length)
            return;                             /* malformed: stop reading */
        if (p[at] == 2 && p[at + 1] == 4)
            out->mss = get16(p + at + 2);
        if (p[at] == 3 && p[at + 1] == 3)       /* RFC 7323: above 14 means 14 */
            out->window_scale = p[at + 2] > 14 ? 14 : p[at + 2];
        at += p[at + 1];
    }
}

int segment_decode(const unsigned char *packet, size_t captured, size_t packet_length,
                   struct segment *out)
{
    size_t offset, length;
    memset(out, 0, sizeof *out);
    out->window_scale = -1;
    if (captured > packet_length || captured < 1)
        return -1;
    int version = packet[0] >> 4;
    if (version == 4 && captured >= IPV4_HEADER) {
        if (ipv4_payload(packet, captured, packet_length, out, &offset, &length) == -1)
            return -1;
    } else if (version == 6) {
        if (ipv6_payload(packet, captured, packet_length, out, &offset, &length) == -1)
            return -1;
    } else {
        return -1;
    }
    if (offset + TCP_HEADER > captured || length < TCP_HEADER)
        return -1;
    const unsigned char *tcp = packet + offset;
    size_t header = (size_t)(tcp[12] >> 4) * 4;
    if (header < TCP_HEADER || header > length || offset + header > captured)
        return -1;
    out->source_port = get16(tcp);
    out->destination_port = get16(tcp + 2);
    out->seq = get32(tcp + 4);
    out->ack = get32(tcp + 8);
    out->flags = tcp[13];
    out->window = get16(tcp + 14);
    read_options(tcp + TCP_HEADER, header - TCP_HEADER, out);
    out->length = (uint32_t)(length - header);
    out->payload = tcp + header;
    out->captured = captured - offset - header;
    if (out->captured > out->length)
        out->captured = out->length;
    return 0;
}

const char *segment_flags(unsigned flags, char *buf)
{
    static const struct { unsigned bit; const char *name; } names[] = {
        { SEGMENT_SYN, "SYN" }, { SEGMENT_FIN, "FIN" }, { SEGMENT_RST, "RST" },
        { SEGMENT_PSH, "PSH" }, { SEGMENT_ACK, "ACK" }, { SEGMENT_URG, "URG" },
        { SEGMENT_ECE, "ECE" }, { SEGMENT_CWR, "CWR" },
    };
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (flags & names[i].bit)
            used += (size_t)snprintf(buf + used, SEGMENT_FLAGS_STRLEN - used, "%s%s",
                                     used > 0 ? " " : "", names[i].name);
    }
    if (used == 0)
        snprintf(buf, SEGMENT_FLAGS_STRLEN, "none");
    return buf;
}

uint32_t segment_space(const struct segment *s)
{
    return s->length + ((s->flags & SEGMENT_SYN) != 0) + ((s->flags & SEGMENT_FIN) != 0);
}

unsigned segment_count(const struct segment *s)
{
    if (s->segment_size == 0 || s->length <= s->segment_size)
        return 1;
    return (unsigned)((s->length + s->segment_size - 1) / s->segment_size);
}
