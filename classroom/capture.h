/* capture.h: a private network, and every packet on its loopback.
 *
 * Harness for the wire tap (wiretap.c), Linux only. capture_network() moves
 * the calling process into a user and network namespace of its own (no root
 * needed where the system allows them) with lo up; capture_open() then
 * opens a packet socket on that lo whose packets the kernel copies into a
 * ring of frames shared with this process, each with the time it passed.
 *
 * Usage: if (capture_network(why, sizeof why) == -1 || capture_open(&c, why, sizeof why) == -1) ...
 *        struct packet p;
 *        while (capture_next(&c, &p)) { ...p.bytes...; capture_release(&c); }
 * See also: capture.c, packet(7) (PACKET_RX_RING), user_namespaces(7),
 *           netdevice(7) (SIOCSIFFLAGS).
 */
#ifndef SOCKLAB_CAPTURE_H
#define SOCKLAB_CAPTURE_H

#include <stddef.h>

struct capture {
    int fd;                     /* the packet socket */
    unsigned char *ring;        /* its frames, shared with the kernel */
    unsigned next;              /* the frame to look at next */
};

/* One packet, as it left through lo (each also passes arriving: not shown). */
struct packet {
    const unsigned char *bytes; /* from its IP header on */
    size_t captured;            /* how many of them the ring holds (the first few hundred) */
    size_t length;              /* how long the packet was */
    unsigned segment_size;      /* for one that stands for several TCP segments (GSO):
                                   the size it is to be cut at; 0 for a single one */
    double when;                /* when it passed, on the clock of sl_now() */
};

/* unshare(CLONE_NEWUSER | CLONE_NEWNET), this uid mapped to root inside (so
 * that a shell there may use ip(8)), then lo up. Root where user namespaces
 * are off gets a network namespace alone. 0, or -1 with the failed call and
 * its errno name in WHY. */
int capture_network(char *why, size_t size);

/* A packet socket on lo with its ring: 0, or -1 with the reason in WHY. */
int capture_open(struct capture *c, char *why, size_t size);

/* The next packet the kernel has put in the ring: 1 with *P filled (valid
 * until capture_release), 0 when there is none yet. */
int capture_next(struct capture *c, struct packet *p);

/* Hands the packet capture_next gave back to the kernel. */
void capture_release(struct capture *c);

/* After poll() said POLLERR (ENETDOWN while lo is down): clears it. Packets
 * are captured again once lo is up. */
void capture_clear_error(const struct capture *c);

/* How many packets the kernel had no free frame for, since the last call. */
unsigned long capture_drops(const struct capture *c);

/* Unmaps the ring and closes the socket (in a process that won't read it). */
void capture_close(struct capture *c);

#endif
