/* server.c: chapter 6, one thread serving every client at once with select().
 *
 * Every socket is non-blocking, so no call can make the server wait on one
 * client while others are ready, and one select() call says which sockets
 * can move data right now. The loop below is the whole server: build the
 * sets of what to watch, wait, then serve what is ready (Beej's shape:
 * get_listener, handle_new_connection, handle_client_data). What is kept per
 * client, and the handlers, are in clients.c and handlers.c, which chapter 7
 * shares: only the waiting changes there.
 *
 * Usage: 06-select server [--bind ADDR] [--port N] [--once] [--chat]
 *                         [--max-pending BYTES] [--idle SEC] [--backlog N]
 * See also: clients.h, handlers.c, select(2), fcntl(2), accept(2),
 *           chapters/01-blocking/sockets.c (open_listener).
 */
#include "nonblocking.h"

#include "../01-blocking/sockets.h"
#include "narrate.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static int build_interest_sets(int listener, fd_set *readable, fd_set *writable, int *counts);
static struct timeval *wait_limit(int paused, struct timeval *timeout);
static int dispatch(int listener, const struct server_settings *s, fd_set *r, fd_set *w, int *p);
static void refuse_connection(int fd, const char *address, int fd_limit);
static void narrate_select(int max_fd, const int *counts, double timeout, int ready);
static int accept_failed(int listener, int *pause);

/* The event loop: wait for whatever is ready, serve it, never wait on any
 * one client. Returns when --once's client is gone. */
void serve_with_select(int listener, const struct server_settings *settings)
{
    int paused_at = -1;     /* out of descriptors: clients we had; the listener rests */
    if (listener >= FD_SETSIZE)
        sl_fail("listener fd %d is over FD_SETSIZE (%d)", listener, FD_SETSIZE);
    while (listener != -1 || clients_count() > 0) {
        fd_set readable, writable;
        int counts[2];
        int watched = paused_at == -1 ? listener : -1;
        int max_fd = build_interest_sets(watched, &readable, &writable, counts);
        struct timeval timeout;
        struct timeval *wait = wait_limit(paused_at != -1, &timeout);
        /* Linux writes the time left into timeout: note what was asked first. */
        double asked = wait ? (double)timeout.tv_sec + (double)timeout.tv_usec / 1e6 : 0;

        int ready = select(max_fd + 1, &readable, &writable, NULL, wait);
        if (ready == -1 && errno == EINTR)
            continue;
        if (ready == -1)
            sl_fail_errno("select");
        narrate_select(max_fd, counts, wait ? asked : -1, ready);

        int pause = 0;
        listener = dispatch(listener, settings, &readable, &writable, &pause);
        if (pause)
            paused_at = clients_count();
        else if (paused_at != -1 && (ready == 0 || clients_count() < paused_at))
            paused_at = -1;     /* a descriptor may be free again: try */
        clients_end_turn();
    }
}

/* select() changes the sets it is given, to say which descriptors are ready:
 * they are built again before every call. A client is in the read set only
 * while its buffer has room (backpressure), and in the write set only while
 * it has something pending (an idle socket is almost always writable, and
 * select would return at once, forever). Returns the highest fd set. */
static int build_interest_sets(int listener, fd_set *readable, fd_set *writable, int *counts)
{
    FD_ZERO(readable);
    FD_ZERO(writable);
    int max_fd = listener;
    counts[0] = counts[1] = 0;
    if (listener != -1) {
        FD_SET(listener, readable);
        counts[0]++;
    }
    for (int i = 0; i < clients_count(); i++) {
        const struct client *c = client_by_rank(i);
        int wants = client_wants(c);
        if (wants & WANT_READ) {
            FD_SET(c->fd, readable);
            counts[0]++;
        }
        if (wants & WANT_WRITE) {
            FD_SET(c->fd, writable);
            counts[1]++;
        }
        if (c->fd > max_fd)
            max_fd = c->fd;
    }
    return max_fd;
}

/* What select() was asked (TIMEOUT -1: none), and how many were ready. */
static void narrate_select(int max_fd, const int *counts, double timeout, int ready)
{
    if (timeout >= 0)
        sl_narrate("select(up to fd %d: %d to read, %d to write, timeout %.2f s) -> %d",
                   max_fd, counts[0], counts[1], timeout, ready);
    else
        sl_narrate("select(up to fd %d: %d to read, %d to write) -> %d", max_fd, counts[0],
                   counts[1], ready);
}

/* How long select() may wait: until the next client falls silent for too
 * long (--idle), a second while the listener rests (descriptors can come
 * free outside this loop too), or forever (NULL). */
static struct timeval *wait_limit(int paused, struct timeval *timeout)
{
    double seconds = wait_seconds(paused);
    if (seconds < 0)
        return NULL;
    timeout->tv_sec = (time_t)seconds;
    timeout->tv_usec = (suseconds_t)((seconds - (double)timeout->tv_sec) * 1e6);
    return timeout;
}

double wait_seconds(int paused)
{
    double seconds = clients_next_deadline();
    if (paused && (seconds < 0 || seconds > 1))
        seconds = 1;
    return seconds;
}

/* Serves what select() said is ready: new connections first, then each
 * client, writing before reading (sending frees room, and room lets it
 * read). Returns the listener, or -1 once --once has closed it. */
static int dispatch(int listener, const struct server_settings *settings, fd_set *readable,
                    fd_set *writable, int *pause)
{
    if (listener != -1 && FD_ISSET(listener, readable))    /* (not set while it rests) */
        listener = accept_waiting(listener, settings, FD_SETSIZE, pause);
    for (int i = clients_count() - 1; i >= 0; i--) {
        struct client *c = client_by_rank(i);
        int fd = c->fd;
        if (FD_ISSET(fd, writable) && flush_pending(c) == -1)
            continue;
        if (FD_ISSET(fd, readable) && client_at(fd) == c)
            handle_client_data(c);
    }
    return listener;
}

/* A readable listener may hold many finished handshakes: take a batch, but
 * not so many that connected clients wait too long. */
int accept_waiting(int listener, const struct server_settings *settings, int fd_limit, int *pause)
{
    for (int i = 0; i < (settings->once ? 1 : 64) && !*pause; i++) {
        if (handle_new_connection(listener, fd_limit, pause) == -1)
            break;
    }
    if (settings->once && clients_count() > 0) {
        close(listener);
        sl_narrate("close(fd %d): --once, no more connections", listener);
        return -1;
    }
    return listener;
}

/* Non-blocking: a call that would have to wait returns -1 with errno EAGAIN
 * (or EWOULDBLOCK; EINPROGRESS for connect) instead of waiting. */
int set_nonblocking(int fd)
{
    int flags = fcntl(fd, F_GETFL);
    if (flags == -1)
        return -1;
    return fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

/* socket, SO_REUSEADDR, bind, listen (chapter 1's open_listener), then this
 * chapter's step: a non-blocking listener, so that accept() returns EAGAIN
 * when a client that made select() say "readable" is gone already. */
int get_listener(const char *address, int port, int backlog)
{
    char why[256];
    int listener = open_listener(address, port, backlog, 1, why, sizeof why);
    if (listener == -1)
        sl_fail("%s", why);
    if (set_nonblocking(listener) == -1)
        sl_fail_errno("fcntl O_NONBLOCK");
    sl_narrate("fcntl(fd %d, F_SETFL, O_NONBLOCK) -> 0", listener);
    return listener;
}

int handle_new_connection(int listener, int fd_limit, int *pause)
{
    struct sockaddr_storage peer;
    socklen_t peer_length = sizeof peer;
    int fd = accept(listener, (struct sockaddr *)&peer, &peer_length);
    if (fd == -1)
        return accept_failed(listener, pause);
    char address[SL_ADDR_STRLEN];
    sl_format_address((struct sockaddr *)&peer, peer_length, address);
    /* On Linux an accepted socket does not inherit O_NONBLOCK from the
     * listener (on the BSDs and macOS it does): set it on each one. */
    if (set_nonblocking(fd) == -1) {
        sl_narrate("fcntl(fd %d, O_NONBLOCK) -> -1 %s", fd, sl_errno(errno));
        close(fd);
        return 0;
    }
    if (fd >= fd_limit) {
        refuse_connection(fd, address, fd_limit);
        return 0;
    }
    /* --chat copies every line to every listener: left alone, Linux lets a
     * listener that never reads hold megabytes of them in the kernel (its
     * send buffer grows up to net.ipv4.tcp_wmem's maximum). A fixed size
     * keeps what each one costs near --max-pending. */
    int size = CHAT_SNDBUF;
    if (clients_settings()->chat &&
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size) == -1)
        sl_narrate("setsockopt(fd %d, SO_SNDBUF) -> -1 %s", fd, sl_errno(errno));
    if (client_add(fd, address) == NULL) {
        sl_narrate("accept(fd %d) -> fd %d from %s: no memory for it: closed", listener, fd,
                   address);
        close(fd);
        return 0;
    }
    sl_narrate("accept(fd %d) -> fd %d from %s (%s)", listener, fd, address,
               sl_plural(clients_count(), "client"));
    return 0;
}

/* accept() found no connection, or failed: -1 either way, and *PAUSE set
 * when there is no descriptor left to accept with. */
static int accept_failed(int listener, int *pause)
{
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
        return -1;      /* no one else is waiting */
    sl_narrate("accept(fd %d) -> -1 %s", listener, sl_errno(errno));
    if (errno == EMFILE || errno == ENFILE) {
        /* The listener would stay readable and the loop would return at
         * once, forever: stop watching it until a client leaves. */
        sl_narrate("out of descriptors: not accepting until a client leaves");
        *pause = 1;
    }
    return -1;          /* ECONNABORTED and the like: that client's problem */
}

/* A descriptor the loop can't watch: say so to the client, and close it. */
static void refuse_connection(int fd, const char *address, int fd_limit)
{
    static const char notice[] = "server full: try again later\n";
    if (fd_limit == FD_SETSIZE)
        sl_narrate("accept() -> fd %d from %s: at or over FD_SETSIZE (%d), select() can't "
                   "watch it: refused", fd, address, FD_SETSIZE);
    else
        sl_narrate("accept() -> fd %d from %s: at or over %d, the size of the table: refused",
                   fd, address, fd_limit);
    /* Non-blocking (set by the caller), so a full buffer can't stall us here. */
    if (send(fd, notice, sizeof notice - 1, 0) == -1)
        sl_narrate("send(fd %d) -> -1 %s", fd, sl_errno(errno));
    /* Closing a socket with unread bytes makes the kernel answer with a reset,
     * which can destroy the notice before the client reads it: read (and drop)
     * what the client already sent. Bounded, as a client could keep sending. */
    char discard[4096];
    for (int i = 0; i < 16 && recv(fd, discard, sizeof discard, 0) > 0; i++)
        continue;
    close(fd);
    sl_narrate("close(fd %d): refused", fd);
}

int run_server(const struct server_settings *settings)
{
    /* select() can't watch a descriptor at or over FD_SETSIZE: the table
     * needs no more entries than that. */
    if (clients_init(settings, FD_SETSIZE, NULL) == -1)
        sl_fail_errno("calloc");
    int listener = get_listener(settings->bind_address, settings->port, settings->backlog);
    if (announce_listening(listener) == -1)
        sl_fail_errno("getsockname");
    serve_with_select(listener, settings);
    return SL_EXIT_OK;
}
