/* client.c: chapter 6's client: connect without blocking, then read while
 * it writes.
 *
 * One select() watches stdin and the socket at once, so a line typed while
 * the server talks, or the other way round, never waits: whatever is ready
 * gets done. Once the input is over and sent, shutdown(SHUT_WR) tells the
 * server, and the client reads until the server closes. With --timeout SEC
 * it gives up (exit 3) when the server keeps it waiting that long: taking
 * nothing it sends, or not finishing SEC seconds after the input ended.
 *
 * Usage: 06-select client [--host H] [--port N] [--message TEXT]... [--timeout SEC]
 *        06-select client --bytes N [--blocking] [--stall SEC]   (stream.c)
 * See also: connect.c (the non-blocking connect), stream.c, select(2),
 *           shutdown(2).
 */
#include "nonblocking.h"

#include "narrate.h"
#include "proc.h"

#include <errno.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define LINE_BUFFER 65536

struct line_session {
    int fd;
    const struct client_settings *settings;
    char out[LINE_BUFFER];      /* to send to the server */
    size_t out_length;
    int input_done;             /* stdin (or the --message list) is over */
    int shut_down;              /* shutdown(SHUT_WR) done */
    int next_message;
    long long received;
    double last_sent, input_ended;     /* sl_now(), for --timeout */
};

static void queue_messages(struct line_session *s);
static void read_stdin(struct line_session *s);
static void send_queued(struct line_session *s);
static int receive_and_print(struct line_session *s);
static struct timeval *time_left(const struct line_session *s, struct timeval *timeout);
static _Noreturn void give_up(const struct line_session *s);

void run_line_session(int fd, const struct client_settings *settings)
{
    static struct line_session s;
    s = (struct line_session){ .fd = fd, .settings = settings, .last_sent = sl_now() };
    int from_stdin = settings->message_count == 0;
    for (;;) {
        if (!from_stdin && !s.input_done)
            queue_messages(&s);
        if (s.input_done && s.out_length == 0 && !s.shut_down) {
            if (shutdown(fd, SHUT_WR) == -1)
                sl_fail_errno("shutdown");
            sl_narrate("shutdown(fd %d, SHUT_WR) -> 0: no more from us", fd);
            s.shut_down = 1;
            s.input_ended = sl_now();
        }
        fd_set readable, writable;
        FD_ZERO(&readable);
        FD_ZERO(&writable);
        FD_SET(fd, &readable);
        if (from_stdin && !s.input_done && s.out_length < sizeof s.out)
            FD_SET(STDIN_FILENO, &readable);
        if (s.out_length > 0)
            FD_SET(fd, &writable);
        struct timeval timeout;
        int ready = select(fd + 1, &readable, &writable, NULL, time_left(&s, &timeout));
        if (ready == -1 && errno == EINTR)
            continue;
        if (ready == -1)
            sl_fail_errno("select");
        if (ready == 0)
            give_up(&s);
        if (FD_ISSET(STDIN_FILENO, &readable))
            read_stdin(&s);
        if (FD_ISSET(fd, &writable))
            send_queued(&s);
        if (FD_ISSET(fd, &readable) && receive_and_print(&s))
            return;
    }
}

int run_client(const struct client_settings *settings)
{
    int fd = connect_nonblocking(settings->host, settings->port, settings->connect_timeout);
    narrate_buffer_sizes(fd);
    if (settings->bytes >= 0)
        run_stream(fd, settings);
    else
        run_line_session(fd, settings);
    close(fd);
    sl_narrate("close(fd %d)", fd);
    return SL_EXIT_OK;
}

/* --timeout: the client waits on the server only while it has bytes the
 * server has not taken, or once its input is over; waiting for the user
 * to type is not the server's fault. NULL: no limit. */
static struct timeval *time_left(const struct line_session *s, struct timeval *timeout)
{
    double limit = s->settings->timeout;
    if (limit <= 0 || (!s->shut_down && s->out_length == 0))
        return NULL;
    double left = (s->shut_down ? s->input_ended : s->last_sent) + limit - sl_now();
    if (left < 0)
        left = 0;
    timeout->tv_sec = (time_t)left;
    timeout->tv_usec = (suseconds_t)((left - (double)timeout->tv_sec) * 1e6);
    return timeout;
}

static _Noreturn void give_up(const struct line_session *s)
{
    double limit = s->settings->timeout;
    if (!s->shut_down)
        sl_fail_status(EXIT_STALLED, "send: the server took nothing for %g s (--timeout)",
                       limit);
    if (s->received == 0)
        sl_fail_status(EXIT_STALLED, "recv: no answer within %g s (--timeout)", limit);
    sl_fail_status(EXIT_STALLED, "recv: the server did not close within %g s of our input's "
                   "end (--timeout); %s received", limit, sl_plural(s->received, "byte"));
}

static void queue_messages(struct line_session *s)
{
    const struct client_settings *settings = s->settings;
    while (s->next_message < settings->message_count) {
        const char *text = settings->messages[s->next_message];
        size_t length = strlen(text);
        if (length + 1 > sizeof s->out - s->out_length)
            return;     /* the rest once this much has gone (main.c bounds each one) */
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
    if (s->out_length == 0)
        s->last_sent = sl_now();    /* --timeout: the server's clock starts now */
    s->out_length += (size_t)n;
}

static void send_queued(struct line_session *s)
{
    ssize_t n = send(s->fd, s->out, s->out_length, 0);
    if (n == -1 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
        return;
    if (n == -1)
        sl_fail_errno("send");
    sl_narrate("send(fd %d, %zu bytes) -> %zd", s->fd, s->out_length, n);
    memmove(s->out, s->out + n, s->out_length - (size_t)n);
    s->out_length -= (size_t)n;
    s->last_sent = sl_now();
}

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

/* 0 while the connection is open, 1 once the server closed it. */
static int receive_and_print(struct line_session *s)
{
    char buffer[4096];
    ssize_t n = recv(s->fd, buffer, sizeof buffer, 0);
    if (n == -1 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
        return 0;
    if (n == -1)
        sl_fail_errno("recv");
    if (n == 0) {
        sl_narrate("recv(fd %d) -> 0: the server closed the connection", s->fd);
        return 1;
    }
    sl_narrate("recv(fd %d) -> %zd bytes", s->fd, n);
    s->received += n;
    write_stdout(buffer, (size_t)n);
    return 0;
}
