/* server.c: chapter 4, the end-marker server: read to the marker, reply,
 * shut down.
 *
 * One message per connection. The server reads until the end marker has
 * arrived, or until EOF: the client's FIN, sent by its shutdown(SHUT_WR) or
 * its close(), saying nothing more is coming. It replies the payload twice,
 * or "ERROR:no end!" when EOF came first: a reply only a client that shut
 * down just its sending side can still read. Then it shuts down its own
 * sending side, so that the client's recv() returns 0 after the reply, and
 * reads on until the client's EOF before it calls close(): close() on a
 * socket with bytes unread sends a reset, which can destroy the reply.
 *
 * Usage: 04-shutdown server [--port N] [--marker STR] [--recv-size N]
 *                           [--max-payload N] [--eof-is-hangup] [--once]
 * See also: client.c (the other end), framing.c (marker_find),
 *           length_prefix.c (--length-prefix), ../01-blocking/sockets.c,
 *           shutdown(2), recv(2), close(2), socket(7), tcp(7).
 */
#include "shutdown.h"

#include "framing.h"
#include "narrate.h"
#include "proc.h"
#include "../01-blocking/sockets.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* How long the server reads on after its reply, waiting for the client's EOF. */
#define DRAIN_SECONDS 2.0

/* How the reading of one message ended. */
enum ending { ENDED_AT_MARKER, ENDED_AT_EOF, ENDED_TOO_BIG, ENDED_BY_ERROR };

static enum ending read_until_marker(int fd, const struct server_settings *s,
                                     struct message *m, size_t *payload_length);
static int reply(int fd, enum ending how, const struct message *m, size_t payload_length);
static int end_reply(int fd);
static size_t drain(int fd, const char *what);

/* One client: read its message, reply, end our side. The caller closes. */
static void serve_client(int client, const struct server_settings *s)
{
    struct message m = { NULL, 0, 0 };
    size_t payload_length = 0;
    enum ending how = read_until_marker(client, s, &m, &payload_length);
    if (how == ENDED_AT_EOF && s->eof_is_hangup) {
        /* The habit of event loops: "readable, but no data" = the peer is gone. */
        sl_narrate("EOF taken for a hang-up (--eof-is-hangup): closing without a reply");
    } else if (how == ENDED_AT_EOF) {
        /* The client has sent all it will: the reply, then our FIN, ends it. */
        if (reply(client, how, &m, 0) == 0)
            end_reply(client);
    } else if (how != ENDED_BY_ERROR && reply(client, how, &m, payload_length) == 0) {
        /* Bytes that came with the marker count as after the message. */
        size_t extra = how == ENDED_TOO_BIG ? 0
                                            : m.received - payload_length - s->marker_length;
        shut_down_and_drain(client, extra, how == ENDED_TOO_BIG ? "more of the oversized message"
                                                                : "after the end of the message");
    }
    free(m.data);
}

/* FIN after the reply: the client's recv() returns 0, the reply is complete.
 * Our receiving side stays open. 0, or -1 (the connection is gone). */
static int end_reply(int fd)
{
    if (shutdown(fd, SHUT_WR) == -1) {
        sl_narrate("shutdown(fd %d, SHUT_WR) -> -1 %s", fd, sl_errno(errno));
        return -1;
    }
    sl_narrate("shutdown(fd %d, SHUT_WR) -> 0: the client will read EOF after the reply", fd);
    return 0;
}

void shut_down_and_drain(int fd, size_t already, const char *what)
{
    if (end_reply(fd) == -1)
        return;
    size_t total = already + drain(fd, what);
    if (total > 0)
        sl_narrate("in all, %s %s", sl_plural((long long)total, "byte"), what);
}

int run_server(const struct server_settings *settings)
{
    int listener = start_listening(settings->bind_address, settings->port, 8);
    serve(listener, settings->once ? 1 : 0, settings);
    close(listener);
    return SL_EXIT_OK;
}

void serve(int listener, int count, const struct server_settings *settings)
{
    for (int served = 0; count == 0 || served < count; served++) {
        /* One client at a time: between two, this server holds no descriptor
         * but its listener, so running out of them (EMFILE) is for good, and
         * accept_or_exit() stops the program, saying why. */
        int client = accept_or_exit(listener);
        if (settings->length_prefix)
            serve_frames(client, settings);
        else
            serve_client(client, settings);
        close(client);
        sl_narrate("close(fd %d)", client);
    }
}

/* ---- reading the message ---------------------------------------------------- */

/* Reads until the marker is in, EOF, or more bytes than a payload of
 * max_payload plus its marker. Whatever sizes recv() returns, marker_find()
 * looks again only where the marker could newly have ended. */
static enum ending read_until_marker(int fd, const struct server_settings *s,
                                     struct message *m, size_t *payload_length)
{
    size_t cap = s->max_payload + s->marker_length, scanned = 0;
    for (;;) {
        if (m->received == cap) {
            /* Any marker still to come would start after byte max_payload. */
            sl_narrate("%s and no marker: the payload is over the %zu-byte limit",
                       sl_plural((long long)m->received, "byte"), s->max_payload);
            return ENDED_TOO_BIG;
        }
        if (make_room(m, smaller(m->received + s->recv_size, cap), cap) == -1)
            return ENDED_BY_ERROR;
        ssize_t n = receive_some(fd, m, smaller(s->recv_size, m->capacity - m->received));
        if (n == -1)
            return ENDED_BY_ERROR;
        if (n == 0) {
            sl_narrate("recv(fd %d) -> 0: EOF after %s, and no end of message in them", fd,
                       sl_plural((long long)m->received, "byte"));
            return ENDED_AT_EOF;
        }
        m->received += (size_t)n;
        ptrdiff_t at = marker_find(m->data, m->received, scanned, s->marker, s->marker_length);
        scanned = m->received;
        if (at < 0) {
            sl_narrate("recv(fd %d) -> %s (%zu so far, no marker yet)", fd,
                       sl_plural(n, "byte"), m->received);
            continue;
        }
        sl_narrate("recv(fd %d) -> %s (%zu so far): the marker is in, at byte %td", fd,
                   sl_plural(n, "byte"), m->received, at);
        size_t extra = m->received - (size_t)at - s->marker_length;
        if (extra > 0)
            sl_narrate("%s came after the marker: not part of the message, ignored",
                       sl_plural((long long)extra, "byte"));
        *payload_length = (size_t)at;
        return ENDED_AT_MARKER;
    }
}

int make_room(struct message *m, size_t wanted, size_t cap)
{
    if (m->capacity >= wanted)
        return 0;
    size_t capacity = m->capacity ? m->capacity : 64 * 1024;
    while (capacity < wanted)
        capacity *= 2;
    capacity = smaller(capacity, cap);
    unsigned char *data = realloc(m->data, capacity);
    if (data == NULL) {
        sl_narrate("realloc(%zu bytes) -> NULL", capacity);
        return -1;
    }
    m->data = data;
    m->capacity = capacity;
    return 0;
}

ssize_t receive_some(int fd, struct message *m, size_t wanted)
{
    ssize_t n;
    do {
        n = recv(fd, m->data + m->received, wanted, 0);
    } while (n == -1 && errno == EINTR);
    if (n == -1)
        sl_narrate("recv(fd %d) -> -1 %s", fd, sl_errno(errno));
    return n;
}

/* ---- replying and ending ---------------------------------------------------- */

/* The reply for a message that ended HOW: 0 once send() took it all, -1
 * when the client is gone (then nothing more is worth doing but close). */
static int reply(int fd, enum ending how, const struct message *m, size_t payload_length)
{
    int sent;
    if (how == ENDED_AT_MARKER) {
        sent = send_payload_twice(fd, m->data, payload_length);
    } else {
        const char *text = how == ENDED_TOO_BIG ? TOO_BIG_REPLY : NO_END_REPLY;
        sent = send_all(fd, text, strlen(text), "the error");
    }
    return reply_outcome(sent);
}

int reply_outcome(int sent)
{
    sl_narrate("%s", sent == 0 ? "reply sent (as far as send() can tell)"
                               : "the client is gone: closing");
    return sent;
}

/* Two send()s: to a client that has gone away, the first can be accepted by
 * our kernel and lost, and only a later call fail. */
int send_payload_twice(int fd, const unsigned char *payload, size_t length)
{
    if (length == 0) {
        sl_narrate("the payload is empty, and so is the reply");
        return 0;
    }
    if (send_all(fd, payload, length, "the payload") == -1)
        return -1;
    return send_all(fd, payload, length, "the payload again");
}

/* recv() returns 0 at the client's FIN, even when a reset came after it:
 * SO_ERROR holds the reset, if nothing has collected it yet. */
static void narrate_eof(int fd)
{
    int error = 0;
    socklen_t length = sizeof error;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0 && error != 0)
        sl_narrate("recv(fd %d) -> 0: EOF, then a reset: getsockopt(SO_ERROR) -> %s", fd,
                   sl_errno(error));
    else
        sl_narrate("recv(fd %d) -> 0: EOF, the client is done too", fd);
}

/* Reads (and counts) what the client still sends, until its EOF or
 * DRAIN_SECONDS: the bytes read, each recv narrated with WHAT. */
static size_t drain(int fd, const char *what)
{
    double deadline = sl_now() + DRAIN_SECONDS;
    unsigned char discard[8192];
    size_t drained = 0;
    for (;;) {
        int ready = wait_readable(fd, deadline);
        if (ready == 0)
            sl_narrate("no EOF from the client within %.0f s: closing anyway", DRAIN_SECONDS);
        if (ready == -1)
            sl_narrate("poll(fd %d) -> -1 %s", fd, sl_errno(errno));
        if (ready != 1)
            return drained;
        ssize_t n = recv(fd, discard, sizeof discard, 0);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1)
            sl_narrate("recv(fd %d) -> -1 %s", fd, sl_errno(errno));
        if (n == 0)
            narrate_eof(fd);
        if (n <= 0)
            return drained;
        drained += (size_t)n;
        sl_narrate("recv(fd %d) -> %s %s: ignored", fd, sl_plural(n, "byte"), what);
    }
}

int wait_readable(int fd, double deadline)
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
