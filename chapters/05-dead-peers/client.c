/* client.c: chapter 5, a client that finds out its server died.
 *
 * It connects, sends one request and waits for the answer. Without a remedy
 * it waits as chapter 1's client does, in one blocking recv(): only the
 * kernel can end that wait, with an EOF (the peer closed), a reset (nothing
 * is left on the other side to talk to), or ETIMEDOUT (keepalive or the user
 * timeout gave up). A peer that froze or vanished sends none of them. With
 * --timeout or --heartbeat it waits in poll() instead, woken in time to give
 * up or to send a PING. Whatever ends the wait, the client says how it
 * declared the peer dead, and how long after its last sign of life; that is
 * exit status 3.
 *
 * Usage: 05-dead-peers client [--timeout SEC] [--keepalive I,N,C]
 *                             [--user-timeout MS] [--heartbeat SEC] [--probe]
 * See also: remedies.c (each remedy), lines.h (the protocol), server.c,
 *           ../01-blocking/sockets.c (connect_to_server), recv(2), poll(2).
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
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

/* One wait for the answer. */
struct answer_wait {
    int fd;
    const struct client_settings *settings;
    struct line_buffer in;
    double last_heard;          /* the handshake, or the last byte received */
    double deadline;            /* --timeout; INFINITY without it */
    struct heartbeat beat;
};

static double next_wake(struct answer_wait *w);
static int receive(struct answer_wait *w);
static _Noreturn void connection_over(struct answer_wait *w, ssize_t n, int error);
static int take_answer(const char *line);

int run_client(const struct client_settings *settings)
{
    int fd = connect_with_remedies(settings);
    send_request(fd, settings->message);
    int status = await_answer(fd, settings);
    close(fd);
    sl_narrate("close(fd %d)", fd);
    return status;
}

/* Waits for the answer line and prints it: 0. Every other end is the peer
 * declared dead (exit 3) or a runtime failure (exit 1). */
int await_answer(int fd, const struct client_settings *settings)
{
    const struct remedies *r = &settings->remedies;
    double now = sl_now();
    struct answer_wait w = { fd, settings, { { 0 }, 0 }, now, INFINITY, { r->heartbeat, now } };
    if (r->timeout > 0)
        w.deadline = now + r->timeout;
    for (;;) {
        double wake = next_wake(&w);
        if (isinf(wake)) {
            /* No remedy of the program's own: recv() alone decides. */
            sl_narrate("recv(fd %d) ... (blocks until the answer, EOF or an error)", fd);
        } else {
            int ready = wait_readable_until(fd, wake);
            if (ready == -1)
                sl_fail_errno("poll");
            if (ready == 0)
                continue;
        }
        if (receive(&w) == 1)
            return SL_EXIT_OK;
    }
}

/* recv() once and takes the lines that completed: 1 once the answer came. */
static int receive(struct answer_wait *w)
{
    ssize_t n = recv(w->fd, w->in.bytes + w->in.used, sizeof w->in.bytes - w->in.used, 0);
    if (n == -1 && errno == EINTR)
        return 0;
    if (n <= 0)
        connection_over(w, n, errno);
    sl_narrate("recv(fd %d) -> %s", w->fd, sl_plural(n, "byte"));
    w->last_heard = sl_now();
    w->in.used += (size_t)n;
    char line[LINE_MAX_BYTES];
    int got;
    while ((got = take_line(&w->in, line)) == 1) {
        if (take_answer(line) == 1)
            return 1;
    }
    if (got == -1)
        sl_fail("the server sent a line longer than %d bytes", LINE_MAX_BYTES - 1);
    return 0;
}

/* The verdict, on stderr as the program's last line: exit 3. */
static _Noreturn void declare_dead(double elapsed, const char *how, const char *reason)
{
    sl_fail_status(EXIT_PEER_DEAD, "peer declared dead after %.2f s (%s): %s", elapsed, how,
                   reason);
}

/* Checks the program's own remedies, sending a PING if one is due: when the
 * wait must wake next (INFINITY: never), unless the peer is declared dead. */
static double next_wake(struct answer_wait *w)
{
    double now = sl_now(), since = now - w->last_heard;
    if (now >= w->deadline) {
        char reason[64];
        snprintf(reason, sizeof reason, "no answer within %g s", w->settings->remedies.timeout);
        declare_dead(since, "timeout", reason);
    }
    if (w->beat.period <= 0)
        return w->deadline;
    double due = heartbeat_check(w->fd, &w->beat, w->last_heard);
    if (due < 0)
        declare_dead(since, "heartbeat", errno == ETIMEDOUT ? "3 silent periods"
                                                            : sl_errno_name(errno));
    return fmin(w->deadline, due);
}

/* Which remedy made the kernel fail the connection with ETIMEDOUT. */
static const char *kernel_remedy(const struct remedies *r)
{
    if (r->keep_idle > 0 && r->user_timeout_ms > 0)
        return "keepalive + user-timeout";
    if (r->keep_idle > 0)
        return "keepalive";
    if (r->user_timeout_ms > 0)
        return "user-timeout";
    return "retransmission timeout";
}

/* After EOF: is the peer's process gone, or did it only close its side?
 * Sending finds out. The first send is accepted by our kernel and goes out;
 * the peer's kernel, with no program left to read it, answers with a reset.
 * The next send reports it (Linux says EPIPE, having seen the FIN first). A
 * program that does not ignore SIGPIPE dies on that send. */
static void probe_dead_peer(int fd)
{
    sl_narrate("sending anyway, to see what answers");
    ssize_t n = send(fd, "PING\n", 5, 0);
    if (n == -1)
        sl_narrate("send(fd %d, 5 bytes) -> -1 %s", fd, sl_errno(errno));
    else
        sl_narrate("send(fd %d, 5 bytes) -> %zd: accepted by my kernel", fd, n);
    /* The reset takes a round trip, and arrives as an error on the socket,
     * which poll() reports whatever was asked for: wait for it (2 s at most:
     * a peer whose host is gone sends no reset). */
    struct pollfd reset = { fd, 0, 0 };
    if (poll(&reset, 1, 2000) == -1)
        sl_narrate("poll(fd %d) -> -1 %s", fd, sl_errno(errno));
    n = send(fd, "PING\n", 5, 0);
    if (n == -1)
        sl_narrate("send(fd %d, 5 bytes) -> -1 %s", fd, sl_errno(errno));
    else
        sl_narrate("send(fd %d, 5 bytes) -> %zd", fd, n);
}

/* recv() failed or met EOF: the kernel's news of the peer. Never returns. */
static _Noreturn void connection_over(struct answer_wait *w, ssize_t n, int error)
{
    double elapsed = sl_now() - w->last_heard;
    if (n == 0)
        sl_narrate("recv(fd %d) -> 0: EOF, the peer closed the connection", w->fd);
    else
        sl_narrate("recv(fd %d) -> -1 %s", w->fd, sl_errno(error));
    if (n == -1 && error == ETIMEDOUT)
        declare_dead(elapsed, kernel_remedy(&w->settings->remedies), sl_errno_name(error));
    if (n == -1 && error != ECONNRESET) {
        errno = error;
        sl_fail_errno("recv");
    }
    if (w->settings->probe)
        probe_dead_peer(w->fd);
    if (n == 0)
        declare_dead(elapsed, "EOF", "closed without answering");
    declare_dead(elapsed, "reset", sl_errno_name(error));
}

/* One line from the server: 1 the answer (printed), 0 a PONG. */
static int take_answer(const char *line)
{
    if (strcmp(line, "PONG") == 0) {
        sl_narrate("PONG: the server is alive, just not done");
        return 0;
    }
    if (after_prefix(line, ERROR_PREFIX) != NULL)
        sl_fail("the server refused the request: %s", line);
    if (after_prefix(line, ANSWER_PREFIX) == NULL)
        sl_fail("the server sent a line this protocol does not have: '%.40s'", line);
    printf("%s\n", line);
    fflush(stdout);
    return 1;
}

int connect_with_remedies(const struct client_settings *settings)
{
    const struct remedies *r = &settings->remedies;
    char why[256];
    int fd = connect_to_server(settings->host, settings->port, why, sizeof why);
    if (fd == -1)
        sl_fail("%s", why);
    if (r->keep_idle > 0 &&
        enable_keepalive(fd, r->keep_idle, r->keep_interval, r->keep_count) == -1)
        sl_fail_errno("--keepalive: setsockopt");
    if (r->user_timeout_ms > 0 && set_user_timeout(fd, r->user_timeout_ms) == -1)
        sl_fail_errno("--user-timeout: setsockopt TCP_USER_TIMEOUT");
    return fd;
}

void send_request(int fd, const char *text)
{
    char line[LINE_MAX_BYTES];
    snprintf(line, sizeof line, REQUEST_PREFIX "%s", text);
    if (send_line(fd, line) == -1)
        sl_fail_errno("send");
}
