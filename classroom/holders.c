/* holders.c: sock_diag for the sockets, /proc for the processes that hold
 * them.
 *
 * A sock_diag request is one netlink message, an inet_diag_req_v2 naming a
 * family, TCP, the states wanted and (for one socket) its addresses and
 * ports; the answer is one inet_diag_msg per socket, ended by NLMSG_DONE for
 * a dump, or an NLMSG_ERROR (ENOENT: no such socket).
 *
 * See also: holders.h for each function's contract.
 */
#include "holders.h"

#include "proc.h"

#ifdef __linux__

#include <dirent.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum { STATE_LISTEN = 10 };   /* TCP_LISTEN in the kernel's numbering */

static size_t address_size(int family)
{
    return family == 6 ? 16 : 4;
}

/* A socket of the answer as a row: an IPv4-mapped IPv6 address
 * (::ffff:a.b.c.d) travels as IPv4, so it is shown as IPv4. */
static void row_from(const struct inet_diag_msg *m, struct socket_row *row)
{
    static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
    const unsigned char *local = (const unsigned char *)m->id.idiag_src;
    const unsigned char *remote = (const unsigned char *)m->id.idiag_dst;
    memset(row, 0, sizeof *row);
    row->inode = m->idiag_inode;
    row->family = m->idiag_family == AF_INET6 && memcmp(local, mapped, 12) != 0 ? 6 : 4;
    size_t skip = m->idiag_family == AF_INET6 && row->family == 4 ? 12 : 0;
    memcpy(row->local, local + skip, address_size(row->family));
    memcpy(row->remote, remote + skip, address_size(row->family));
    row->local_port = ntohs(m->id.idiag_sport);
    row->remote_port = m->idiag_state == STATE_LISTEN ? 0 : ntohs(m->id.idiag_dport);
}

static int diag_socket(void)
{
    static int fd = -1;
    if (fd == -1)
        fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    return fd;
}

/* Sends sock_diag the question about FAMILY's TCP sockets in STATES: every
 * one (DUMP), or the one with WANTED's ends. -1 if it could not be asked. */
static int diag_send(int fd, int family, unsigned states, int dump,
                     const struct socket_row *wanted)
{
    struct { struct nlmsghdr header; struct inet_diag_req_v2 request; } ask;
    memset(&ask, 0, sizeof ask);
    ask.header.nlmsg_len = sizeof ask;
    ask.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    ask.header.nlmsg_flags = NLM_F_REQUEST | (dump ? NLM_F_DUMP : 0);
    ask.request.sdiag_family = family == 6 ? AF_INET6 : AF_INET;
    ask.request.sdiag_protocol = IPPROTO_TCP;
    ask.request.idiag_states = states;
    ask.request.id.idiag_cookie[0] = ask.request.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
    if (wanted != NULL) {
        ask.request.id.idiag_sport = htons((unsigned short)wanted->local_port);
        ask.request.id.idiag_dport = htons((unsigned short)wanted->remote_port);
        memcpy(ask.request.id.idiag_src, wanted->local, address_size(family));
        memcpy(ask.request.id.idiag_dst, wanted->remote, address_size(family));
    }
    struct sockaddr_nl kernel;
    memset(&kernel, 0, sizeof kernel);
    kernel.nl_family = AF_NETLINK;
    return fd == -1 ? -1 : (int)sendto(fd, &ask, sizeof ask, 0, (struct sockaddr *)&kernel,
                                       sizeof kernel);
}

/* Asks sock_diag (see diag_send); the answer's sockets into ROWS (at most
 * MAX): how many. */
static size_t diag_ask(int family, unsigned states, int dump, const struct socket_row *wanted,
                       struct socket_row *rows, size_t max)
{
    int fd = diag_socket();
    if (diag_send(fd, family, states, dump, wanted) == -1)
        return 0;
    size_t count = 0;
    for (int done = 0; !done;) {
        static long buffer[8192 / sizeof(long)];   /* long: aligned for the headers */
        ssize_t n = recv(fd, buffer, sizeof buffer, 0);
        size_t got = n > 0 ? (size_t)n : 0, at = 0;
        done = got == 0 || !dump;
        while (at + sizeof(struct nlmsghdr) <= got) {
            const struct nlmsghdr *h = (const void *)((const char *)buffer + at);
            if (h->nlmsg_len < sizeof *h || at + h->nlmsg_len > got)
                break;
            if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR)
                done = 1;
            else if (h->nlmsg_type == SOCK_DIAG_BY_FAMILY && count < max &&
                     h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct inet_diag_msg)))
                row_from(NLMSG_DATA(h), &rows[count++]);
            at += NLMSG_ALIGN(h->nlmsg_len);
        }
    }
    return count;
}

size_t holders_listeners(struct socket_row *rows, size_t max)
{
    size_t count = diag_ask(4, 1u << STATE_LISTEN, 1, NULL, rows, max);
    return count + diag_ask(6, 1u << STATE_LISTEN, 1, NULL, rows + count, max - count);
}

int holders_listens_for(const struct socket_row *listener, const struct socket_row *wanted)
{
    static const unsigned char any[16];
    size_t size = address_size(listener->family);
    if (listener->remote_port != 0 || listener->local_port != wanted->local_port)
        return 0;
    if (listener->family == wanted->family && memcmp(listener->local, wanted->local, size) == 0)
        return 1;
    return memcmp(listener->local, any, size) == 0 &&
           (listener->family == wanted->family || listener->family == 6);
}

int holders_lookup(const struct socket_row *wanted, struct socket_row *found)
{
    if (diag_ask(wanted->family, ~0u, 0, wanted, found, 1) == 1 && found->inode != 0)
        return 0;
    /* Still in the listener's queue, held by no one yet: the listener then. */
    struct socket_row listeners[64];
    size_t count = holders_listeners(listeners, 64);
    for (size_t i = 0; i < count; i++) {
        if (holders_listens_for(&listeners[i], wanted)) {
            *found = listeners[i];
            return 0;
        }
    }
    return -1;
}

/* ---- who holds them ------------------------------------------------------- */

/* Process PID's name into COMM (16 bytes): 0, or -1 when it is gone. */
static int read_comm(long pid, char *comm)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/comm", pid);
    FILE *file = fopen(path, "r");
    int found = file != NULL && fgets(comm, 16, file) != NULL;
    if (file != NULL)
        fclose(file);
    if (!found)
        return -1;
    comm[strcspn(comm, "\n")] = '\0';
    return 0;
}

/* Who held which socket at the last look through /proc: inode -> holder,
 * in a hash table. A look sees every socket of every process of this
 * network namespace, so one look answers for many connections (chapter 7's
 * demo holds ten thousand), and a socket seen once keeps its holder after
 * it closes. Forgotten all at once when three quarters full. */
#define SEEN_MAX 32768   /* a power of two */
static struct {
    unsigned long inode;        /* 0: a free slot */
    pid_t pid;
    char comm[16];
    unsigned look;              /* the look that saw it */
} seen[SEEN_MAX];
static unsigned seen_count, looks;
static unsigned long sockets_looked_at;   /* in all looks so far */

static unsigned seen_slot(unsigned long inode)
{
    unsigned i = (unsigned)(inode * 2654435761u) & (SEEN_MAX - 1);
    while (seen[i].inode != 0 && seen[i].inode != inode)
        i = (i + 1) & (SEEN_MAX - 1);
    return i;
}

/* INODE is held by PID: kept, unless a newer process held it in this look. */
static void note_seen(unsigned long inode, long pid, const char *comm)
{
    if (seen_count >= SEEN_MAX / 4 * 3) {
        memset(seen, 0, sizeof seen);
        seen_count = 0;
    }
    unsigned i = seen_slot(inode);
    if (seen[i].inode == inode && seen[i].look == looks)
        return;
    seen_count += seen[i].inode == 0;
    seen[i].inode = inode;
    seen[i].pid = (pid_t)pid;
    memcpy(seen[i].comm, comm, sizeof seen[i].comm);
    seen[i].look = looks;
}

/* Every socket process PID holds, if PID is of the network namespace whose
 * link is OURS. */
static void look_at(long pid, const char *ours)
{
    char path[64], link[64], comm[16];
    snprintf(path, sizeof path, "/proc/%ld/ns/net", pid);
    ssize_t n = readlink(path, link, sizeof link - 1);
    if (n <= 0)
        return;
    link[n] = '\0';
    if (strcmp(link, ours) != 0 || read_comm(pid, comm) == -1)
        return;
    snprintf(path, sizeof path, "/proc/%ld/fd", pid);
    DIR *fds = opendir(path);
    const struct dirent *entry;
    while (fds != NULL && (entry = readdir(fds)) != NULL) {
        unsigned long inode;
        snprintf(path, sizeof path, "/proc/%ld/fd/%.16s", pid, entry->d_name);
        n = readlink(path, link, sizeof link - 1);
        if (n <= 0)
            continue;
        link[n] = '\0';
        if (sscanf(link, "socket:[%lu]", &inode) == 1 && inode != 0) {
            note_seen(inode, pid, comm);
            sockets_looked_at++;
        }
    }
    if (fds != NULL)
        closedir(fds);
}

static int newest_first(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x < y) - (x > y);
}

/* One look through /proc, the newest processes first (a client that
 * connected just now is the newest, and may be gone in a millisecond). */
static void look_through_proc(void)
{
    static long pids[8192];
    char ours[64];
    ssize_t n = readlink("/proc/self/ns/net", ours, sizeof ours - 1);
    DIR *processes = n > 0 ? opendir("/proc") : NULL;
    if (processes == NULL)
        return;
    ours[n] = '\0';
    size_t total = 0;
    const struct dirent *entry;
    while (total < sizeof pids / sizeof pids[0] && (entry = readdir(processes)) != NULL) {
        if (entry->d_name[0] >= '1' && entry->d_name[0] <= '9')
            pids[total++] = atol(entry->d_name);
    }
    closedir(processes);
    qsort(pids, total, sizeof pids[0], newest_first);
    looks++;
    for (size_t i = 0; i < total; i++)
        look_at(pids[i], ours);
}

/* Fills the holder of each row whose socket has been seen: how many have one. */
static size_t from_seen(struct socket_row *rows, size_t count)
{
    size_t found = 0;
    for (size_t i = 0; i < count; i++) {
        unsigned slot = seen_slot(rows[i].inode);
        if (rows[i].pid == 0 && seen[slot].inode == rows[i].inode && rows[i].inode != 0) {
            rows[i].pid = seen[slot].pid;
            memcpy(rows[i].comm, seen[slot].comm, sizeof rows[i].comm);
        }
        found += rows[i].pid != 0;
    }
    return found;
}

void holders_find(struct socket_row *rows, size_t count)
{
    /* A look costs a millisecond, or tens with ten thousand sockets: past a
     * thousand, at most a quarter of the time goes to looking (a loaded
     * machine makes any look slow; only the count says it will stay so). */
    static double cost, last_end;
    static unsigned long last_seen;
    if (count == 0 || from_seen(rows, count) == count ||
        (last_seen > 1000 && sl_now() - last_end < 3 * cost))
        return;
    double start = sl_now();
    unsigned long before = sockets_looked_at;
    look_through_proc();
    last_end = sl_now();
    cost = last_end - start;
    last_seen = sockets_looked_at - before;
    from_seen(rows, count);
}

#else   /* not Linux: nothing to ask */

int holders_listens_for(const struct socket_row *listener, const struct socket_row *wanted)
{
    (void)listener, (void)wanted;
    return 0;
}

int holders_lookup(const struct socket_row *wanted, struct socket_row *found)
{
    (void)wanted, (void)found;
    return -1;
}

size_t holders_listeners(struct socket_row *rows, size_t max)
{
    (void)rows, (void)max;
    return 0;
}

void holders_find(struct socket_row *rows, size_t count)
{
    (void)rows, (void)count;
}

#endif
