/* capture.c: the private network, and the packet ring on its loopback.
 *
 * The network: unshare(CLONE_NEWUSER | CLONE_NEWNET) gives this process a
 * user namespace in which it holds every capability (so it may open a packet
 * socket, which needs CAP_NET_RAW, without being root) and a network
 * namespace of its own whose only interface, lo, starts down.
 *
 * The ring: on the loopback one send() can make a 64 KiB segment, and a bulk
 * transfer hundreds of them in a millisecond. A packet socket that queued
 * each whole packet would overflow its receive buffer and lose some. With
 * PACKET_RX_RING the kernel copies only each packet's first bytes (headers
 * and a little payload) into frames shared with us, and counts any packet it
 * had no free frame for (capture_drops), so a capture that reports no loss
 * lost nothing. On lo each packet passes twice, leaving (PACKET_OUTGOING)
 * and arriving (PACKET_HOST): only the first is handed on.
 *
 * Segments and packets: TCP may hand the device one packet that stands for
 * several segments of its MSS (GSO, generic segmentation offload: a network
 * card, or the kernel just before the card, cuts it up). The loopback never
 * cuts it, so such a packet crosses lo whole. PACKET_VNET_HDR puts a
 * virtio_net_hdr before each packet saying so (gso_size: the MSS it is to be
 * cut at), which is how the tap counts segments as TCP does (TCP_INFO).
 * The kernel gives that header on SOCK_RAW rings only, so the ring has the
 * link header too (on lo, 14 bytes of Ethernet, all zeros).
 *
 * Time: the kernel stamps each packet on CLOCK_REALTIME; it is converted to
 * CLOCK_MONOTONIC (sl_now()), the clock of the narration, so that whatever
 * orders narration by time puts each segment among the calls.
 *
 * See also: capture.h for each function's contract.
 */
#if defined(__linux__)
#define _GNU_SOURCE   /* unshare() and the namespace flags, prctl() */
#endif

#include "capture.h"

#include "narrate.h"
#include "proc.h"

#include <stdio.h>

#ifdef __linux__

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
/* The libc's net/ethernet.h before the kernel's headers: musl's then tells
 * linux/if_ether.h not to define struct ethhdr a second time. */
#include <net/ethernet.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* 8192 frames of 512 bytes: room for the headers and the first payload
 * bytes of every packet of a few megabytes of transfer, before the tap reads. */
enum { FRAME_SIZE = 512, BLOCK_SIZE = 4096, BLOCKS = 1024,
       FRAMES = BLOCK_SIZE / FRAME_SIZE * BLOCKS };

static int write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd == -1)
        return -1;
    ssize_t n = write(fd, text, strlen(text));
    int saved = errno;
    close(fd);
    errno = saved;
    return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* Our uid and gid become root inside (setgroups must be denied first, or
 * the kernel refuses an unprivileged gid_map). */
static int map_to_root(uid_t uid, gid_t gid, char *why, size_t size)
{
    char uid_map[64], gid_map[64];
    snprintf(uid_map, sizeof uid_map, "0 %u 1\n", (unsigned)uid);
    snprintf(gid_map, sizeof gid_map, "0 %u 1\n", (unsigned)gid);
    const char *file = "/proc/self/setgroups";
    if ((write_file(file, "deny") == -1 && errno != ENOENT) ||
        write_file(file = "/proc/self/uid_map", uid_map) == -1 ||
        write_file(file = "/proc/self/gid_map", gid_map) == -1) {
        snprintf(why, size, "write %s: %s", file, sl_errno(errno));
        return -1;
    }
    return 0;
}

/* `ip link set lo up`: SIOCGIFFLAGS reads the flags, SIOCSIFFLAGS sets them. */
static int loopback_up(char *why, size_t size)
{
    struct ifreq request;
    memset(&request, 0, sizeof request);
    snprintf(request.ifr_name, sizeof request.ifr_name, "lo");
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int rc = fd == -1 ? -1 : ioctl(fd, SIOCGIFFLAGS, &request);
    if (rc == 0) {
        request.ifr_flags |= IFF_UP;
        rc = ioctl(fd, SIOCSIFFLAGS, &request);
    }
    if (rc == -1)
        snprintf(why, size, "ioctl(SIOCSIFFLAGS, lo up) -> -1 %s", sl_errno(errno));
    if (fd != -1)
        close(fd);
    return rc;
}

int capture_network(char *why, size_t size)
{
    uid_t uid = geteuid();
    gid_t gid = getegid();
    if (unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0) {
        if (map_to_root(uid, gid, why, size) == -1)
            return -1;
        /* Gaining capabilities made this process undumpable, as a setuid
         * one is: its /proc files and ptrace closed to its own user (and so
         * to LeakSanitizer, which ptraces). It holds no secret: open again. */
        prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
    } else {
        int refused = errno;
        if (uid != 0 || unshare(CLONE_NEWNET) == -1) {
            snprintf(why, size, "unshare(CLONE_NEWUSER | CLONE_NEWNET) -> -1 %s",
                     sl_errno(refused));
            return -1;
        }
    }
    return loopback_up(why, size);
}

/* The socket is made with protocol 0, so that nothing arrives before the
 * ring is set up; bind() then asks for every protocol, on lo only. */
int capture_open(struct capture *c, char *why, size_t size)
{
    struct tpacket_req ring = { BLOCK_SIZE, BLOCKS, FRAME_SIZE, FRAMES };
    int version = TPACKET_V2, on = 1;
    struct sockaddr_ll lo;
    memset(&lo, 0, sizeof lo);
    lo.sll_family = AF_PACKET;
    lo.sll_protocol = htons(ETH_P_ALL);
    lo.sll_ifindex = (int)if_nametoindex("lo");
    memset(c, 0, sizeof *c);
    const char *call = "socket(AF_PACKET, SOCK_RAW)";
    c->fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
    if (c->fd != -1 &&
        (call = "setsockopt(PACKET_VERSION)",
         setsockopt(c->fd, SOL_PACKET, PACKET_VERSION, &version, sizeof version)) == 0 &&
        (call = "setsockopt(PACKET_VNET_HDR)",
         setsockopt(c->fd, SOL_PACKET, PACKET_VNET_HDR, &on, sizeof on)) == 0 &&
        (call = "setsockopt(PACKET_RX_RING)",
         setsockopt(c->fd, SOL_PACKET, PACKET_RX_RING, &ring, sizeof ring)) == 0) {
        call = "mmap(the capture ring)";
        void *frames = mmap(NULL, (size_t)BLOCK_SIZE * BLOCKS, PROT_READ | PROT_WRITE,
                            MAP_SHARED, c->fd, 0);
        c->ring = frames == MAP_FAILED ? NULL : frames;
        if (c->ring != NULL &&
            (call = "bind(lo)", bind(c->fd, (struct sockaddr *)&lo, sizeof lo)) == 0)
            return 0;
    }
    snprintf(why, size, "%s -> -1 %s", call, sl_errno(errno));
    if (c->fd != -1)
        close(c->fd);
    return -1;
}

static struct tpacket2_hdr *frame_at(const struct capture *c)
{
    return (void *)(c->ring + (size_t)c->next * FRAME_SIZE);
}

int capture_next(struct capture *c, struct packet *p)
{
    for (;;) {
        struct tpacket2_hdr *frame = frame_at(c);
        if ((*(volatile uint32_t *)&frame->tp_status & TP_STATUS_USER) == 0)
            return 0;
        atomic_thread_fence(memory_order_acquire);   /* the frame's bytes after its status */
        const struct sockaddr_ll *from =
            (const void *)((unsigned char *)frame + TPACKET_ALIGN(sizeof *frame));
        size_t link = frame->tp_net - frame->tp_mac;
        if (from->sll_pkttype == PACKET_OUTGOING && frame->tp_snaplen >= link) {
            const struct virtio_net_hdr *offload =
                (const void *)((unsigned char *)frame + frame->tp_mac - sizeof *offload);
            struct timespec real;
            clock_gettime(CLOCK_REALTIME, &real);
            double to_monotonic = sl_now() - ((double)real.tv_sec + (double)real.tv_nsec / 1e9);
            p->bytes = (unsigned char *)frame + frame->tp_net;
            p->captured = frame->tp_snaplen - link;
            p->length = frame->tp_len - link;
            p->segment_size = offload->gso_type == VIRTIO_NET_HDR_GSO_NONE ? 0 : offload->gso_size;
            p->when = (double)frame->tp_sec + (double)frame->tp_nsec / 1e9 + to_monotonic;
            return 1;
        }
        capture_release(c);
    }
}

void capture_release(struct capture *c)
{
    atomic_thread_fence(memory_order_release);   /* done with its bytes, then free it */
    *(volatile uint32_t *)&frame_at(c)->tp_status = TP_STATUS_KERNEL;
    c->next = (c->next + 1) % FRAMES;
}

void capture_clear_error(const struct capture *c)
{
    int error;
    socklen_t length = sizeof error;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &error, &length);
}

unsigned long capture_drops(const struct capture *c)
{
    struct tpacket_stats counts;
    socklen_t length = sizeof counts;
    if (getsockopt(c->fd, SOL_PACKET, PACKET_STATISTICS, &counts, &length) == -1)
        return 0;
    return counts.tp_drops;
}

void capture_close(struct capture *c)
{
    munmap(c->ring, (size_t)BLOCK_SIZE * BLOCKS);
    close(c->fd);
    c->ring = NULL;
    c->fd = -1;
}

#else   /* not Linux */

int capture_network(char *why, size_t size)
{
    snprintf(why, size, "the wire tap needs Linux (AF_PACKET, network namespaces)");
    return -1;
}

int capture_open(struct capture *c, char *why, size_t size)
{
    (void)c;
    snprintf(why, size, "the wire tap needs Linux (AF_PACKET)");
    return -1;
}

int capture_next(struct capture *c, struct packet *p)
{
    (void)c, (void)p;
    return 0;
}

void capture_release(struct capture *c)
{
    (void)c;
}

void capture_clear_error(const struct capture *c)
{
    (void)c;
}

unsigned long capture_drops(const struct capture *c)
{
    (void)c;
    return 0;
}

void capture_close(struct capture *c)
{
    (void)c;
}

#endif
