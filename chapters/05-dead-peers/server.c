/* server.c: chapter 5, a server that can be made to die on cue.
 *
 * It reads a request per client and then behaves as --behave says: it
 * answers (late, with --delay), stays silent, exits, or never even reads the
 * request (deaf). The reader and the demo do the rest: kill -9 it, freeze it
 * with kill -STOP, or take its host away.
 *
 * It is iterative, as in chapter 1: while one client holds it, the next waits
 * in the backlog. So every wait it makes on a client is bounded by the idle
 * limit, and it poll()s rather than blocks: a client that sends nothing is
 * dropped, and so is one that reads nothing (its answers fill the send
 * buffer, and a plain send() would then block for good). poll() also lets it
 * answer a PING at once while an answer is still due.
 *
 * Usage: 05-dead-peers server [--behave answer|silent|exit|deaf] [--delay SEC]
 *                             [--idle SEC] [--bind ADDR] [--port N] [--once]
 * See also: lines.h (the protocol), client.c, ../01-blocking/sockets.c
 *           (start_listening, accept_or_exit, send_all), poll(2), shutdown(2).
 */
#include "dead_peers.h"

#include "lines.h"
#include "narrate.h"
#include "proc.h"
#include "../01-blocking/sockets.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

/* One client being served. */
struct session {
    int fd;
    const struct server_settings *settings;
    struct line_buffer in;
    char answer[LINE_MAX_BYTES];    /* the answer waiting for its time */
    double answer_at;               /* when it is due (sl_now()); -1: none */
    double last_heard;
    double stalled;                 /* seconds spent waiting for room to send */
};

static void bound_send_buffer(int fd);
static void ignore_client(int fd, const struct server_settings *settings);
static int read_lines(struct session *s);
static int reply(struct session *s, const char *line);
static int wait_for(int fd, short events, double until);
static void tell_demo(const struct server_settings *settings, enum server_event event);

static const char *const behaviour_names[] = { "answer", "silent", "exit", "deaf" };

/* Serves one client until it leaves, breaks the protocol, or has been silent
 * (sent nothing, or read nothing) for the idle limit. */
static void serve_client(int fd, const struct server_settings *settings)
{
    struct session s = { fd, settings, { { 0 }, 0 }, "", -1, sl_now(), 0 };
    for (;;) {
        if (s.answer_at >= 0 && sl_now() >= s.answer_at) {
            if (reply(&s, s.answer) == -1)
                return;
            s.answer_at = -1;
        }
        double idle_until = s.last_heard + settings->idle_limit;
        int ready = wait_for(fd, POLLIN, s.answer_at >= 0 ? fmin(idle_until, s.answer_at)
                                                          : idle_until);
        if (ready == -1)
            sl_fail_errno("poll");
        if (ready == 1 && read_lines(&s) == -1)
            return;
        if (ready == 0 && sl_now() >= idle_until) {
            sl_narrate("nothing from the client for %g s: giving up on it",
                       settings->idle_limit);
            return;
        }
    }
}

void serve(int listener, const struct server_settings *settings)
{
    /* The pid, so that a reader can freeze or kill this very process. */
    sl_narrate("pid %ld, behaving: %s", (long)getpid(), behaviour_names[settings->behave]);
    for (int served = 0; !settings->once || served < 1; served++) {
        /* Out of descriptors, this one-client server stops, saying why:
         * its last client's is closed, so it holds none it could free. */
        int client = accept_or_exit(listener);
        bound_send_buffer(client);
        tell_demo(settings, SERVER_ACCEPTED);
        if (settings->behave == BEHAVE_DEAF)
            ignore_client(client, settings);
        else
            serve_client(client, settings);
        close(client);
        sl_narrate("close(fd %d)", client);
    }
}

int run_server(const struct server_settings *settings)
{
    int listener = start_listening(settings->bind_address, settings->port, 8);
    serve(listener, settings);
    close(listener);
    return SL_EXIT_OK;
}

/* A peer that breaks the protocol gets one error line, and the connection
 * ends. shutdown(SHUT_WR) sends our FIN after the error line; then what the
 * client still sends is read and dropped, for a second at most, before
 * close(): closing with unread bytes would send a reset, which may destroy
 * the error line before the client reads it (chapter 4). Returns -1. */
static int refuse(struct session *s, const char *why)
{
    char line[LINE_MAX_BYTES];
    snprintf(line, sizeof line, ERROR_PREFIX "%s", why);
    sl_narrate("%s: answering with an error, then closing", why);
    if (reply(s, line) == -1)
        return -1;
    if (shutdown(s->fd, SHUT_WR) == -1) {
        sl_narrate("shutdown(fd %d, SHUT_WR) -> -1 %s", s->fd, sl_errno(errno));
        return -1;
    }
    sl_narrate("shutdown(fd %d, SHUT_WR) -> 0", s->fd);
    char sink[4096];
    long dropped = 0;
    double until = sl_now() + 1;
    while (dropped < 64 * 1024 && wait_for(s->fd, POLLIN, until) == 1) {
        ssize_t n = recv(s->fd, sink, sizeof sink, 0);
        if (n <= 0 && !(n == -1 && errno == EINTR))
            break;
        dropped += n > 0 ? n : 0;
    }
    sl_narrate("dropped %s the client sent after the error", sl_plural(dropped, "byte"));
    return -1;
}

/* One line from the client: a PING, the request, or a protocol error.
 * 0 to go on, -1 when the connection is over. */
static int handle_line(struct session *s, const char *line)
{
    if (strcmp(line, "PING") == 0) {
        sl_narrate("PING from the client: answering PONG");
        return reply(s, "PONG");
    }
    const char *request = after_prefix(line, REQUEST_PREFIX);
    if (request == NULL)
        return refuse(s, "expected 'request: TEXT' or PING");
    sl_narrate("request: '%s'", request);
    if (s->settings->behave == BEHAVE_EXIT) {
        close(s->fd);
        sl_narrate("close(fd %d), exit(0): a clean exit, without answering", s->fd);
        exit(SL_EXIT_OK);
    }
    if (s->settings->behave == BEHAVE_ANSWER) {
        /* The longest request's answer fits: lines.h. */
        snprintf(s->answer, sizeof s->answer, ANSWER_PREFIX "%s", request);
        s->answer_at = sl_now() + s->settings->delay;
        if (s->settings->delay > 0)
            sl_narrate("answering in %.2f s", s->settings->delay);
    } else {
        sl_narrate("staying silent: try kill -STOP %ld, or kill -9", (long)getpid());
    }
    tell_demo(s->settings, SERVER_HAS_REQUEST);
    return 0;
}

/* recv()s what the client sent and handles each complete line: 0 to go on,
 * -1 when the connection is over. */
static int read_lines(struct session *s)
{
    ssize_t n = recv(s->fd, s->in.bytes + s->in.used, sizeof s->in.bytes - s->in.used, 0);
    if (n == -1 && errno == EINTR)
        return 0;
    if (n == -1) {
        sl_narrate("recv(fd %d) -> -1 %s", s->fd, sl_errno(errno));
        return -1;
    }
    if (n == 0) {
        sl_narrate("recv(fd %d) -> 0: the client closed its side", s->fd);
        return -1;
    }
    sl_narrate("recv(fd %d) -> %s", s->fd, sl_plural(n, "byte"));
    s->in.used += (size_t)n;
    s->last_heard = sl_now();
    char line[LINE_MAX_BYTES];
    int got;
    while ((got = take_line(&s->in, line)) == 1) {
        if (handle_line(s, line) == -1)
            return -1;
    }
    if (got == -1) {
        char why[64];
        snprintf(why, sizeof why, "a line longer than %d bytes", LINE_MAX_BYTES - 1);
        return refuse(s, why);
    }
    return 0;
}

/* Sends LINE once the client has left room for it. A client that reads
 * nothing lets our send buffer fill; each time it is full we wait for room,
 * and all those waits together may last the idle limit, no more (room that
 * trickles in as the client's kernel squeezes its buffer must not renew the
 * limit). poll()'s POLLOUT means room for at least the socket's low-water
 * mark, more than a line, so the send() after it does not block.
 * 0, or -1 when the connection is over. */
static int reply(struct session *s, const char *line)
{
    double limit = s->settings->idle_limit;
    int ready = wait_for(s->fd, POLLOUT, 0);
    if (ready == 0) {
        sl_narrate("poll(fd %d, POLLOUT) ... (my send buffer is full: the client reads "
                   "nothing)", s->fd);
        double start = sl_now();
        ready = wait_for(s->fd, POLLOUT, start + limit - s->stalled);
        s->stalled += sl_now() - start;
    }
    if (ready == -1)
        sl_fail_errno("poll");
    if (ready == 0) {
        sl_narrate("poll(fd %d, POLLOUT) -> 0: %g s in all without room: giving up on "
                   "the client", s->fd, limit);
        return -1;
    }
    return send_line(s->fd, line);
}

/* A client that never reads leaves our answers in our send buffer, which
 * Linux grows on its own up to megabytes (tcp_wmem): that much memory, and
 * a second or more of PONGs before reply() notices it is full. A fixed size
 * bounds both; answers are short. */
static void bound_send_buffer(int fd)
{
    int size = 16384;
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size) == -1)
        sl_narrate("setsockopt(SO_SNDBUF, %d) -> -1 %s", size, sl_errno(errno));
    else
        sl_narrate("setsockopt(SO_SNDBUF, %d) -> 0", size);
}

/* A deaf server waits until the request is in its receive buffer, then sits
 * on it, unread, until the idle limit. Killed meanwhile, its kernel finds
 * unread data and sends a reset instead of a FIN (RFC 1122, 4.2.2.13). */
static void ignore_client(int fd, const struct server_settings *settings)
{
    if (wait_for(fd, POLLIN, sl_now() + settings->idle_limit) == 1) {
        sl_narrate("poll(fd %d) -> readable: the request is here, and I never read it", fd);
        tell_demo(settings, SERVER_HAS_REQUEST);
        wait_for(fd, 0, sl_now() + settings->idle_limit);
    }
    sl_narrate("giving up on fd %d", fd);
}

/* poll() for EVENTS on FD until the clock reaches UNTIL: 1 ready, 0 the time
 * is up, -1 with errno set. */
static int wait_for(int fd, short events, double until)
{
    for (;;) {
        double left = until - sl_now();
        struct pollfd p = { fd, events, 0 };
        int ready = poll(&p, 1, left > 0 ? (int)ceil(left * 1000) : 0);
        if (ready != -1 || errno != EINTR)
            return ready;
    }
}

static void tell_demo(const struct server_settings *settings, enum server_event event)
{
    if (settings->notify != NULL)
        settings->notify(event);
}
