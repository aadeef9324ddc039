/* stream.c: chapter 6, the deadlock of a client that sends before it reads.
 *
 * --bytes N streams N bytes of a known pattern through the echo server and
 * checks every byte that comes back. The naive way (--blocking) sends
 * everything, then reads: once the buffers along the path are full, its
 * send() waits for the server, which waits for it to read, and nothing moves
 * again. The cure is on the client's side: put the socket in both sets of a
 * select() and do whichever it can, reading while it writes.
 *
 * Usage: 06-select client --bytes 64M [--blocking] [--stall SEC]
 * See also: client.c, pattern.c (the checker), select(2), socket(7)
 *           (SO_SNDBUF, SO_SNDTIMEO), README.md ("The deadlock").
 */
#include "nonblocking.h"

#include "narrate.h"
#include "pattern.h"
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/time.h>

struct stream {
    int fd;
    long long total, sent, received;
    int send_calls, recv_calls;
    long long next_send_mark, next_recv_mark;   /* narrate progress at each eighth */
    double stall;
    double started;
};

static void send_some(struct stream *st);
static int receive_some(struct stream *st);
static _Noreturn void report_stall(const struct stream *st, const char *waiting_in);
static struct timeval to_timeval(double seconds);

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
        struct timeval timeout = to_timeval(st->stall);
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
    struct timeval limit = to_timeval(st->stall);
    if (setsockopt(st->fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit) == -1 ||
        setsockopt(st->fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit) == -1)
        sl_fail_errno("setsockopt SO_SNDTIMEO");
    sl_narrate("blocking again, with SO_SNDTIMEO = SO_RCVTIMEO = %g s", st->stall);

    while (st->sent < st->total) {
        errno = 0;
        long long before = st->sent;
        send_some(st);
        if (st->sent == before && errno != EINTR) {
            sl_narrate("send(fd %d) -> -1 %s after %g s blocked", st->fd, sl_errno(errno),
                       st->stall);
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

void run_stream(int fd, const struct client_settings *settings)
{
    static struct stream st;
    st = (struct stream){ .fd = fd, .total = settings->bytes, .stall = settings->stall,
                          .started = sl_now() };
    if (settings->blocking)
        stream_blocking(&st);
    else
        stream_with_select(&st);
    printf("%lld bytes sent, %lld received and verified in %.2f s\n", st.sent, st.received,
           sl_now() - st.started);
    fflush(stdout);
}

/* The first two calls each way are narrated, then one line per eighth. */
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

static void send_some(struct stream *st)
{
    long long left = st->total - st->sent;
    size_t want = left < PATTERN_CHUNK ? (size_t)left : PATTERN_CHUNK;
    ssize_t n = send(st->fd, pattern_at(st->sent), want, 0);
    if (n == -1 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
        return;
    if (n == -1)
        sl_fail_errno("send");
    st->sent += n;
    narrate_progress(st, "send", (ssize_t)want, n, ++st->send_calls, st->sent,
                     &st->next_send_mark);
}

/* 0 while more is expected, 1 on EOF; exits 4 at a byte that is not the
 * pattern's. */
static int receive_some(struct stream *st)
{
    static unsigned char buffer[PATTERN_CHUNK];
    ssize_t n = recv(st->fd, buffer, sizeof buffer, 0);
    if (n == -1 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
        return 0;
    if (n == -1)
        sl_fail_errno("recv");
    if (n == 0)
        return 1;
    if (st->received + n > st->total)
        sl_fail("recv: the echo is longer than the %lld bytes sent", st->total);
    long long where;
    unsigned got, wanted;
    if (pattern_check(st->received, buffer, (size_t)n, &where, &got, &wanted) == -1)
        sl_fail_status(EXIT_MISMATCH, "byte %lld of the echo is %u, expected %u", where, got,
                       wanted);
    st->received += n;
    narrate_progress(st, "recv", (ssize_t)sizeof buffer, n, ++st->recv_calls, st->received,
                     &st->next_recv_mark);
    return 0;
}

static _Noreturn void report_stall(const struct stream *st, const char *waiting_in)
{
    fflush(stdout);
    sl_fail_status(EXIT_STALLED, "stalled in %s: %g s, sent %lld of %lld bytes, "
                   "received %lld", waiting_in, st->stall, st->sent, st->total, st->received);
}

static struct timeval to_timeval(double seconds)
{
    struct timeval tv;
    tv.tv_sec = (time_t)seconds;
    tv.tv_usec = (suseconds_t)((seconds - (double)tv.tv_sec) * 1e6);
    return tv;
}

/* What the kernel gives this socket: the most that can sit on each side
 * without the program reading or writing. Linux reports (and uses) double
 * what a program sets, and grows both as a connection runs (autotuning). */
void narrate_buffer_sizes(int fd)
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
