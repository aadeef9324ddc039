/* select.c: chapter 6, non-blocking sockets and select().
 *
 * One process, one thread, many clients. The server marks every socket
 * non-blocking, so no call can make it wait on one client while others are
 * ready, and asks select() which sockets can move data right now. Each
 * client has a bounded output buffer: when a client stops reading and its
 * buffer is full, the server stops reading from it (backpressure) rather
 * than grow without limit. The client connects without blocking and then
 * reads while it writes, which is what saves it from the deadlock a client
 * falls into when it sends a lot before reading anything (--blocking).
 *
 * Usage: 06-select server [--bind ADDR] [--port N] [--once] [--chat]
 *                         [--max-pending BYTES] [--idle SEC] [--backlog N]
 *        06-select client [--host H] [--port N] [--message TEXT]...
 *                         [--bytes N [--blocking] [--stall SEC]]
 *        06-select demo
 * See also: chapters/06-select/README.md (the lesson), select(2), fcntl(2),
 *           connect(2) (EINPROGRESS), socket(7) (SO_ERROR, SO_SNDBUF),
 *           chapters/01-blocking/blocking.c (the server this one replaces).
 */
#include "cli.h"
#include "narrate.h"
#include "proc.h"
#include "../01-blocking/sockets.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define DEFAULT_PORT 9006

/* Exit statuses of this chapter, beyond 0, 1 and 2. */
/* Temporary, until this chapter's layout is redone: open_listener or exit 1. */
static int listen_or_exit(const char *address, int port, int backlog)
{
    char why[256];
    int fd = open_listener(address, port, backlog, 1, why, sizeof why);
    if (fd == -1)
        sl_fail("%s", why);
    return fd;
}

enum { EXIT_STALLED = 3, EXIT_MISMATCH = 4 };

static struct {
    const char *bind_address;
    const char *host;
    int port;
    int backlog;
    int once;
    int chat;
    long long max_pending;
    double idle;
    long long bytes;
    int blocking;
    double stall;
    double connect_timeout;
    struct sl_list messages;
} opt = { "127.0.0.1", "localhost", DEFAULT_PORT, 128, 0, 0, 64 * 1024, 0, -1, 0, 2, 5,
          { { NULL }, 0 } };

static const struct sl_option options[] = {
    { "--bind", SL_TEXT, &opt.bind_address, 0, 0, "server", "ADDR",
      "address to listen on: 127.0.0.1 (default), ::1, 0.0.0.0 or ::" },
    { "--port", SL_INT, &opt.port, 0, 65535, NULL, "N",
      "TCP port (default 9006; server: 0 picks a free one)" },
    { "--once", SL_FLAG, &opt.once, 0, 0, "server", NULL,
      "take one connection, then stop listening and exit once it is gone" },
    { "--chat", SL_FLAG, &opt.chat, 0, 0, "server", NULL,
      "send each line from one client to all the others, instead of echoing" },
    { "--max-pending", SL_SIZE, &opt.max_pending, 2048, 64.0 * 1024 * 1024, "server", "BYTES",
      "output buffered per client before the server stops reading it (default 64K)" },
    { "--idle", SL_SECONDS, &opt.idle, 0, 86400, "server", "SEC",
      "drop a client silent for SEC seconds (default 0: never)" },
    { "--backlog", SL_INT, &opt.backlog, 1, 4096, "server", "N",
      "connections the kernel may queue before accept (default 128)" },
    { "--host", SL_TEXT, &opt.host, 0, 0, "client", "H", "server name or address (default localhost)" },
    { "--message", SL_LIST, &opt.messages, 0, 0, "client", "TEXT",
      "send TEXT as a line instead of reading stdin (repeatable)" },
    { "--bytes", SL_SIZE, &opt.bytes, 0, 64.0 * 1024 * 1024 * 1024, "client", "N",
      "stream N bytes of a known pattern and check every byte of the echo" },
    { "--blocking", SL_FLAG, &opt.blocking, 0, 0, "client", NULL,
      "with --bytes: send everything, then read (the naive way, which deadlocks)" },
    { "--stall", SL_SECONDS, &opt.stall, 0.01, 3600, "client", "SEC",
      "with --bytes: give up after SEC seconds without progress (default 2; exit 3)" },
    { "--connect-timeout", SL_SECONDS, &opt.connect_timeout, 0.01, 3600, "client", "SEC",
      "how long to wait for each address's handshake (default 5)" },
    { NULL, SL_FLAG, NULL, 0, 0, NULL, NULL, NULL }
};

static const struct sl_role roles[] = {
    { "server", NULL, 0, "A select() echo (or --chat) server: one thread, every client at once." },
    { "client", NULL, 0,
      "Connects without blocking, then sends stdin (or --message, or --bytes N) while reading." },
    { "demo", NULL, 0, "Two clients served at once by one thread, then the deadlock and its fix." },
    { NULL, NULL, 0, NULL }
};

static const struct sl_program program = {
    "06-select", "non-blocking sockets and select(): one thread serving many clients",
    roles, options,
    "  3  (client --bytes) no progress for --stall seconds: the transfer is stuck\n"
    "  4  (client --bytes) the echo differed from what was sent\n"
    "\nexamples:\n"
    "  06-select server --chat            then: nc localhost 9006, from several terminals\n"
    "  06-select client --bytes 64M --blocking --stall 1     stalls (exit 3)\n"
    "  06-select client --bytes 64M                          completes and verifies\n"
};

/* Non-blocking: a call that would have to wait returns -1 with errno EAGAIN
 * (or EWOULDBLOCK; EINPROGRESS for connect) instead of waiting. */
static int set_nonblocking(int fd)
{
    int flags = fcntl(fd, F_GETFL);
    if (flags == -1)
        return -1;
    return fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

static int would_block(int error)
{
    return error == EAGAIN || error == EWOULDBLOCK;
}

static struct timeval to_timeval(double seconds)
{
    if (seconds < 0)
        seconds = 0;
    struct timeval tv;
    tv.tv_sec = (time_t)seconds;
    tv.tv_usec = (suseconds_t)((seconds - (double)tv.tv_sec) * 1e6);
    return tv;
}

/* ---- the server ---------------------------------------------------------- */

#define CHAT_LINE_MAX 1024

struct client {
    int fd;                         /* -1: this slot is free */
    char address[SL_ADDR_STRLEN];
    char *pending;                  /* bytes owed to this client, opt.max_pending of room */
    size_t pending_start;           /* the first byte not yet sent */
    size_t pending_length;          /* how many bytes from there on */
    char line[CHAT_LINE_MAX];       /* --chat: the start of a line not yet complete */
    size_t line_length;
    int eof;                        /* recv returned 0: the client sends no more */
    int held_back;                  /* its buffer is full: not read until it drains */
    double last_heard;              /* sl_now() when it last sent us a byte, for --idle */
};

/* Indexed by descriptor. select() can't watch a descriptor at or over
 * FD_SETSIZE, so neither can this table: those connections are refused. */
static struct client clients[FD_SETSIZE];
static int client_count;
static int listener_paused;         /* out of descriptors: stop accepting for now */

static void init_client_table(void)
{
    for (int fd = 0; fd < FD_SETSIZE; fd++)
        clients[fd].fd = -1;
}

static void close_client(struct client *c, const char *why)
{
    sl_narrate("close(fd %d): %s (%d clients left)", c->fd, why, client_count - 1);
    close(c->fd);
    free(c->pending);
    c->pending = NULL;
    c->fd = -1;
    client_count--;
    listener_paused = 0;    /* a descriptor is free again */
}

/* Backpressure: a client whose buffer is full is not read from (see
 * build_interest_sets) until it takes some of what it is owed. Says so when
 * that starts and when it ends. */
static void note_backpressure(struct client *c)
{
    int full = c->pending_length >= (size_t)opt.max_pending;
    if (full && !c->held_back)
        sl_narrate("fd %d: %zu bytes pending, the --max-pending bound: not reading from it "
                   "until it reads", c->fd, c->pending_length);
    else if (!full && c->held_back) {
        sl_narrate("fd %d: down to %zu bytes pending: reading from it again", c->fd,
                   c->pending_length);
        c->last_heard = sl_now();   /* --idle: its clock was stopped while held back */
    }
    c->held_back = full;
}

/* Sends what is pending, as much as the socket takes now. A non-blocking send
 * may take only part of it, or nothing (EAGAIN): the rest waits until select
 * says the socket is writable. 0, or -1 once the client is closed. */
static int flush_pending(struct client *c)
{
    while (c->pending_length > 0) {
        ssize_t n = send(c->fd, c->pending + c->pending_start, c->pending_length, 0);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1 && would_block(errno)) {
            sl_narrate("send(fd %d, %zu bytes) -> -1 (EAGAIN): its buffer is full, wait for "
                       "writable", c->fd, c->pending_length);
            note_backpressure(c);
            return 0;
        }
        if (n == -1) {
            char why[128];
            snprintf(why, sizeof why, "send failed (%s)", strerror(errno));
            sl_narrate("send(fd %d) -> -1 (%s)", c->fd, strerror(errno));
            close_client(c, why);
            return -1;
        }
        sl_narrate("send(fd %d, %zu bytes) -> %zd", c->fd, c->pending_length, n);
        c->pending_start += (size_t)n;
        c->pending_length -= (size_t)n;
    }
    c->pending_start = 0;
    note_backpressure(c);
    if (c->eof) {
        close_client(c, "it sent EOF and has all its replies");
        return -1;
    }
    return 0;
}

/* Moves the pending bytes to the front of the buffer: the free room is then
 * all at the end, in one piece. */
static size_t pending_room(struct client *c)
{
    if (c->pending_start > 0) {
        memmove(c->pending, c->pending + c->pending_start, c->pending_length);
        c->pending_start = 0;
    }
    return (size_t)opt.max_pending - c->pending_length;
}

/* --chat: queues one line for every client but its author. A client whose
 * buffer can't take it has stopped reading: it misses the line, rather than
 * the server holding everyone's words for it without limit. */
static void broadcast_line(const struct client *author, const char *line, size_t length)
{
    char message[SL_ADDR_STRLEN + CHAT_LINE_MAX + 4];
    int prefix = snprintf(message, sizeof message, "%s: ", author->address);
    memcpy(message + prefix, line, length);
    size_t total = (size_t)prefix + length;
    if (message[total - 1] != '\n')
        message[total++] = '\n';

    for (int fd = 0; fd < FD_SETSIZE; fd++) {
        struct client *c = &clients[fd];
        if (c->fd == -1 || c == author || c->eof)
            continue;
        if (pending_room(c) < total) {
            sl_narrate("fd %d has %zu bytes pending (--max-pending %lld): it misses this line",
                       c->fd, c->pending_length, opt.max_pending);
            continue;
        }
        memcpy(c->pending + c->pending_length, message, total);
        c->pending_length += total;
        flush_pending(c);
    }
}

/* --chat: sends on every complete line in the client's line buffer (or the
 * whole buffer once it is full with no newline) and keeps the rest. */
static void broadcast_complete_lines(struct client *c)
{
    size_t start = 0;
    for (size_t i = 0; i < c->line_length; i++) {
        if (c->line[i] == '\n') {
            broadcast_line(c, c->line + start, i + 1 - start);
            start = i + 1;
        }
    }
    if (start == 0 && c->line_length == sizeof c->line) {
        broadcast_line(c, c->line, c->line_length);
        start = c->line_length;
    }
    memmove(c->line, c->line + start, c->line_length - start);
    c->line_length -= start;
}

/* recv() into the place the bytes are going: the client's own output buffer
 * (echo) or its line buffer (chat). Never more than there is room for: that
 * is the bound on what a client can make the server hold. */
static void handle_client_data(struct client *c)
{
    char *into;
    size_t room;
    if (opt.chat) {
        into = c->line + c->line_length;
        room = sizeof c->line - c->line_length;
    } else {
        room = pending_room(c);
        into = c->pending + c->pending_length;
    }
    ssize_t n = recv(c->fd, into, room, 0);
    if (n == -1 && (errno == EINTR || would_block(errno)))
        return;     /* select said readable, but readiness can be a false alarm */
    if (n == -1) {
        char why[128];
        snprintf(why, sizeof why, "recv failed (%s)", strerror(errno));
        sl_narrate("recv(fd %d) -> -1 (%s)", c->fd, strerror(errno));
        close_client(c, why);
        return;
    }
    if (n == 0) {
        /* Readable, and zero bytes: the client closed its side. It may still
         * read, so what it is owed goes out before the server closes. */
        sl_narrate("recv(fd %d) -> 0: EOF, the client sends no more", c->fd);
        c->eof = 1;
        if (opt.chat && c->line_length > 0) {
            broadcast_line(c, c->line, c->line_length);
            c->line_length = 0;
        }
        flush_pending(c);
        return;
    }
    sl_narrate("recv(fd %d) -> %zd bytes", c->fd, n);
    c->last_heard = sl_now();
    if (opt.chat) {
        c->line_length += (size_t)n;
        broadcast_complete_lines(c);
    } else {
        c->pending_length += (size_t)n;
        flush_pending(c);   /* most often the echo goes out at once */
    }
}

/* A descriptor select() can't watch: say so to the client, and close it. */
static void refuse_connection(int fd, const char *address)
{
    static const char notice[] = "server full: try again later\n";
    sl_narrate("accept() -> fd %d from %s: at or over FD_SETSIZE (%d), select() can't watch "
               "it: refused", fd, address, FD_SETSIZE);
    /* Non-blocking (set by the caller), so a full buffer can't stall us here. */
    if (send(fd, notice, sizeof notice - 1, 0) == -1)
        sl_narrate("send(fd %d) -> -1 (%s)", fd, strerror(errno));
    /* Closing a socket with unread bytes makes the kernel answer with a reset,
     * which can destroy the notice before the client reads it: read (and drop)
     * what the client already sent. Bounded, as a client could keep sending. */
    char discard[4096];
    for (int i = 0; i < 16 && recv(fd, discard, sizeof discard, 0) > 0; i++)
        continue;
    close(fd);
    sl_narrate("close(fd %d): refused", fd);
}

/* Accepts one waiting connection: 0, or -1 when there is none left (or no
 * descriptor to take it with). */
static int handle_new_connection(int listener)
{
    struct sockaddr_storage peer;
    socklen_t peer_length = sizeof peer;
    int fd = accept(listener, (struct sockaddr *)&peer, &peer_length);
    if (fd == -1) {
        if (would_block(errno) || errno == EINTR)
            return -1;  /* no one else is waiting */
        sl_narrate("accept(fd %d) -> -1 (%s)", listener, strerror(errno));
        if (errno == EMFILE || errno == ENFILE) {
            /* The listener would stay readable and select() would return at
             * once, forever: stop watching it until a client leaves. */
            sl_narrate("out of descriptors: not accepting until a client leaves");
            listener_paused = 1;
        }
        return -1;      /* ECONNABORTED and the like: that client's problem */
    }
    char address[SL_ADDR_STRLEN];
    sl_format_address((struct sockaddr *)&peer, peer_length, address);
    /* On Linux an accepted socket does not inherit O_NONBLOCK from the
     * listener (on the BSDs and macOS it does): set it on each one. */
    if (set_nonblocking(fd) == -1) {
        sl_narrate("fcntl(fd %d, O_NONBLOCK) -> -1 (%s)", fd, strerror(errno));
        close(fd);
        return 0;
    }
    if (fd >= FD_SETSIZE) {
        refuse_connection(fd, address);
        return 0;
    }
    struct client *c = &clients[fd];
    c->pending = malloc((size_t)opt.max_pending);
    if (c->pending == NULL) {
        sl_narrate("malloc(%lld) for fd %d failed: refused", opt.max_pending, fd);
        close(fd);
        return 0;
    }
    c->fd = fd;
    memcpy(c->address, address, sizeof address);
    c->pending_start = c->pending_length = c->line_length = 0;
    c->eof = c->held_back = 0;
    c->last_heard = sl_now();
    client_count++;
    sl_narrate("accept(fd %d) -> fd %d from %s (%d clients)", listener, fd, address,
               client_count);
    return 0;
}

/* A readable listener may hold many finished handshakes: take a batch, but
 * not so many that clients already connected wait too long. */
static void accept_waiting_connections(int listener)
{
    int batch = opt.once ? 1 : 64;
    for (int i = 0; i < batch && !listener_paused; i++) {
        if (handle_new_connection(listener) == -1)
            break;
    }
}

/* select() changes the sets it is given, to say which descriptors are ready:
 * they are built again before every call. A client is watched for reading
 * only while it has room in its buffer (backpressure), and for writing only
 * while it has something pending (an idle socket is almost always writable,
 * and select would return at once, forever). Returns the highest fd set. */
static int build_interest_sets(int listener, fd_set *readable, fd_set *writable,
                               int *watch_read, int *watch_write)
{
    FD_ZERO(readable);
    FD_ZERO(writable);
    int max_fd = -1;
    *watch_read = *watch_write = 0;
    if (listener != -1 && !listener_paused) {
        FD_SET(listener, readable);
        max_fd = listener;
        ++*watch_read;
    }
    for (int fd = 0; fd < FD_SETSIZE; fd++) {
        const struct client *c = &clients[fd];
        if (c->fd == -1)
            continue;
        if (!c->eof && c->pending_length < (size_t)opt.max_pending) {
            FD_SET(fd, readable);
            ++*watch_read;
        }
        if (c->pending_length > 0) {
            FD_SET(fd, writable);
            ++*watch_write;
        }
        if (fd > max_fd)
            max_fd = fd;
    }
    return max_fd;
}

/* --idle: how long select() may wait before the next client falls silent for
 * too long; NULL (wait forever) when there is no such limit. */
static struct timeval *idle_timeout(struct timeval *timeout)
{
    if (opt.idle <= 0 || client_count == 0)
        return NULL;
    double first_deadline = -1;     /* stays -1 when every client is held back */
    for (int fd = 0; fd < FD_SETSIZE; fd++) {
        const struct client *c = &clients[fd];
        if (c->fd == -1 || c->held_back)
            continue;
        double deadline = c->last_heard + opt.idle;
        if (first_deadline < 0 || deadline < first_deadline)
            first_deadline = deadline;
    }
    if (first_deadline < 0)
        return NULL;
    *timeout = to_timeval(first_deadline - sl_now());
    return timeout;
}

static void drop_idle_clients(void)
{
    if (opt.idle <= 0)
        return;
    double now = sl_now();
    for (int fd = 0; fd < FD_SETSIZE; fd++) {
        struct client *c = &clients[fd];
        /* A held-back client is one we stopped reading: it may be talking. */
        if (c->fd != -1 && !c->held_back && now - c->last_heard >= opt.idle) {
            char why[96];
            snprintf(why, sizeof why, "silent for %.1f s (--idle %g)", now - c->last_heard,
                     opt.idle);
            close_client(c, why);
        }
    }
}

/* The event loop: wait for whatever is ready, serve it, never wait on any
 * one client. Returns when --once's client is gone. */
static void serve(int listener)
{
    for (;;) {
        fd_set readable, writable;
        int watch_read, watch_write;
        int max_fd = build_interest_sets(listener, &readable, &writable, &watch_read,
                                         &watch_write);
        if (listener == -1 && client_count == 0)
            return;     /* --once: listener closed, and the client has left */
        struct timeval timeout;
        struct timeval *wait = idle_timeout(&timeout);
        if (listener_paused && wait == NULL) {
            /* Descriptors can come free outside this loop too: retry each second. */
            timeout = to_timeval(1);
            wait = &timeout;
        }
        /* Linux writes the time left into timeout: note what was asked first. */
        double asked = wait ? (double)timeout.tv_sec + (double)timeout.tv_usec / 1e6 : 0;
        int ready = select(max_fd + 1, &readable, &writable, NULL, wait);
        if (ready == -1) {
            if (errno == EINTR)
                continue;
            sl_fail_errno("select");
        }
        if (ready == 0)
            listener_paused = 0;
        if (wait != NULL)
            sl_narrate("select(up to fd %d: %d to read, %d to write, timeout %.2f s) -> %d",
                       max_fd, watch_read, watch_write, asked, ready);
        else
            sl_narrate("select(up to fd %d: %d to read, %d to write) -> %d", max_fd,
                       watch_read, watch_write, ready);

        if (listener != -1 && FD_ISSET(listener, &readable)) {
            accept_waiting_connections(listener);
            if (opt.once && client_count > 0) {
                close(listener);
                sl_narrate("close(fd %d): --once, no more connections", listener);
                listener = -1;
            }
        }
        for (int fd = 0; fd <= max_fd && ready > 0; fd++) {
            struct client *c = &clients[fd];
            if (fd == listener || c->fd == -1)
                continue;
            /* Write first: sending frees room, and room lets us read. */
            if (FD_ISSET(fd, &writable) && flush_pending(c) == -1)
                continue;
            if (FD_ISSET(fd, &readable) && c->fd != -1)
                handle_client_data(c);
        }
        drop_idle_clients();
    }
}

/* socket, SO_REUSEADDR, bind, listen (common/, chapter 1's lesson), and then
 * this chapter's step: a non-blocking listener, so that accept() returns
 * EAGAIN when a client that made select() say "readable" is gone already. */
static int get_listener(const char *address, int port, int backlog)
{
    int listener = listen_or_exit(address, port, backlog);
    if (set_nonblocking(listener) == -1)
        sl_fail_errno("fcntl O_NONBLOCK");
    sl_narrate("fcntl(fd %d, F_SETFL, O_NONBLOCK) -> 0", listener);
    if (listener >= FD_SETSIZE)
        sl_fail("listener fd %d is over FD_SETSIZE (%d)", listener, FD_SETSIZE);
    return listener;
}

static int run_server(void)
{
    init_client_table();
    int listener = get_listener(opt.bind_address, opt.port, opt.backlog);
    if (announce_listening(listener) == -1)
        sl_fail_errno("getsockname");
    serve(listener);
    return SL_EXIT_OK;
}

/* ---- the client ---------------------------------------------------------- */

/* Waits until FD is writable (its handshake is over, one way or the other),
 * at most SECONDS: 1 writable, 0 timed out, -1 error. */
static int wait_writable(int fd, double seconds)
{
    double deadline = sl_now() + seconds;
    for (;;) {
        fd_set writable;
        FD_ZERO(&writable);
        FD_SET(fd, &writable);
        struct timeval timeout = to_timeval(deadline - sl_now());
        int ready = select(fd + 1, NULL, &writable, NULL, &timeout);
        if (ready == -1 && errno == EINTR)
            continue;
        return ready;
    }
}

/* A non-blocking connect: connect() starts the handshake and returns at once
 * (EINPROGRESS); the socket turns writable when the handshake is over, and
 * SO_ERROR then says how it ended. 0 connected, or -1 with errno set. */
static int connect_without_blocking(int fd, const struct addrinfo *ai, const char *text)
{
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
        sl_narrate("connect(%s) -> 0 at once", text);
        return 0;
    }
    if (errno != EINPROGRESS) {
        sl_narrate("connect(%s) -> -1 (%s)", text, strerror(errno));
        return -1;
    }
    sl_narrate("connect(%s) -> -1 (EINPROGRESS): the handshake goes on without us", text);
    int ready = wait_writable(fd, opt.connect_timeout);
    if (ready == -1) {
        sl_narrate("select(fd %d writable) -> -1 (%s)", fd, strerror(errno));
        return -1;
    }
    if (ready == 0) {
        sl_narrate("select(fd %d writable, timeout %g s) -> 0: no answer", fd,
                   opt.connect_timeout);
        errno = ETIMEDOUT;
        return -1;
    }
    int error = 0;
    socklen_t length = sizeof error;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == -1)
        return -1;
    if (error != 0) {
        sl_narrate("select(fd %d writable) -> 1, getsockopt(SO_ERROR) -> %s", fd,
                   strerror(error));
        errno = error;
        return -1;
    }
    char local[SL_ADDR_STRLEN] = "?";
    struct sockaddr_storage mine;
    socklen_t mine_length = sizeof mine;
    if (getsockname(fd, (struct sockaddr *)&mine, &mine_length) == 0)
        sl_format_address((struct sockaddr *)&mine, mine_length, local);
    sl_narrate("select(fd %d writable) -> 1, getsockopt(SO_ERROR) -> 0: connected from %s", fd,
               local);
    return 0;
}

/* Resolves HOST and tries every address it has until one connects: a
 * connected, non-blocking fd. Exits 1 with the last reason if none does. */
static int connect_nonblocking(const char *host, int port)
{
    struct addrinfo hints, *found;
    char service[8];
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    snprintf(service, sizeof service, "%d", port);
    int rc = getaddrinfo(host, service, &hints, &found);
    if (rc != 0)
        sl_fail("getaddrinfo %s: %s", host, gai_strerror(rc));

    int fd = -1;
    int saved_errno = 0;
    const char *failed_call = "connect";
    for (struct addrinfo *ai = found; ai != NULL && fd == -1; ai = ai->ai_next) {
        char text[SL_ADDR_STRLEN];
        sl_format_address(ai->ai_addr, ai->ai_addrlen, text);
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd == -1) {
            saved_errno = errno;
            failed_call = "socket";
            continue;
        }
        sl_narrate("socket(%s, SOCK_STREAM) -> fd %d",
                   ai->ai_family == AF_INET6 ? "AF_INET6" : "AF_INET", fd);
        if (fd >= FD_SETSIZE) {
            errno = EMFILE;
            failed_call = "socket (fd over FD_SETSIZE)";
        } else if (set_nonblocking(fd) == -1) {
            failed_call = "fcntl O_NONBLOCK";
        } else if (connect_without_blocking(fd, ai, text) == 0) {
            break;
        }
        saved_errno = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(found);
    if (fd == -1) {
        errno = saved_errno;
        sl_fail_errno(failed_call);
    }
    return fd;
}

/* What the kernel gives this socket: the most that can sit on each side
 * without the program reading or writing. Linux reports (and uses) double
 * what a program sets, and grows both as a connection runs (autotuning). */
static void narrate_buffer_sizes(int fd)
{
    int sndbuf = 0, rcvbuf = 0;
    socklen_t length = sizeof sndbuf;
    if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, &length) == -1)
        sl_fail_errno("getsockopt SO_SNDBUF");
    length = sizeof rcvbuf;
    if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, &length) == -1)
        sl_fail_errno("getsockopt SO_RCVBUF");
    sl_narrate("getsockopt(SO_SNDBUF) -> %d, getsockopt(SO_RCVBUF) -> %d", sndbuf, rcvbuf);
}

/* ---- the client: line mode (stdin or --message) ---- */

#define LINE_BUFFER 65536

/* Writes all of it to stdout (blocking: stdout is ours, not the network's). */
static void write_stdout(const char *data, size_t length)
{
    for (size_t done = 0; done < length;) {
        ssize_t n = write(STDOUT_FILENO, data + done, length - done);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1)
            sl_fail_errno("write stdout");
        done += (size_t)n;
    }
}

struct line_session {
    int fd;
    char out[LINE_BUFFER];      /* to send to the server */
    size_t out_length;
    int input_done;             /* stdin (or the --message list) is over */
    int shut_down;              /* shutdown(SHUT_WR) done */
    int next_message;
};

static void queue_messages(struct line_session *s)
{
    while (s->next_message < opt.messages.count) {
        const char *text = opt.messages.items[s->next_message];
        size_t length = strlen(text);
        if (length + 1 > sizeof s->out - s->out_length) {
            if (s->out_length == 0)
                sl_fail("--message: longer than %zu bytes", sizeof s->out - 1);
            return;     /* the rest once this much has gone */
        }
        memcpy(s->out + s->out_length, text, length);
        s->out[s->out_length + length] = '\n';
        s->out_length += length + 1;
        s->next_message++;
    }
    s->input_done = 1;
}

/* stdin is read with read(2), not stdio: bytes hidden in a FILE buffer are
 * invisible to select(), which only knows what the kernel holds. */
static void read_stdin(struct line_session *s)
{
    ssize_t n = read(STDIN_FILENO, s->out + s->out_length, sizeof s->out - s->out_length);
    if (n == -1 && errno == EINTR)
        return;
    if (n == -1)
        sl_fail_errno("read stdin");
    if (n == 0) {
        sl_narrate("read(stdin) -> 0: EOF");
        s->input_done = 1;
        return;
    }
    s->out_length += (size_t)n;
}

static void send_queued(struct line_session *s)
{
    ssize_t n = send(s->fd, s->out, s->out_length, 0);
    if (n == -1 && (errno == EINTR || would_block(errno)))
        return;
    if (n == -1)
        sl_fail_errno("send");
    sl_narrate("send(fd %d, %zu bytes) -> %zd", s->fd, s->out_length, n);
    memmove(s->out, s->out + n, s->out_length - (size_t)n);
    s->out_length -= (size_t)n;
}

/* 0 while the connection is open, 1 once the server closed it. */
static int receive_and_print(struct line_session *s)
{
    char buffer[4096];
    ssize_t n = recv(s->fd, buffer, sizeof buffer, 0);
    if (n == -1 && (errno == EINTR || would_block(errno)))
        return 0;
    if (n == -1)
        sl_fail_errno("recv");
    if (n == 0) {
        sl_narrate("recv(fd %d) -> 0: the server closed the connection", s->fd);
        return 1;
    }
    sl_narrate("recv(fd %d) -> %zd bytes", s->fd, n);
    write_stdout(buffer, (size_t)n);
    return 0;
}

/* Waits on stdin and the socket at once: whatever is ready gets done, so a
 * line typed while the server talks, or the other way round, never waits.
 * Once the input is over and sent, shutdown(SHUT_WR) tells the server, and
 * the client reads until the server closes. */
static void run_line_session(int fd)
{
    static struct line_session s;
    s.fd = fd;
    int from_stdin = opt.messages.count == 0;
    for (;;) {
        if (!from_stdin && !s.input_done)
            queue_messages(&s);
        if (s.input_done && s.out_length == 0 && !s.shut_down) {
            if (shutdown(fd, SHUT_WR) == -1)
                sl_fail_errno("shutdown");
            sl_narrate("shutdown(fd %d, SHUT_WR) -> 0: no more from us", fd);
            s.shut_down = 1;
        }
        fd_set readable, writable;
        FD_ZERO(&readable);
        FD_ZERO(&writable);
        FD_SET(fd, &readable);
        if (from_stdin && !s.input_done && s.out_length < sizeof s.out)
            FD_SET(STDIN_FILENO, &readable);
        if (s.out_length > 0)
            FD_SET(fd, &writable);
        if (select(fd + 1, &readable, &writable, NULL, NULL) == -1) {
            if (errno == EINTR)
                continue;
            sl_fail_errno("select");
        }
        if (FD_ISSET(STDIN_FILENO, &readable))
            read_stdin(&s);
        if (FD_ISSET(fd, &writable))
            send_queued(&s);
        if (FD_ISSET(fd, &readable) && receive_and_print(&s))
            return;
    }
}

/* ---- the client: --bytes N, a known pattern, checked on the way back ---- */

/* Byte i of the stream is i mod 251: a prime, so no buffer size lines up
 * with it, and a byte lost, doubled or moved shows up at once. The table
 * holds one chunk starting at any phase. */
#define PATTERN_PERIOD 251
#define CHUNK 65536
static unsigned char pattern[CHUNK + PATTERN_PERIOD];

static void fill_pattern(void)
{
    for (size_t i = 0; i < sizeof pattern; i++)
        pattern[i] = (unsigned char)(i % PATTERN_PERIOD);
}

static const unsigned char *pattern_at(long long offset)
{
    return pattern + offset % PATTERN_PERIOD;
}

struct stream {
    int fd;
    long long total, sent, received;
    int send_calls, recv_calls;
    long long next_send_mark, next_recv_mark;   /* narrate progress at each eighth */
    double started;
};

static void narrate_progress(const struct stream *st, const char *call, ssize_t asked,
                             ssize_t n, int calls, long long done, long long *next_mark)
{
    if (calls <= 2)
        sl_narrate("%s(fd %d, %zd bytes) -> %zd%s", call, st->fd, asked, n,
                   calls == 2 ? " (from here on, one line per eighth of the way)" : "");
    else if (done >= *next_mark)
        sl_narrate("%s: %lld of %lld bytes so far", call, done, st->total);
    while (*next_mark <= done)
        *next_mark += st->total / 8 > 0 ? st->total / 8 : 1;
}

static _Noreturn void report_stall(const struct stream *st, const char *waiting_in)
{
    fflush(stdout);
    fprintf(stderr,
            "%s: stalled in %s: no progress for %g s; sent %lld of %lld bytes, received "
            "%lld\n", program.name, waiting_in, opt.stall, st->sent, st->total, st->received);
    exit(EXIT_STALLED);
}

/* Checks bytes that came back against the pattern; exits 4 at the first
 * that differs. */
static void verify_echo(const struct stream *st, const unsigned char *data, size_t length)
{
    const unsigned char *expected = pattern_at(st->received);
    for (size_t i = 0; i < length; i++) {
        if (data[i] != expected[i]) {
            fflush(stdout);
            fprintf(stderr, "%s: byte %lld of the echo is %u, expected %u\n", program.name,
                    st->received + (long long)i, data[i], expected[i]);
            exit(EXIT_MISMATCH);
        }
    }
}

static void send_some(struct stream *st)
{
    size_t want = st->total - st->sent < CHUNK ? (size_t)(st->total - st->sent) : CHUNK;
    ssize_t n = send(st->fd, pattern_at(st->sent), want, 0);
    if (n == -1 && (errno == EINTR || would_block(errno)))
        return;
    if (n == -1)
        sl_fail_errno("send");
    st->sent += n;
    narrate_progress(st, "send", (ssize_t)want, n, ++st->send_calls, st->sent,
                     &st->next_send_mark);
}

/* 0 while more is expected, 1 on EOF. */
static int receive_some(struct stream *st)
{
    static unsigned char buffer[CHUNK];
    ssize_t n = recv(st->fd, buffer, sizeof buffer, 0);
    if (n == -1 && (errno == EINTR || would_block(errno)))
        return 0;
    if (n == -1)
        sl_fail_errno("recv");
    if (n == 0)
        return 1;
    if (st->received + n > st->total)
        sl_fail("recv: the echo is longer than the %lld bytes sent", st->total);
    verify_echo(st, buffer, (size_t)n);
    st->received += n;
    narrate_progress(st, "recv", (ssize_t)sizeof buffer, n, ++st->recv_calls, st->received,
                     &st->next_recv_mark);
    return 0;
}

static void report_success(const struct stream *st)
{
    printf("%lld bytes sent, %lld received and verified in %.2f s\n", st->sent, st->received,
           sl_now() - st->started);
    fflush(stdout);
}

/* Sends while it reads: select() says which way can move, so the echo is
 * drained as it comes and the server is never stuck waiting for us. After
 * the last byte, shutdown(SHUT_WR); then read until the server closes. */
static void stream_with_select(struct stream *st)
{
    int shut_down = 0;
    for (;;) {
        if (st->sent == st->total && !shut_down) {
            if (shutdown(st->fd, SHUT_WR) == -1)
                sl_fail_errno("shutdown");
            sl_narrate("shutdown(fd %d, SHUT_WR) -> 0: all %lld bytes sent", st->fd, st->sent);
            shut_down = 1;
        }
        fd_set readable, writable;
        FD_ZERO(&readable);
        FD_ZERO(&writable);
        FD_SET(st->fd, &readable);
        if (st->sent < st->total)
            FD_SET(st->fd, &writable);
        struct timeval timeout = to_timeval(opt.stall);
        int ready = select(st->fd + 1, &readable, &writable, NULL, &timeout);
        if (ready == -1 && errno == EINTR)
            continue;
        if (ready == -1)
            sl_fail_errno("select");
        if (ready == 0)
            report_stall(st, "select");
        if (FD_ISSET(st->fd, &writable))
            send_some(st);
        if (FD_ISSET(st->fd, &readable) && receive_some(st) == 1)
            break;
    }
    sl_narrate("recv(fd %d) -> 0: EOF after %lld bytes", st->fd, st->received);
    if (st->received != st->total)
        sl_fail("recv: the server closed after %lld of %lld bytes", st->received, st->total);
}

/* The naive way: send everything, then read the echo. send() blocks while
 * the buffers between here and the server are full; SO_SNDTIMEO and
 * SO_RCVTIMEO turn "blocked forever" into EAGAIN after --stall seconds, so
 * the client can say where it stopped instead of hanging. */
static void stream_blocking(struct stream *st)
{
    int flags = fcntl(st->fd, F_GETFL);
    if (flags == -1 || fcntl(st->fd, F_SETFL, flags & ~O_NONBLOCK) == -1)
        sl_fail_errno("fcntl");
    struct timeval limit = to_timeval(opt.stall);
    if (setsockopt(st->fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit) == -1 ||
        setsockopt(st->fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit) == -1)
        sl_fail_errno("setsockopt SO_SNDTIMEO");
    sl_narrate("blocking again, with SO_SNDTIMEO = SO_RCVTIMEO = %g s", opt.stall);

    while (st->sent < st->total) {
        errno = 0;
        long long before = st->sent;
        send_some(st);
        if (st->sent == before && errno != EINTR) {
            sl_narrate("send(fd %d) -> -1 (%s) after %g s blocked", st->fd, strerror(errno),
                       opt.stall);
            report_stall(st, "send");
        }
    }
    sl_narrate("all %lld bytes sent; now reading the echo", st->sent);
    while (st->received < st->total) {
        errno = 0;
        long long before = st->received;
        if (receive_some(st) == 1)
            sl_fail("recv: the server closed after %lld of %lld bytes", st->received,
                    st->total);
        if (st->received == before && errno != EINTR)
            report_stall(st, "recv");
    }
}

static void run_stream(int fd, long long total, int blocking)
{
    static struct stream st;
    memset(&st, 0, sizeof st);
    st.fd = fd;
    st.total = total;
    st.started = sl_now();
    fill_pattern();
    if (blocking)
        stream_blocking(&st);
    else
        stream_with_select(&st);
    report_success(&st);
}

static int run_client(void)
{
    if (opt.blocking && opt.bytes < 0)
        sl_usage_error("--blocking needs --bytes N");
    int fd = connect_nonblocking(opt.host, opt.port);
    narrate_buffer_sizes(fd);
    if (opt.bytes >= 0)
        run_stream(fd, opt.bytes, opt.blocking);
    else
        run_line_session(fd);
    close(fd);
    sl_narrate("close(fd %d)", fd);
    return SL_EXIT_OK;
}

/* ---- the demo ------------------------------------------------------------ */

static int exit_status_of(pid_t pid)
{
    int status;
    if (waitpid(pid, &status, 0) == -1)
        sl_fail_errno("waitpid");
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Runs the select server in a child process, on a free port. */
static pid_t start_demo_server(int *port, int quiet)
{
    init_client_table();
    sl_set_role("server");
    int listener = get_listener("127.0.0.1", 0, opt.backlog);
    *port = local_port(listener);
    pid_t pid = sl_fork();
    if (pid == 0) {
        sl_set_quiet(quiet);
        serve(listener);
        exit(SL_EXIT_OK);
    }
    close(listener);
    return pid;
}

static void stop_demo_server(pid_t server)
{
    kill(server, SIGTERM);
    waitpid(server, NULL, 0);
}

/* Waits (at most 5 s) until FD has something to read. */
static void wait_readable(int fd)
{
    fd_set readable;
    FD_ZERO(&readable);
    FD_SET(fd, &readable);
    struct timeval timeout = { 5, 0 };
    if (select(fd + 1, &readable, NULL, NULL, &timeout) != 1)
        sl_fail("select: no echo within 5 s");
}

/* Sends one short line and reads until its whole echo is back. */
static void demo_echo(int fd, const char *line)
{
    size_t length = strlen(line);
    if (send(fd, line, length, 0) != (ssize_t)length)
        sl_fail_errno("send");
    sl_narrate("send(fd %d, %zu bytes) -> %zu", fd, length, length);
    char buffer[256];
    size_t received = 0;
    while (received < length) {
        wait_readable(fd);
        ssize_t n = recv(fd, buffer + received, length - received, 0);
        if (n == -1 && (errno == EINTR || would_block(errno)))
            continue;
        if (n <= 0)
            sl_fail("recv: %s", n == 0 ? "the server closed" : strerror(errno));
        received += (size_t)n;
    }
    sl_narrate("recv(fd %d) -> %zu bytes: %.*s", fd, length, (int)length - 1, buffer);
}

/* Client A connects, is served, and stays connected while B comes, is
 * served too, and leaves: with chapter 1's server B would wait for A. */
static int demo_two_clients(int port)
{
    int a_served[2], b_done[2];
    if (pipe(a_served) == -1 || pipe(b_done) == -1)
        sl_fail_errno("pipe");
    char byte = 'x';
    /* Each child keeps only the pipe ends it uses: if one dies, the other
     * reads EOF and says so instead of waiting forever. */
    pid_t a = sl_fork();
    if (a == 0) {
        close(a_served[0]);
        close(b_done[1]);
        sl_set_role("client A");
        int fd = connect_nonblocking("127.0.0.1", port);
        demo_echo(fd, "hello from A\n");
        sl_narrate("staying connected while B comes and goes");
        if (write(a_served[1], &byte, 1) != 1)
            sl_fail_errno("write pipe");
        if (read(b_done[0], &byte, 1) != 1)
            sl_fail("B never finished");
        demo_echo(fd, "bye from A\n");
        close(fd);
        exit(SL_EXIT_OK);
    }
    pid_t b = sl_fork();
    if (b == 0) {
        close(a_served[1]);
        close(b_done[0]);
        sl_set_role("client B");
        if (read(a_served[0], &byte, 1) != 1)
            sl_fail("A was never served");
        int fd = connect_nonblocking("127.0.0.1", port);
        demo_echo(fd, "hello from B\n");
        sl_narrate("served while A is still connected: one thread, two clients");
        close(fd);
        if (write(b_done[1], &byte, 1) != 1)
            sl_fail_errno("write pipe");
        exit(SL_EXIT_OK);
    }
    close(a_served[0]);
    close(a_served[1]);
    close(b_done[0]);
    close(b_done[1]);
    int status_b = exit_status_of(b);
    int status_a = exit_status_of(a);
    return status_a == 0 && status_b == 0;
}

/* The same 64M, streamed the naive way (stalls, exit 3) and with select()
 * (completes, every byte checked). */
static int demo_deadlock(int port)
{
    long long total = 64LL * 1024 * 1024;
    pid_t naive = sl_fork();
    if (naive == 0) {
        sl_set_role("blocking client");
        opt.stall = 0.3;
        int fd = connect_nonblocking("127.0.0.1", port);
        narrate_buffer_sizes(fd);
        run_stream(fd, total, 1);
        exit(SL_EXIT_OK);
    }
    int naive_status = exit_status_of(naive);
    sl_set_role("demo");
    sl_narrate("the blocking client exited %d (%s)", naive_status,
               naive_status == EXIT_STALLED ? "stalled, as expected" : "unexpected");

    pid_t fixed = sl_fork();
    if (fixed == 0) {
        sl_set_role("select client");
        int fd = connect_nonblocking("127.0.0.1", port);
        narrate_buffer_sizes(fd);
        run_stream(fd, total, 0);
        exit(SL_EXIT_OK);
    }
    int fixed_status = exit_status_of(fixed);
    sl_narrate("the select client exited %d", fixed_status);
    return naive_status == EXIT_STALLED && fixed_status == 0;
}

static int run_demo(void)
{
    int port;
    sl_set_role("demo");
    sl_narrate("part 1: two clients at once, one thread");
    pid_t server = start_demo_server(&port, 0);
    sl_set_role("demo");
    int ok = demo_two_clients(port);
    stop_demo_server(server);

    sl_set_role("demo");
    sl_narrate("part 2: 64M echoed; the server narrates nothing here (it would be "
               "thousands of lines)");
    server = start_demo_server(&port, 1);
    sl_set_role("demo");
    ok = demo_deadlock(port) && ok;
    stop_demo_server(server);
    return ok ? SL_EXIT_OK : SL_EXIT_RUNTIME;
}

int main(int argc, char **argv)
{
    struct sl_args args = sl_parse_command_line(&program, argc, argv);

    /* A client that vanishes mid-send should cost an EPIPE error, not our life. */
    signal(SIGPIPE, SIG_IGN);

    if (strcmp(args.role, "server") == 0)
        return run_server();
    if (strcmp(args.role, "client") == 0)
        return run_client();
    return run_demo();
}
