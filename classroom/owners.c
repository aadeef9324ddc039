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

void owners_report(int fd)
{
    static struct { unsigned long inode; unsigned remote_port; } sent[256];
    static unsigned sent_count;
    DIR *fds = opendir("/proc/self/fd");
    const struct dirent *entry;
    while (fds != NULL && (entry = readdir(fds)) != NULL) {
        char path[64], link[64];
        unsigned long inode;
        struct socket_row r;
        snprintf(path, sizeof path, "/proc/self/fd/%.16s", entry->d_name);
        ssize_t n = readlink(path, link, sizeof link - 1);
        if (n <= 0)
            continue;
        link[n] = '\0';
        if (sscanf(link, "socket:[%lu]", &inode) != 1 || describe(atoi(entry->d_name), &r) == -1)
            continue;
        int known = 0;
        for (unsigned i = 0; i < sent_count && i < 256; i++)
            known |= sent[i].inode == inode && sent[i].remote_port == r.remote_port;
        if (known)
            continue;
        r.inode = inode;
        r.pid = getpid();
        prctl(PR_GET_NAME, r.comm, 0, 0, 0);
        if (write(fd, &r, sizeof r) == (ssize_t)sizeof r) {
            sent[sent_count % 256].inode = inode;
            sent[sent_count++ % 256].remote_port = r.remote_port;
        }
    }
    if (fds != NULL)
        closedir(fds);
}

/* ---- reports, in the tap ------------------------------------------------- */

#define REPORTS_MAX 512
static struct socket_row reports[REPORTS_MAX];
static unsigned report_count;

static int same_ends(const struct socket_row *a, const struct socket_row *b)
{
    size_t size = address_size(a->family);
    return a->family == b->family && a->local_port == b->local_port &&
           a->remote_port == b->remote_port && memcmp(a->local, b->local, size) == 0 &&
           memcmp(a->remote, b->remote, size) == 0;
}

/* The first to report a connection holds it (a forked child that inherits
 * it reports it later); a new inode on the same ends is a new connection. */
static void remember(const struct socket_row *r)
{
    for (unsigned i = 0; i < report_count && i < REPORTS_MAX; i++) {
        if (same_ends(&reports[i], r)) {
            if (reports[i].inode != r->inode)
                reports[i] = *r;
            return;
        }
    }
    reports[report_count++ % REPORTS_MAX] = *r;
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

/* The report of the connection WANTED, else of the listener on its local
 * port (its address WANTED's, or any); NULL when none. */
static const struct socket_row *reported(const struct socket_row *wanted)
{
    const struct socket_row *listener = NULL;
    for (unsigned i = 0; i < report_count && i < REPORTS_MAX; i++) {
        if (same_ends(&reports[i], wanted))
            return &reports[i];
        if (holders_listens_for(&reports[i], wanted))
            listener = &reports[i];
    }
    return listener;
}

/* ---- the kernel and /proc, for processes that don't report ----------------- */

static int known_inode(unsigned long inode)
{
    for (unsigned i = 0; i < report_count && i < REPORTS_MAX; i++) {
        if (reports[i].inode == inode)
            return 1;
    }
    return 0;
}

/* Notes who holds the COUNT ROWS that nobody reported. */
static void note_holders(struct socket_row *rows, size_t count)
{
    size_t fresh = 0;
    for (size_t i = 0; i < count; i++) {
        if (!known_inode(rows[i].inode))
            rows[fresh++] = rows[i];
    }
    holders_find(rows, fresh);
    for (size_t i = 0; i < fresh; i++) {
        if (rows[i].pid != 0)
            remember(&rows[i]);
    }
}

void owners_watch(void)
{
    static struct socket_row rows[64];
    note_holders(rows, holders_listeners(rows, 64));
}

/* ---- names ---------------------------------------------------------------- */

/* Names already given, so one process keeps its name and two processes of
 * the same name get two: "client", "client B". A stand-in's key is its
 * port, as a negative pid. */
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

void owner_stand_in(const char *base, unsigned port, char *name, size_t size)
{
    snprintf(name, size, "%s", unique_name(-1 - (pid_t)port, base));
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

void owners_watch(void)
{
}

int owner_name(int report_fd, int family, const unsigned char *local, unsigned local_port,
               const unsigned char *remote, unsigned remote_port, char *name, size_t size)
{
    (void)report_fd, (void)family, (void)local, (void)local_port, (void)remote;
    (void)remote_port, (void)name, (void)size;
    return -1;
}

void owner_stand_in(const char *base, unsigned port, char *name, size_t size)
{
    snprintf(name, size, "%s (port %u)", base, port);
}

#endif
