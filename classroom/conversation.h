/* conversation.h: what each TCP connection on the wire has said so far,
 * and each new segment as a line a learner can count along with.
 *
 * The tap sees absolute sequence numbers (random, in the billions) and raw
 * window fields (to be multiplied by a scale agreed in the SYNs). A learner
 * counts bytes from 0: so each end's numbers are shown relative to its first
 * sequence number, and each window multiplied by the scale that end
 * announced. Remembering what each end has sent and what the other has
 * acknowledged also tells a retransmission (bytes sent again) and a probe
 * (an empty segment one below what was acknowledged: keepalive, or a window
 * probe when the peer's window is zero) from new data. Pure: no I/O.
 *
 * Usage: int created;
 *        struct conversation *c = conversation_of(&all, &segment, &created);
 *        if (created) { name c->end[0] and c->end[1] }
 *        conversation_line(c, &segment, line, sizeof line);
 * See also: conversation.c, segment.h, wiretap.c, RFC 9293 section 3.4
 *           (sequence numbers), RFC 1122 section 4.2.3.6 (keepalive).
 */
#ifndef SOCKLAB_CONVERSATION_H
#define SOCKLAB_CONVERSATION_H

#include "segment.h"

#include <stddef.h>
#include <stdint.h>

/* Room for a segment's line. */
#define CONVERSATION_LINE_MAX 200

struct conversation_end {
    unsigned char address[16];
    unsigned port;
    char name[32];          /* filled by the caller: "client", "server", "client B" */
    int seen;               /* it has sent something: first and next are set */
    uint32_t first;         /* its first sequence number: counting starts here */
    uint32_t next;          /* the sequence number after all it has sent */
    int acked_known;        /* the other end has acknowledged some of it */
    uint32_t acked;         /* the highest acknowledgement of its bytes */
    int window_scale;       /* announced in its SYN; -1 when it sent none */
    long window;            /* the last window it advertised, scaled; -1 before any */
};

struct conversation {
    int in_use;
    int family;
    unsigned long last_used;
    struct conversation_end end[2];   /* end[0] sent the first segment the tap saw */
};

#define CONVERSATIONS_MAX 128

struct conversations {
    struct conversation table[CONVERSATIONS_MAX];
    unsigned long clock;
};

/* The conversation S belongs to, found by its addresses and ports, or
 * started (the least recently used one is forgotten when all are taken):
 * then *CREATED is 1 and the caller names both ends. A SYN with a new
 * sequence number on the same ports starts afresh (the ports were reused). */
struct conversation *conversation_of(struct conversations *all, const struct segment *s,
                                     int *created);

/* Writes S's line into LINE (SIZE bytes) and remembers what it said:
 * "client -> server  FIN ACK  seq 25 ack 11 win 512 len 0", a SYN's options
 * after it ("  mss 65495 wscale 7"), "  (2 segments of 32768)" for a packet
 * that stands for several (GSO), and a note when it is a "retransmission",
 * a "keepalive probe", a "window probe" or a "window update". */
void conversation_line(struct conversation *c, const struct segment *s, char *line,
                       size_t size);

#endif
