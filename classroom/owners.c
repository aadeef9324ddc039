/* owners.c: from a connection's addresses to the name of the process that
 * holds its socket: from the processes' own reports, else from the kernel.
 *
 * A report is one fixed-size write on a pipe, far below PIPE_BUF, so the
 * reports of many processes never mix. What the tap learns, reported or
 * looked up, it keeps: a connection's name outlives its socket, so the
 * last segments of a connection closed already are still named.
 *
 * See also: owners.h for the contract.
 */
#ifdef __linux__
#define _GNU_SOURCE   /* prctl(), IN6_IS_ADDR_V4MAPPED */
#endif

#include "owners.h"

#include "holders.h"
#include "proc.h"

#include <stdio.h>
#include <string.h>

#ifdef __linux__

#include <dirent.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

static size_t address_size(int family)
{
    return family == 6 ? 16 : 4;
}

/* ---- reports, in the processes the tap watches -------------------------- */

/* An address from the kernel as the tap sees it on the wire: IPv4, or IPv6
 * (an IPv4 peer of an IPv6 socket, ::ffff:a.b.c.d, travels as IPv4). */
static int wire_address(const struct sockaddr_storage *a, int *family, unsigned char *bytes,
                        unsigned *port)
{
    if (a->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)a;
        *family = 4;
        memcpy(bytes, &in->sin_addr, 4);
        *port = ntohs(in->sin_port);
        return 0;
    }
    if (a->ss_family != AF_INET6)
        return -1;
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)a;
    int mapped = IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr);
    *family = mapped ? 4 : 6;
    memcpy(bytes, in6->sin6_addr.s6_addr + (mapped ? 12 : 0), mapped ? 4 : 16);
    *port = ntohs(in6->sin6_port);
    return 0;
}

/* FD's addresses, if it is a TCP socket with a local port. */
static int describe(int fd, struct socket_row *r)
{
    int type;
    socklen_t length = sizeof type;
    struct sockaddr_storage local, remote;
    socklen_t local_length = sizeof local, remote_length = sizeof remote;
    int family;
    memset(r, 0, sizeof *r);
    memset(&local, 0, sizeof local);
    memset(&remote, 0, sizeof remote);
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &length) == -1 || type != SOCK_STREAM ||
        getsockname(fd, (struct sockaddr *)&local, &local_length) == -1 ||
        wire_address(&local, &r->family, r->local, &r->local_port) == -1 || r->local_port == 0)
        return -1;
    if (getpeername(fd, (struct sockaddr *)&remote, &remote_length) == 0 &&
        wire_address(&remote, &family, r->remote, &r->remote_port) == -1)
        r->remote_port = 0;
    return 0;
}

/* The sockets this process has reported, by inode, with the remote port it
 * had then: a connected socket's ends never change, so it is not looked at
 * again; a bound or listening one is (it may connect yet). */
#define SENT_MAX 16384   /* a power of two */
static struct { unsigned long inode; unsigned remote_port; } sent[SENT_MAX];
static unsigned sent_count;

static unsigned sent_slot(unsigned long inode)
{
    unsigned i = (unsigned)(inode * 2654435761u) & (SENT_MAX - 1);
    while (sent[i].inode != 0 && sent[i].inode != inode)
        i = (i + 1) & (SENT_MAX - 1);
    return i;
}

/* Reports FD's socket (INODE) to REPORT_FD unless reported as it is. */
static void report_one(int report_fd, int fd, unsigned long inode)
{
    unsigned slot = sent_slot(inode);
    struct socket_row r;
    if ((sent[slot].inode == inode && sent[slot].remote_port != 0) || describe(fd, &r) == -1 ||
        (sent[slot].inode == inode && sent[slot].remote_port == r.remote_port))
        return;
    r.inode = inode;
    r.pid = getpid();
    prctl(PR_GET_NAME, r.comm, 0, 0, 0);
    if (write(report_fd, &r, sizeof r) != (ssize_t)sizeof r)
        return;
    if (sent_count >= SENT_MAX / 4 * 3) {
        memset(sent, 0, sizeof sent);
        sent_count = 0;
        slot = sent_slot(inode);
    }
    sent_count += sent[slot].inode == 0;
    sent[slot].inode = inode;
    sent[slot].remote_port = r.remote_port;
}

void owners_report(int report_fd)
{
    /* With hundreds of descriptors (chapter 7's demo holds ten thousand) a
     * look costs more than the line it rides on: then at most a tenth of
     * the process's time goes to looking, and /proc names what it misses. */
    static double cost, last_end;
    static size_t last_count;
    if (last_count > 256 && sl_now() - last_end < 9 * cost)
        return;
    double start = sl_now();
    DIR *fds = opendir("/proc/self/fd");
    const struct dirent *entry;
    size_t count = 0;
    while (fds != NULL && (entry = readdir(fds)) != NULL) {
        char path[64], link[64];
        unsigned long inode;
        snprintf(path, sizeof path, "/proc/self/fd/%.16s", entry->d_name);
        ssize_t n = readlink(path, link, sizeof link - 1);
        count++;
        if (n <= 0)
            continue;
        link[n] = '\0';
        if (sscanf(link, "socket:[%lu]", &inode) == 1 && inode != 0)
            report_one(report_fd, atoi(entry->d_name), inode);
    }
    if (fds != NULL)
        closedir(fds);
    last_count = count;
    last_end = sl_now();
    cost = last_end - start;
}

/* ---- what the tap knows --------------------------------------------------- */

/* Connections by their ends, in a hash table (a demo of chapter 7 opens ten
 * thousand of them); listeners, a few, in a list. Forgotten all at once when
 * the table is three quarters full: a new start costs a few names. */
#define KNOWN_MAX 16384   /* a power of two */
static struct socket_row known[KNOWN_MAX];   /* inode 0: a free slot */
static unsigned known_count;
#define LISTENERS_MAX 64
static struct socket_row listeners[LISTENERS_MAX];
static unsigned listener_count;

static int same_ends(const struct socket_row *a, const struct socket_row *b)
{
    size_t size = address_size(a->family);
    return a->family == b->family && a->local_port == b->local_port &&
           a->remote_port == b->remote_port && memcmp(a->local, b->local, size) == 0 &&
           memcmp(a->remote, b->remote, size) == 0;
}

/* The slot holding R's ends, or the free one where they would go. */
static struct socket_row *slot_of(const struct socket_row *r)
{
    unsigned hash = 2166136261u;   /* FNV-1a over the ends */
    unsigned char key[40];
    size_t size = address_size(r->family);
    memcpy(key, r->local, size);
    memcpy(key + size, r->remote, size);
    key[2 * size] = (unsigned char)(r->local_port >> 8);
    key[2 * size + 1] = (unsigned char)r->local_port;
    key[2 * size + 2] = (unsigned char)(r->remote_port >> 8);
    key[2 * size + 3] = (unsigned char)r->remote_port;
    for (size_t i = 0; i < 2 * size + 4; i++)
        hash = (hash ^ key[i]) * 16777619u;
    for (unsigned i = 0; i < KNOWN_MAX; i++) {
        struct socket_row *slot = &known[(hash + i) & (KNOWN_MAX - 1)];
        if (slot->inode == 0 || same_ends(slot, r))
            return slot;
    }
    return NULL;
}

/* The first to report a connection holds it (a forked child that inherits
 * it reports it later); a new inode on the same ends is a new connection. */
static void remember(const struct socket_row *r)
{
    if (r->remote_port == 0) {
        for (unsigned i = 0; i < listener_count && i < LISTENERS_MAX; i++) {
            if (same_ends(&listeners[i], r)) {
                if (listeners[i].inode != r->inode)
                    listeners[i] = *r;
                return;
            }
        }
        listeners[listener_count++ % LISTENERS_MAX] = *r;
        return;
    }
    if (known_count >= KNOWN_MAX / 4 * 3) {
        memset(known, 0, sizeof known);
        known_count = 0;
    }
    struct socket_row *slot = slot_of(r);
    if (slot->inode == 0)
        known_count++;
    if (slot->inode != r->inode)
        *slot = *r;
}

void owners_collect(int fd)
{
    struct socket_row batch[16];
    ssize_t n;
    while (fd >= 0 && (n = read(fd, batch, sizeof batch)) > 0) {
        for (size_t i = 0; i < (size_t)n / sizeof batch[0]; i++)
            remember(&batch[i]);
    }
}

/* What the tap knows of the connection WANTED, else of the listener on its
 * local port (its address WANTED's, or any); NULL when nothing. */
static const struct socket_row *reported(const struct socket_row *wanted)
{
    const struct socket_row *slot = wanted->remote_port != 0 ? slot_of(wanted) : NULL;
    if (slot != NULL && slot->inode != 0)
        return slot;
    for (unsigned i = 0; i < listener_count && i < LISTENERS_MAX; i++) {
        if (holders_listens_for(&listeners[i], wanted))
            return &listeners[i];
    }
    return NULL;
}

/* ---- the kernel and /proc, for processes that don't report ----------------- */

/* Notes who holds the COUNT ROWS that the tap does not know yet. */
static void note_holders(struct socket_row *rows, size_t count)
{
    size_t fresh = 0;
    for (size_t i = 0; i < count; i++) {
        const struct socket_row *k = reported(&rows[i]);
        if (k == NULL || k->inode != rows[i].inode || !same_ends(k, &rows[i]))
            rows[fresh++] = rows[i];
    }
    holders_find(rows, fresh);
    for (size_t i = 0; i < fresh; i++) {
        if (rows[i].pid != 0)
            remember(&rows[i]);
    }
}

void owners_watch(int report_fd)
{
    /* Reports first: a demo's server reports its listener before it forks
     * the clients, which hold it too, under its name, until they close it;
     * /proc, newest first, would name one of them. */
    static struct socket_row rows[64];
    owners_collect(report_fd);
    note_holders(rows, holders_listeners(rows, 64));
}

/* ---- names ---------------------------------------------------------------- */

/* Names already given, so one process keeps its name and two processes of
 * the same name get two: "client", "client B". */
#define NAMES_MAX 64
static struct {
    pid_t pid;
    char comm[16];
    char name[32];
} given[NAMES_MAX];
static unsigned given_count;

static const char *unique_name(pid_t pid, const char *comm)
{
    int namesakes = 0;
    for (unsigned i = 0; i < given_count && i < NAMES_MAX; i++) {
        if (given[i].pid == pid && strcmp(given[i].comm, comm) == 0)
            return given[i].name;
        namesakes += strcmp(given[i].comm, comm) == 0;
    }
    unsigned slot = given_count++ % NAMES_MAX;
    given[slot].pid = pid;
    snprintf(given[slot].comm, sizeof given[slot].comm, "%s", comm);
    if (namesakes == 0)
        snprintf(given[slot].name, sizeof given[slot].name, "%s", comm);
    else
        snprintf(given[slot].name, sizeof given[slot].name, "%s %c", comm, 'A' + namesakes % 26);
    return given[slot].name;
}

int owner_name(int report_fd, int family, const unsigned char *local, unsigned local_port,
               const unsigned char *remote, unsigned remote_port, char *name, size_t size)
{
    struct socket_row wanted;
    memset(&wanted, 0, sizeof wanted);
    wanted.family = family;
    memcpy(wanted.local, local, address_size(family));
    memcpy(wanted.remote, remote, address_size(family));
    wanted.local_port = local_port;
    wanted.remote_port = remote_port;
    owners_collect(report_fd);
    const struct socket_row *r = reported(&wanted);
    struct socket_row row;
    if (r == NULL && holders_lookup(&wanted, &row) == 0) {
        note_holders(&row, 1);
        r = reported(&wanted);
    }
    if (r == NULL) {
        /* Not in the kernel's tables either: maybe gone since it reported. */
        owners_collect(report_fd);
        r = reported(&wanted);
    }
    if (r == NULL)
        return -1;
    snprintf(name, size, "%s", unique_name(r->pid, r->comm));
    return 0;
}

#else   /* not Linux: no one to ask */

void owners_report(int fd)
{
    (void)fd;
}

void owners_collect(int fd)
{
    (void)fd;
}

void owners_watch(int report_fd)
{
    (void)report_fd;
}

int owner_name(int report_fd, int family, const unsigned char *local, unsigned local_port,
               const unsigned char *remote, unsigned remote_port, char *name, size_t size)
{
    (void)report_fd, (void)family, (void)local, (void)local_port, (void)remote;
    (void)remote_port, (void)name, (void)size;
    return -1;
}

#endif
