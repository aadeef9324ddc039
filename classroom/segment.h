/* segment.h: one TCP segment, decoded from the bytes of an IP packet.
 *
 * The wire tap's decoder, as a pure module: it reads an IPv4 or IPv6 header
 * and the TCP header after it (ports, sequence and acknowledgement numbers,
 * flags, window, the MSS and window-scale options) and says how many payload
 * bytes the segment carries, from the bytes given and nothing else: no I/O,
 * no globals, no errno. Anything that is not a whole TCP header is refused,
 * so a fuzzer can throw any bytes at it (tests/fuzz/fuzz_segment.c).
 *
 * Usage: struct segment s;
 *        if (segment_decode(bytes, captured, packet_length, &s) == 0) ...
 * See also: segment.c, wiretap.c (the tap that feeds it), RFC 9293 (TCP),
 *           RFC 7323 (window scale), ip(7), ipv6(7).
 */
#ifndef SOCKLAB_SEGMENT_H
#define SOCKLAB_SEGMENT_H

#include <stddef.h>
#include <stdint.h>

/* The TCP header's flag bits. */
enum {
    SEGMENT_FIN = 0x01, SEGMENT_SYN = 0x02, SEGMENT_RST = 0x04, SEGMENT_PSH = 0x08,
    SEGMENT_ACK = 0x10, SEGMENT_URG = 0x20, SEGMENT_ECE = 0x40, SEGMENT_CWR = 0x80
};

/* Room for the longest flags text: "SYN FIN RST PSH ACK URG ECE CWR". */
#define SEGMENT_FLAGS_STRLEN 32

struct segment {
    int family;                     /* 4 or 6: the IP version */
    unsigned char source[16];       /* address bytes, network order (IPv4: the first 4) */
    unsigned char destination[16];
    unsigned source_port, destination_port;
    uint32_t seq, ack;              /* as on the wire: absolute */
    unsigned flags;                 /* SEGMENT_* bits */
    unsigned window;                /* as sent: not yet multiplied by the scale */
    int window_scale;               /* the window-scale option (0-14), -1 when absent */
    unsigned mss;                   /* the MSS option, 0 when absent */
    uint32_t length;                /* payload bytes the segment carries */
    const unsigned char *payload;   /* the first of them, inside the packet given */
    size_t captured;                /* how many of them the capture holds */
    unsigned segment_size;          /* not in the bytes: set by the caller for a packet
                                       that stands for several segments (GSO), the size
                                       it is to be cut at; 0 for one segment */
};

/* Decodes PACKET (CAPTURED bytes of a packet that was PACKET_LENGTH bytes
 * long, starting at its IP header) into *OUT: 0 for a TCP segment, -1 for
 * anything else (another protocol, a fragment, a header cut short, lengths
 * that contradict each other). A zero IP length field (a GSO packet larger
 * than 64 KiB: "BIG TCP") is taken from PACKET_LENGTH. */
int segment_decode(const unsigned char *packet, size_t captured, size_t packet_length,
                   struct segment *out);

/* FLAGS as words, most telling first: "SYN", "FIN PSH ACK", "RST ACK";
 * "none" for none. Returns BUF (SEGMENT_FLAGS_STRLEN bytes). */
const char *segment_flags(unsigned flags, char *buf);

/* How many segments of its MSS the packet stands for: 1, unless GSO put
 * several in one (segment_size). What TCP_INFO counts. */
unsigned segment_count(const struct segment *s);

/* The sequence space a segment takes: its payload, plus one for a SYN and
 * one for a FIN (each is numbered as if it were a byte). */
uint32_t segment_space(const struct segment *s);

#endif
