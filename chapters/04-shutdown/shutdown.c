/* shutdown.c: chapter 4, shutdown() vs close(), and how a message ends.
 *
 * The end-marker exchange of the recipe, done right. The client sends its
 * payload and an end marker, then shutdown(SHUT_WR): "I am done sending, but
 * still listening". The server reads until the marker or EOF, replies the
 * payload twice (or "ERROR:no end!" when EOF came first), and shuts its own
 * side down. Options break the exchange on purpose, one way each: a client
 * that close()s instead, one that never shuts down, a server that takes EOF
 * for a hang-up. --length-prefix frames the message by its length instead.
 * `demo fork` shows close() and shutdown() on a socket shared with a child.
 *
 * Usage: 04-shutdown server [--port N] [--marker STR] [--recv-size N] [--length-prefix]
 *                           [--eof-is-hangup] [--max-payload N] [--once]
 *        04-shutdown client [PAYLOAD] [--marker STR] [--close | --no-shutdown]
 *                           [--timeout SEC] [--length-prefix]
 *        04-shutdown demo [recipe|close|fork]
 * See also: chapters/04-shutdown/README.md (the lesson), framing.h (the two
 *           ways to find a message's end), shutdown(2), close(2), tcp(7).
 */
#include "cli.h"
#include "narrate.h"
#include "proc.h"
#include "../01-blocking/sockets.h"
#include "framing.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define DEFAULT_PORT 9004
/* The recipe's server marker, on both sides: see "Which marker" in README.md. */
#define DEFAULT_MARKER "SERVER WRONG MARKER"
#define MAX_MARKER_LENGTH 1024
#define NO_END_REPLY "ERROR:no end!"
#define TOO_BIG_REPLY "ERROR:too big!"
/* How long the server reads on after its reply, waiting for the client's EOF. */
#define DRAIN_SECONDS 2.0
/* The client reads its payload from stdin into memory: this much at most. */
#define MAX_STDIN_PAYLOAD (256LL * 1024 * 1024)

/* Temporary, until this chapter's layout is redone: open_listener or exit 1. */
static int listen_or_exit(const char *address, int port, int backlog)
{
    char why[256];
    int fd = open_listener(address, port, backlog, 1, why, sizeof why);
    if (fd == -1)
        sl_fail("%s", why);
    return fd;
}

/* Temporary, until this chapter's layout is redone: connect_to_server or exit 1. */
static int connect_or_exit(const char *host, int port)
{
    char why[256];
    int fd = connect_to_server(host, port, why, sizeof why);
    if (fd == -1)
        sl_fail("%s", why);
    return fd;
}

static const char default_marker[] = DEFAULT_MARKER;

/* Exit status of a client that gave up waiting for the reply (--timeout). */
enum { EXIT_NO_REPLY = 3 };

static struct {
    const char *bind_address;
    const char *host;
    int port;
    int once;
    const char *marker;
    long long recv_size;
    long long max_payload;
    int length_prefix;
    int eof_is_hangup;
    int close_at_once;
    int no_shutdown;
    double timeout;
} opt = { "127.0.0.1", "localhost", DEFAULT_PORT, 0, default_marker, 8192, 16LL * 1024 * 1024,
          0, 0, 0, 0, 0.0 };

static const struct sl_option options[] = {
    { "--bind", SL_TEXT, &opt.bind_address, 0, 0, "server", "ADDR",
      "address to listen on: 127.0.0.1 (default), ::1, 0.0.0.0 or ::" },
    { "--port", SL_INT, &opt.port, 0, 65535, "server client", "N",
      "TCP port (default 9004; server: 0 picks a free one)" },
    { "--once", SL_FLAG, &opt.once, 0, 0, "server", NULL, "serve one client, then exit" },
    { "--host", SL_TEXT, &opt.host, 0, 0, "client", "H",
      "server name or address (default localhost)" },
    { "--marker", SL_TEXT, &opt.marker, 0, 0, "server client", "STR",
      "the end marker (default 'SERVER WRONG MARKER', 19 bytes)" },
    { "--recv-size", SL_SIZE, &opt.recv_size, 1, 1024 * 1024, "server client", "N",
      "ask each recv() for at most N bytes (default 8192)" },
    { "--length-prefix", SL_FLAG, &opt.length_prefix, 0, 0, "server client", NULL,
      "frame by a 32-bit big-endian length instead of a marker (both sides)" },
    { "--max-payload", SL_SIZE, &opt.max_payload, 0, 1024LL * 1024 * 1024, "server", "N",
      "longest payload accepted (default 16M); longer gets 'ERROR:too big!'" },
    { "--eof-is-hangup", SL_FLAG, &opt.eof_is_hangup, 0, 0, "server", NULL,
      "take EOF before the end for a hang-up: close without replying" },
    { "--close", SL_FLAG, &opt.close_at_once, 0, 0, "client", NULL,
      "close() right after sending, instead of shutdown(SHUT_WR)" },
    { "--no-shutdown", SL_FLAG, &opt.no_shutdown, 0, 0, "client", NULL,
      "wait for the reply without shutdown(SHUT_WR)" },
    { "--timeout", SL_SECONDS, &opt.timeout, 0, 3600, "client", "SEC",
      "give up waiting for the reply after SEC seconds, counted once all is sent (exit 3)" },
    { NULL, SL_FLAG, NULL, 0, 0, NULL, NULL, NULL }
};

static const struct sl_role roles[] = {
    { "server", NULL, 0,
      "Reads one message per connection (to the marker, or EOF), replies the payload twice." },
    { "client", "[PAYLOAD]", 1,
      "Sends PAYLOAD (or stdin) and the marker, shuts down its sending side, prints the reply." },
    { "demo", "[recipe|close|fork]", 1,
      "One scenario (below), or all three in that order: each with servers of its own." },
    { NULL, NULL, 0, NULL }
};

static const struct sl_program program = {
    "04-shutdown", "shutdown() vs close(), and how the end of a message is found",
    roles, options,
    "             3 the client got no reply within --timeout\n"
    "\nThe server replies the payload twice; 'ERROR:no end!' when EOF came before the\n"
    "marker; 'ERROR:too big!' past --max-payload. With --length-prefix, each message\n"
    "and each reply is a 4-byte big-endian length, then that many bytes.\n"
    "\ndemo scenarios:\n"
    "  recipe   the recipe's two runs: markers that match, markers that don't\n"
    "  close    a client that close()s after sending, then one that shuts down\n"
    "  fork     a socket shared with a forked child: close(), shutdown(SHUT_WR) and\n"
    "           shutdown(SHUT_RDWR) in one process, and what the peer sees each time\n"
};

/* How the server's reading of one message ended. */
enum ending { ENDED_AT_MARKER, ENDED_AT_FRAME, ENDED_AT_EOF, ENDED_TOO_BIG, ENDED_BY_ERROR };

struct server_settings {
    const unsigned char *marker;
    size_t marker_length;
    size_t recv_size;
    size_t max_payload;
    int length_prefix;
    int eof_is_hangup;
};

/* What the client does once its message is sent. */
enum finish { FINISH_SHUTDOWN, FINISH_CLOSE, FINISH_NOTHING };

struct client_settings {
    const char *host;
    int port;
    const unsigned char *payload;
    size_t payload_length;
    const unsigned char *marker;
    size_t marker_length;
    size_t recv_size;
    int length_prefix;
    enum finish finish;
    double timeout;             /* seconds; 0: wait as long as it takes */
};

static size_t smaller(size_t a, size_t b)
{
    return a < b ? a : b;
}

/* Waits until FD is readable or DEADLINE (sl_now() seconds; 0: none) passes:
 * 1 readable (or EOF, or an error to collect with recv), 0 timed out, -1 error. */
static int wait_readable(int fd, double deadline)
{
    for (;;) {
        int milliseconds = -1;
        if (deadline > 0) {
            double left = deadline - sl_now();
            milliseconds = left <= 0 ? 0 : (int)(left * 1000) + 1;
        }
        struct pollfd p = { fd, POLLIN, 0 };
        int ready = poll(&p, 1, milliseconds);
        if (ready == -1 && errno == EINTR)
            continue;
        return ready;
    }
}

/* ---- the server: reading one message -------------------------------------- */

struct request {
    unsigned char *data;        /* everything received for this message */
    size_t capacity;
    size_t received;
    const unsigned char *payload;   /* inside data */
    size_t payload_length;
    size_t extra;               /* bytes that came after the end of the message */
    enum ending how;
};

/* Makes room for at least WANTED bytes in REQ, never more than CAP.
 * 0, or -1 (out of memory). */
static int make_room(struct request *req, size_t wanted, size_t cap)
{
    if (req->capacity >= wanted)
        return 0;
    size_t capacity = req->capacity ? req->capacity : 64 * 1024;
    while (capacity < wanted)
        capacity *= 2;
    capacity = smaller(capacity, cap);
    unsigned char *data = realloc(req->data, capacity);
    if (data == NULL)
        return -1;
    req->data = data;
    req->capacity = capacity;
    return 0;
}

/* One recv() into REQ, at most WANTED bytes: what recv returned, narrated
 * when it is an end (0) or an error. */
static ssize_t receive_some(int fd, struct request *req, size_t wanted)
{
    ssize_t n;
    do {
        n = recv(fd, req->data + req->received, wanted, 0);
    } while (n == -1 && errno == EINTR);
    if (n == -1) {
        sl_narrate("recv(fd %d) -> -1 (%s)", fd, strerror(errno));
        req->how = ENDED_BY_ERROR;
    } else if (n == 0) {
        sl_narrate("recv(fd %d) -> 0: EOF after %zu bytes, and no end of message in them", fd,
                   req->received);
        req->how = ENDED_AT_EOF;
    }
    return n;
}

/* Reads until the marker has arrived, EOF, or more bytes than a payload of
 * max_payload plus its marker: REQ says which. Whatever sizes recv() returns,
 * marker_find() looks again only where the marker could newly have ended. */
static void read_until_marker(int fd, const struct server_settings *s, struct request *req)
{
    size_t cap = s->max_payload + s->marker_length;
    size_t scanned = 0;
    for (;;) {
        if (req->received == cap) {
            /* No marker in max_payload + marker_length bytes: any marker still
             * to come would start after byte max_payload. */
            sl_narrate("%zu bytes and no marker: the payload is over the %zu-byte limit",
                       req->received, s->max_payload);
            req->how = ENDED_TOO_BIG;
            return;
        }
        if (make_room(req, smaller(req->received + s->recv_size, cap), cap) == -1) {
            sl_narrate("realloc(%zu bytes) -> NULL", req->received + s->recv_size);
            req->how = ENDED_BY_ERROR;
            return;
        }
        size_t wanted = smaller(s->recv_size, req->capacity - req->received);
        ssize_t n = receive_some(fd, req, wanted);
        if (n <= 0)
            return;
        req->received += (size_t)n;
        ptrdiff_t at = marker_find(req->data, req->received, scanned, s->marker,
                                   s->marker_length);
        scanned = req->received;
        if (at < 0) {
            sl_narrate("recv(fd %d) -> %zd bytes (%zu so far, no marker yet)", fd, n,
                       req->received);
            continue;
        }
        req->payload = req->data;
        req->payload_length = (size_t)at;
        req->extra = req->received - (size_t)at - s->marker_length;
        req->how = ENDED_AT_MARKER;
        sl_narrate("recv(fd %d) -> %zd bytes (%zu so far): the marker is in, at byte %td", fd,
                   n, req->received, at);
        if (req->extra > 0)
            sl_narrate("%zu bytes came after the marker: not part of the message, ignored",
                       req->extra);
        return;
    }
}

/* Reads one length-prefixed message: the 4-byte header, then exactly the
 * length it announces, never a byte more. A length over the limit is refused
 * from the header alone, before anything is allocated for it; under the limit,
 * the buffer grows as bytes arrive, not to what the header merely claims. */
static void read_length_prefixed(int fd, const struct server_settings *s, struct request *req)
{
    uint32_t announced;
    enum frame_state state;
    while ((state = frame_check(req->data, req->received, (uint32_t)s->max_payload,
                                &announced)) == FRAME_INCOMPLETE) {
        size_t frame_length = (req->received < FRAME_HEADER_SIZE)
                                  ? FRAME_HEADER_SIZE
                                  : FRAME_HEADER_SIZE + (size_t)announced;
        size_t next = smaller(req->received + s->recv_size, frame_length);
        if (make_room(req, next, frame_length) == -1) {
            sl_narrate("realloc(%zu bytes) -> NULL", next);
            req->how = ENDED_BY_ERROR;
            return;
        }
        ssize_t n = receive_some(fd, req, smaller(s->recv_size, frame_length - req->received));
        if (n <= 0)
            return;
        req->received += (size_t)n;
        if (req->received < FRAME_HEADER_SIZE)
            sl_narrate("recv(fd %d) -> %zd bytes (%zu of the 4-byte header)", fd, n,
                       req->received);
        else
            sl_narrate("recv(fd %d) -> %zd bytes (the header says %lu; %zu of them in)", fd, n,
                       (unsigned long)frame_read_header(req->data),
                       req->received - FRAME_HEADER_SIZE);
    }
    if (state == FRAME_TOO_LONG) {
        sl_narrate("the header announces %lu bytes: over the %zu-byte limit",
                   (unsigned long)announced, s->max_payload);
        req->how = ENDED_TOO_BIG;
        return;
    }
    req->payload = req->data + FRAME_HEADER_SIZE;
    req->payload_length = announced;
    req->how = ENDED_AT_FRAME;
    sl_narrate("the frame is complete: a %lu-byte payload", (unsigned long)announced);
}

/* ---- the server: replying and ending -------------------------------------- */

/* With --length-prefix every reply is framed: its length, then its bytes. */
static int send_frame_header(int fd, size_t length)
{
    unsigned char header[FRAME_HEADER_SIZE];
    frame_put_header(header, (uint32_t)length);
    return send_all(fd, header, sizeof header, "the length");
}

static int send_error_reply(int fd, const struct server_settings *s, const char *text)
{
    if (s->length_prefix && send_frame_header(fd, strlen(text)) == -1)
        return -1;
    return send_all(fd, text, strlen(text), "the error");
}

/* The payload twice, as two send()s. To a client that has gone away, the
 * first can be accepted by our kernel and lost, and a later call fail. */
static int send_payload_twice(int fd, const struct server_settings *s, const struct request *req)
{
    if (s->length_prefix && send_frame_header(fd, 2 * req->payload_length) == -1)
        return -1;
    if (req->payload_length == 0) {
        sl_narrate("the payload is empty, and so is the reply");
        return 0;
    }
    if (send_all(fd, req->payload, req->payload_length, "the payload") == -1)
        return -1;
    return send_all(fd, req->payload, req->payload_length, "the payload again");
}

/* After our reply and shutdown(SHUT_WR), reads (and counts) whatever the client
 * still sends, until its EOF or DRAIN_SECONDS. close() on a socket with unread
 * bytes sends RST, which can destroy the reply still on its way to the client.
 * WHAT names those bytes in the narration. */
static void read_until_client_eof(int fd, struct request *req, const char *what)
{
    double deadline = sl_now() + DRAIN_SECONDS;
    unsigned char discard[8192];
    for (;;) {
        int ready = wait_readable(fd, deadline);
        if (ready == 0) {
            sl_narrate("no EOF from the client within %.0f s: closing anyway", DRAIN_SECONDS);
            return;
        }
        if (ready == -1) {
            sl_narrate("poll(fd %d) -> -1 (%s)", fd, strerror(errno));
            return;
        }
        ssize_t n = recv(fd, discard, sizeof discard, 0);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1) {
            sl_narrate("recv(fd %d) -> -1 (%s)", fd, strerror(errno));
            return;
        }
        if (n == 0) {
            sl_narrate("recv(fd %d) -> 0: EOF, the client is done too", fd);
            return;
        }
        req->extra += (size_t)n;
        sl_narrate("recv(fd %d) -> %zd bytes %s: ignored", fd, n, what);
    }
}

/* Reads one message from CLIENT, replies, shuts down its sending side, closes. */
static void serve_client(int client, const struct server_settings *s)
{
    struct request req = { NULL, 0, 0, NULL, 0, 0, ENDED_BY_ERROR };
    if (s->length_prefix)
        read_length_prefixed(client, s, &req);
    else
        read_until_marker(client, s, &req);

    int replied = 0;
    switch (req.how) {
    case ENDED_AT_MARKER:
    case ENDED_AT_FRAME:
        replied = send_payload_twice(client, s, &req) == 0;
        break;
    case ENDED_TOO_BIG:
        replied = send_error_reply(client, s, TOO_BIG_REPLY) == 0;
        break;
    case ENDED_AT_EOF:
        if (s->eof_is_hangup) {
            /* The habit of event loops: "readable, but no data" = the peer is gone. */
            sl_narrate("EOF taken for a hang-up (--eof-is-hangup): closing without a reply");
            goto close_it;
        }
        /* Only possible because the client shut down just its sending side:
         * it is still reading, and this is how it learns what went wrong. */
        replied = send_error_reply(client, s, NO_END_REPLY) == 0;
        break;
    case ENDED_BY_ERROR:
        goto close_it;
    }
    if (replied)
        sl_narrate("reply sent (as far as send() can tell)");

    /* FIN after the reply: the client's recv() returns 0, the reply is complete. */
    if (shutdown(client, SHUT_WR) == -1)
        sl_narrate("shutdown(fd %d, SHUT_WR) -> -1 (%s)", client, strerror(errno));
    else
        sl_narrate("shutdown(fd %d, SHUT_WR) -> 0: the client will read EOF after the reply",
                   client);
    const char *what = (req.how == ENDED_TOO_BIG) ? "more of the oversized message"
                                                  : "after the end of the message";
    if (req.how != ENDED_AT_EOF)
        read_until_client_eof(client, &req, what);
    if (req.extra > 0)
        sl_narrate("in all, %zu bytes %s", req.extra, what);

close_it:
    close(client);
    sl_narrate("close(fd %d)", client);
    free(req.data);
}

/* Serves COUNT clients one after another (0: forever). */
static void serve(int listener, int count, const struct server_settings *s)
{
    for (int served = 0; count == 0 || served < count;) {
        int client = accept_client(listener);
        if (client == -1) {
            if (errno == ECONNABORTED)
                continue;
            sl_fail_errno("accept");
        }
        serve_client(client, s);
        served++;
    }
}

/* ---- the client ------------------------------------------------------------ */

/* "PROGRAM: text" on stderr, then exit STATUS: a failure with its own status. */
__attribute__((format(printf, 2, 3)))
static _Noreturn void give_up(int status, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    fflush(stdout);
    fprintf(stderr, "%s: ", program.name);
    vfprintf(stderr, format, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(status);
}

/* Writes the reply to stdout as it arrives: nothing the server sends is held
 * in memory here. stdio buffers it, and stdout is flushed once the reply is
 * complete, after the narration, so a reply without a newline at its end
 * does not run into a narration line. */
static void print_reply_bytes(const unsigned char *bytes, size_t length)
{
    if (fwrite(bytes, 1, length, stdout) != length)
        sl_fail_errno("writing the reply to stdout");
}

/* One recv() of at most WANTED bytes, waiting until DEADLINE (0: forever):
 * the byte count, 0 at EOF. Exits 3 on timeout, 1 on error. */
static size_t receive_reply(int fd, unsigned char *buffer, size_t wanted, double deadline,
                            double timeout)
{
    for (;;) {
        int ready = wait_readable(fd, deadline);
        if (ready == -1)
            sl_fail_errno("poll");
        if (ready == 0) {
            sl_narrate("poll(fd %d) -> 0: nothing within %g s", fd, timeout);
            close(fd);
            sl_narrate("close(fd %d)", fd);
            give_up(EXIT_NO_REPLY, "no reply within %g s (--timeout)", timeout);
        }
        ssize_t n = recv(fd, buffer, wanted, 0);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1) {
            sl_narrate("recv(fd %d) -> -1 (%s)", fd, strerror(errno));
            sl_fail_errno("recv");
        }
        return (size_t)n;
    }
}

/* Reads the reply until the server's EOF: with a marker, EOF is the only way
 * the client knows the reply is complete. */
static void read_reply_to_eof(int fd, const struct client_settings *c, double deadline)
{
    unsigned char buffer[65536];
    size_t total = 0;
    for (;;) {
        size_t n = receive_reply(fd, buffer, smaller(c->recv_size, sizeof buffer), deadline,
                                 c->timeout);
        if (n == 0) {
            sl_narrate("recv(fd %d) -> 0: EOF, the reply is complete (%zu bytes)", fd, total);
            return;
        }
        total += n;
        sl_narrate("recv(fd %d) -> %zu bytes (%zu so far)", fd, n, total);
        print_reply_bytes(buffer, n);
    }
}

/* Reads a length-prefixed reply: the header says when it is complete. */
static void read_framed_reply(int fd, const struct client_settings *c, double deadline)
{
    unsigned char header[FRAME_HEADER_SIZE];
    for (size_t got = 0; got < FRAME_HEADER_SIZE;) {
        size_t n = receive_reply(fd, header + got, FRAME_HEADER_SIZE - got, deadline,
                                 c->timeout);
        if (n == 0)
            sl_fail("recv: EOF after %zu of the reply's 4 header bytes", got);
        got += n;
        sl_narrate("recv(fd %d) -> %zu bytes (%zu of the 4-byte header)", fd, n, got);
    }
    uint32_t announced = frame_read_header(header);
    sl_narrate("the reply announces %lu bytes", (unsigned long)announced);
    unsigned char buffer[65536];
    for (size_t total = 0; total < announced;) {
        size_t wanted = smaller(smaller(c->recv_size, sizeof buffer), announced - total);
        size_t n = receive_reply(fd, buffer, wanted, deadline, c->timeout);
        if (n == 0)
            sl_fail("recv: EOF after %zu of the reply's %lu bytes", total,
                    (unsigned long)announced);
        total += n;
        sl_narrate("recv(fd %d) -> %zu bytes (%zu of %lu)", fd, n, total,
                   (unsigned long)announced);
        print_reply_bytes(buffer, n);
    }
}

/* One exchange: connect, send the message, end it as told, print the reply.
 * The exit status: 0, or EXIT_NO_REPLY (exits on other failures). */
static int run_exchange(const struct client_settings *c)
{
    int fd = connect_or_exit(c->host, c->port);

    /* The bytes on the wire: payload then marker, or length then payload. */
    if (c->length_prefix) {
        unsigned char header[FRAME_HEADER_SIZE];
        frame_put_header(header, (uint32_t)c->payload_length);
        if (send_all(fd, header, sizeof header, "the length") == -1)
            sl_fail_errno("send");
    }
    if (send_all(fd, c->payload, c->payload_length, "the payload") == -1)
        sl_fail_errno("send");
    if (!c->length_prefix && send_all(fd, c->marker, c->marker_length, "the marker") == -1)
        sl_fail_errno("send");

    switch (c->finish) {
    case FINISH_CLOSE:
        /* Both directions end here: the server's reply has nowhere to go. */
        if (close(fd) == -1)
            sl_fail_errno("close");
        sl_narrate("close(fd %d) -> 0: gone before the reply; it will never be read", fd);
        return SL_EXIT_OK;
    case FINISH_SHUTDOWN:
        /* FIN to the server: its recv() returns 0. Our receiving side stays open. */
        if (shutdown(fd, SHUT_WR) == -1)
            sl_fail_errno("shutdown");
        sl_narrate("shutdown(fd %d, SHUT_WR) -> 0: done sending, still reading", fd);
        break;
    case FINISH_NOTHING:
        if (c->length_prefix)
            sl_narrate("no shutdown() needed: the length says where the message ends");
        else
            sl_narrate("no shutdown(): waiting for the reply, my sending side still open");
        break;
    }

    double deadline = c->timeout > 0 ? sl_now() + c->timeout : 0;
    if (c->length_prefix)
        read_framed_reply(fd, c, deadline);
    else
        read_reply_to_eof(fd, c, deadline);
    close(fd);
    sl_narrate("close(fd %d)", fd);
    return SL_EXIT_OK;
}

/* The whole of stdin, as the payload (MAX_STDIN_PAYLOAD at most). */
static unsigned char *read_stdin(size_t *length)
{
    size_t capacity = 64 * 1024, used = 0;
    unsigned char *data = malloc(capacity);
    if (data == NULL)
        sl_fail_errno("malloc");
    for (;;) {
        if (used == capacity) {
            if (capacity >= (size_t)MAX_STDIN_PAYLOAD)
                sl_fail("stdin: the payload is over %lld bytes", MAX_STDIN_PAYLOAD);
            unsigned char *bigger = realloc(data, capacity * 2);
            if (bigger == NULL)
                sl_fail_errno("realloc");
            data = bigger;
            capacity *= 2;
        }
        size_t n = fread(data + used, 1, capacity - used, stdin);
        used += n;
        if (n == 0)
            break;
    }
    if (ferror(stdin))
        sl_fail_errno("reading stdin");
    *length = used;
    return data;
}

static int run_client(const struct sl_args *args)
{
    if (opt.close_at_once && opt.no_shutdown)
        sl_usage_error("--close and --no-shutdown: choose one");
    if (opt.length_prefix && opt.no_shutdown)
        sl_usage_error("--length-prefix never shuts down anyway: drop --no-shutdown");

    struct client_settings c = {
        opt.host, opt.port, NULL, 0, (const unsigned char *)opt.marker, strlen(opt.marker),
        (size_t)opt.recv_size, opt.length_prefix,
        opt.close_at_once ? FINISH_CLOSE : (opt.no_shutdown || opt.length_prefix)
                                               ? FINISH_NOTHING : FINISH_SHUTDOWN,
        opt.timeout
    };
    unsigned char *from_stdin = NULL;
    if (args->argc == 1) {
        c.payload = (const unsigned char *)args->argv[0];
        c.payload_length = strlen(args->argv[0]);
    } else {
        c.payload = from_stdin = read_stdin(&c.payload_length);
    }
    if (c.length_prefix && c.payload_length > UINT32_MAX)
        sl_fail("the payload is too long for a 32-bit length");
    int status = run_exchange(&c);
    if (fflush(stdout) == EOF)
        sl_fail_errno("writing the reply to stdout");
    free(from_stdin);
    return status;
}

static void check_marker_option(void)
{
    size_t length = strlen(opt.marker);
    /* --marker makes opt.marker point into argv instead of at our default. */
    if (opt.length_prefix && opt.marker != default_marker)
        sl_usage_error("--marker and --length-prefix: a length-prefixed message has no marker");
    if (length == 0)
        sl_usage_error("--marker: the marker can't be empty");
    if (length > MAX_MARKER_LENGTH)
        sl_usage_error("--marker: at most %d bytes", MAX_MARKER_LENGTH);
}

static struct server_settings server_settings_from_options(void)
{
    struct server_settings s = {
        (const unsigned char *)opt.marker, strlen(opt.marker), (size_t)opt.recv_size,
        (size_t)opt.max_payload, opt.length_prefix, opt.eof_is_hangup
    };
    return s;
}

static int run_server(void)
{
    struct server_settings s = server_settings_from_options();
    int listener = listen_or_exit(opt.bind_address, opt.port, 8);
    if (announce_listening(listener) == -1)
        sl_fail_errno("getsockname");
    serve(listener, opt.once ? 1 : 0, &s);
    close(listener);
    return SL_EXIT_OK;
}

/* ---- the demo: the recipe's runs, then close() vs shutdown() ------------- */

static int wait_for(pid_t pid)
{
    int status;
    while (waitpid(pid, &status, 0) == -1) {
        if (errno != EINTR)
            sl_fail_errno("waitpid");
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : SL_EXIT_RUNTIME;
}

static void heading(const char *text)
{
    printf("\n== %s\n", text);
    fflush(stdout);
}

/* A server in a child process for COUNT clients, on a free port: its pid. */
static pid_t start_demo_server(int count, int *port)
{
    sl_set_role("server");
    int listener = listen_or_exit("127.0.0.1", 0, 8);
    if (announce_listening(listener) == -1)
        sl_fail_errno("getsockname");
    *port = local_port(listener);
    pid_t pid = sl_fork();
    if (pid == 0) {
        struct server_settings s = server_settings_from_options();
        serve(listener, count, &s);
        exit(SL_EXIT_OK);
    }
    close(listener);
    sl_set_role("client");
    return pid;
}

/* One exchange of the demo, with a server of its own (so that its narration
 * ends before the next heading), the reply on a line of its own. */
static int demo_exchange(const char *title, const char *payload, const char *marker,
                         enum finish finish)
{
    heading(title);
    int port;
    pid_t server = start_demo_server(1, &port);
    struct client_settings c = {
        "127.0.0.1", port, (const unsigned char *)payload, strlen(payload),
        (const unsigned char *)marker, strlen(marker), 8192, 0, finish, 0
    };
    printf("reply: ");
    int status = run_exchange(&c);
    status |= wait_for(server);
    printf("%s\n", finish == FINISH_CLOSE ? "(none: the client never read it)" : "");
    fflush(stdout);
    return status;
}

static int demo_recipe(void)
{
    int status = demo_exchange("markers that match: the client ends with the server's marker",
                               "a1234", DEFAULT_MARKER, FINISH_SHUTDOWN);
    status |= demo_exchange("markers that don't: the client ends with 'CLIENT WRONG MARKER'",
                            "a1234", "CLIENT WRONG MARKER", FINISH_SHUTDOWN);
    return status;
}

static int demo_close(void)
{
    int status = demo_exchange("close() right after sending: the reply has nowhere to go",
                               "a1234", DEFAULT_MARKER, FINISH_CLOSE);
    status |= demo_exchange("shutdown(SHUT_WR) instead: done sending, still reading",
                            "a1234", DEFAULT_MARKER, FINISH_SHUTDOWN);
    return status;
}

/* ---- the demo: one socket, two processes ----------------------------------- */

/* The forked child holding the socket does what the parent tells it through
 * a pipe, one letter per step ('s' send, 'r' recv, 'c' close, 'q' quit), and
 * answers 'k' on another pipe when done: so the narration of the processes
 * comes out in the order of the story. */
struct child_line {
    pid_t pid;
    int orders;     /* parent writes */
    int done;       /* parent reads */
};

static _Noreturn void child_obeys(int fd, int orders, int done)
{
    sl_set_role("child");
    char order;
    while (read(orders, &order, 1) == 1) {
        if (order == 's') {
            static const char text[] = "hello from the child";
            ssize_t n = send(fd, text, sizeof text - 1, 0);
            if (n == -1)
                sl_narrate("send(fd %d, %zu bytes) -> -1 (%s)", fd, sizeof text - 1,
                           strerror(errno));
            else
                sl_narrate("send(fd %d, %zu bytes) -> %zd", fd, sizeof text - 1, n);
        } else if (order == 'r') {
            char buffer[64];
            sl_narrate("recv(fd %d) ... (blocks until there is something)", fd);
            if (write(done, "r", 1) != 1)
                exit(SL_EXIT_RUNTIME);
            ssize_t n = recv(fd, buffer, sizeof buffer, 0);
            if (n == -1)
                sl_narrate("recv(fd %d) -> -1 (%s)", fd, strerror(errno));
            else if (n == 0)
                sl_narrate("recv(fd %d) -> 0: reading is shut down, for me too", fd);
            else
                sl_narrate("recv(fd %d) -> %zd bytes '%.*s'", fd, n, (int)n, buffer);
        } else if (order == 'c') {
            if (close(fd) == -1)
                sl_narrate("close(fd %d) -> -1 (%s)", fd, strerror(errno));
            else
                sl_narrate("close(fd %d) -> 0", fd);
        } else {
            break;
        }
        if (write(done, "k", 1) != 1)
            break;
    }
    exit(SL_EXIT_OK);
}

/* Gives the child one order and waits until it has carried it out (its
 * 'k'; an 'r' only says it is about to block in recv). */
static void tell_child(const struct child_line *child, char order)
{
    char answer = 0;
    if (write(child->orders, &order, 1) != 1)
        sl_fail_errno("write to the child");
    while (answer != 'k') {
        if (read(child->done, &answer, 1) != 1)
            sl_fail("the child is gone");
    }
    sl_set_role("parent");
}

/* Connects to LISTENER's port, forks a child that keeps a copy of the
 * connected socket, and accepts the connection: the peer's end. */
static int connect_and_share(int listener, int port, int *fd, struct child_line *child)
{
    sl_set_role("parent");
    *fd = connect_or_exit("127.0.0.1", port);
    int orders[2], done[2];
    if (pipe(orders) == -1 || pipe(done) == -1)
        sl_fail_errno("pipe");
    child->pid = sl_fork();
    if (child->pid == 0) {
        close(listener);
        close(orders[1]);
        close(done[0]);
        child_obeys(*fd, orders[0], done[1]);
    }
    close(orders[0]);
    close(done[1]);
    child->orders = orders[1];
    child->done = done[0];
    sl_narrate("fork() -> child %ld: fd %d is now held by both processes", (long)child->pid, *fd);

    sl_set_role("peer");
    int peer = accept(listener, NULL, NULL);
    if (peer == -1)
        sl_fail_errno("accept");
    sl_narrate("accept(fd %d) -> fd %d: the other end", listener, peer);
    return peer;
}

static void end_sharing(struct child_line *child, int fd, int peer)
{
    char order = 'q';
    if (write(child->orders, &order, 1) != 1)
        sl_fail_errno("write to the child");
    close(child->orders);
    close(child->done);
    wait_for(child->pid);
    if (fd != -1)
        close(fd);
    close(peer);
}

/* What the peer sees now: data, EOF, an error, or nothing within 0.2 s. */
static void peer_looks(int peer)
{
    sl_set_role("peer");
    if (wait_readable(peer, sl_now() + 0.2) == 0) {
        sl_narrate("poll(fd %d, 200 ms) -> 0: no data, no EOF: the connection is still open",
                   peer);
        return;
    }
    char buffer[64];
    ssize_t n = recv(peer, buffer, sizeof buffer, 0);
    if (n == -1)
        sl_narrate("recv(fd %d) -> -1 (%s)", peer, strerror(errno));
    else if (n == 0)
        sl_narrate("recv(fd %d) -> 0: EOF", peer);
    else
        sl_narrate("recv(fd %d) -> %zd bytes '%.*s'", peer, n, (int)n, buffer);
}

static void demo_shared_close(int listener, int port)
{
    heading("close() on a socket a forked child also holds");
    struct child_line child;
    int fd;
    int peer = connect_and_share(listener, port, &fd, &child);
    sl_set_role("parent");
    close(fd);
    sl_narrate("close(fd %d) -> 0: the parent lets go; the child still holds the socket", fd);
    peer_looks(peer);
    tell_child(&child, 's');
    peer_looks(peer);
    tell_child(&child, 'c');
    peer_looks(peer);
    end_sharing(&child, -1, peer);
}

static void demo_shared_shutdown(int listener, int port)
{
    heading("shutdown(SHUT_WR) on a socket a forked child also holds");
    struct child_line child;
    int fd;
    int peer = connect_and_share(listener, port, &fd, &child);
    sl_set_role("parent");
    if (shutdown(fd, SHUT_WR) == -1)
        sl_fail_errno("shutdown");
    sl_narrate("shutdown(fd %d, SHUT_WR) -> 0: no more sending, whoever holds it", fd);
    peer_looks(peer);
    tell_child(&child, 's');
    sl_set_role("peer");
    if (send_all(peer, "still listening?", 16, "to the child") == -1)
        sl_fail_errno("send");
    tell_child(&child, 'r');
    end_sharing(&child, fd, peer);
}

static void demo_shared_shutdown_both(int listener, int port)
{
    heading("shutdown(SHUT_RDWR) while the child waits in recv()");
    struct child_line child;
    int fd;
    int peer = connect_and_share(listener, port, &fd, &child);
    char answer, order = 'r';
    if (write(child.orders, &order, 1) != 1 || read(child.done, &answer, 1) != 1)
        sl_fail("the child is gone");
    sl_set_role("parent");
    sl_narrate("shutdown(fd %d, SHUT_RDWR) ... (while the child waits in recv)", fd);
    if (shutdown(fd, SHUT_RDWR) == -1)
        sl_fail_errno("shutdown");
    /* The child's narration first: it wakes up while shutdown() returns. */
    if (read(child.done, &answer, 1) != 1)
        sl_fail("the child is gone");
    sl_narrate("shutdown(fd %d, SHUT_RDWR) -> 0: no more sending or receiving", fd);
    peer_looks(peer);
    end_sharing(&child, fd, peer);
}

static int demo_fork(void)
{
    sl_set_role("peer");
    int listener = listen_or_exit("127.0.0.1", 0, 8);
    if (announce_listening(listener) == -1)
        sl_fail_errno("getsockname");
    int port = local_port(listener);
    demo_shared_close(listener, port);
    demo_shared_shutdown(listener, port);
    demo_shared_shutdown_both(listener, port);
    close(listener);
    return SL_EXIT_OK;
}

static int run_demo(const struct sl_args *args)
{
    const char *scenario = args->argc == 1 ? args->argv[0] : "all";
    int all = strcmp(scenario, "all") == 0;
    if (!all && strcmp(scenario, "recipe") != 0 && strcmp(scenario, "close") != 0 &&
        strcmp(scenario, "fork") != 0)
        sl_usage_error("unknown scenario '%s' (one of: recipe, close, fork)", scenario);
    int status = 0;
    if (all || strcmp(scenario, "recipe") == 0)
        status |= demo_recipe();
    if (all || strcmp(scenario, "close") == 0)
        status |= demo_close();
    if (all || strcmp(scenario, "fork") == 0)
        status |= demo_fork();
    return status ? SL_EXIT_RUNTIME : SL_EXIT_OK;
}

int main(int argc, char **argv)
{
    struct sl_args args = sl_parse_command_line(&program, argc, argv);
    check_marker_option();

    /* A peer that is gone should cost a send() an EPIPE error, not our life:
     * this chapter shows those errors, so it must live to narrate them. */
    signal(SIGPIPE, SIG_IGN);

    if (strcmp(args.role, "server") == 0)
        return run_server();
    if (strcmp(args.role, "client") == 0)
        return run_client(&args);
    return run_demo(&args);
}
