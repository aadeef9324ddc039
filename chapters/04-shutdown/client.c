/* client.c: chapter 4, the recipe's client: send, shutdown(SHUT_WR), read
 * the reply to EOF.
 *
 * The client sends its payload and the end marker, then calls
 * shutdown(SHUT_WR): its kernel sends a FIN, "no more bytes from me", and
 * the socket stays open for reading. Whether or not the marker was right,
 * the server now knows the message is over, and can answer, even with an
 * error. The reply has no marker: its end is the server's FIN, the client's
 * recv() returning 0. The two ways to get it wrong are options: close()
 * instead of shutdown() (the reply has nowhere to go), or no shutdown at all
 * (then only a right marker ends the message).
 *
 * Usage: 04-shutdown client [PAYLOAD] [--marker STR] [--close | --no-shutdown]
 *                           [--timeout SEC] [--max-reply N] [--length-prefix]
 * See also: server.c (the other end), length_prefix.c (--length-prefix),
 *           ../01-blocking/sockets.c (connect_to_server, send_all),
 *           shutdown(2), close(2), recv(2).
 */
#include "shutdown.h"

#include "narrate.h"
#include "proc.h"
#include "../01-blocking/sockets.h"

#include <errno.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

int run_client(const struct client_settings *settings)
{
    char why[256];
    int fd = connect_to_server(settings->host, settings->port, why, sizeof why);
    if (fd == -1)
        sl_fail("%s", why);
    if (settings->length_prefix)
        framed_exchange(fd, settings);
    else
        marker_exchange(fd, settings);
    if (settings->finish != FINISH_CLOSE) {
        close(fd);
        sl_narrate("close(fd %d)", fd);
    }
    end_reply_line(1);
    return SL_EXIT_OK;
}

size_t marker_exchange(int fd, const struct client_settings *c)
{
    /* The bytes on the wire: the payload, then the marker, and nothing else. */
    if (send_all(fd, c->payload, c->payload_length, "the payload") == -1 ||
        send_all(fd, c->marker, c->marker_length, "the marker") == -1)
        sl_fail_errno("send");
    if (c->finish == FINISH_CLOSE) {
        /* Both directions end here: the server's reply has nowhere to go. */
        if (close(fd) == -1)
            sl_fail_errno("close");
        sl_narrate("close(fd %d) -> 0: gone before the reply; it will never be read", fd);
        return 0;
    }
    if (c->finish == FINISH_SHUTDOWN) {
        /* FIN to the server: its recv() returns 0. Our receiving side stays open. */
        if (shutdown(fd, SHUT_WR) == -1)
            sl_fail_errno("shutdown");
        sl_narrate("shutdown(fd %d, SHUT_WR) -> 0: done sending, still reading", fd);
    } else {
        sl_narrate("no shutdown(): waiting for the reply, my sending side still open");
    }
    /* A reply to a marked message ends only with the server's EOF. */
    double deadline = c->timeout > 0 ? sl_now() + c->timeout : 0;
    unsigned char buffer[65536];
    size_t total = 0, want = smaller(c->recv_size, sizeof buffer);
    for (;;) {
        size_t n = receive_reply(fd, buffer, want, deadline, c->timeout, total);
        if (n == 0) {
            sl_narrate("recv(fd %d) -> 0: EOF, the reply is complete (%s)", fd,
                       sl_plural((long long)total, "byte"));
            return total;
        }
        total += n;
        sl_narrate("recv(fd %d) -> %s (%zu so far)", fd, sl_plural((long long)n, "byte"), total);
        if (total > c->max_reply)
            sl_fail("recv: the reply is over the %zu-byte limit, and no EOF yet (--max-reply)",
                    c->max_reply);
        print_reply(buffer, n);
    }
}

/* ---- waiting for the reply, printing it ------------------------------------ */

/* The --timeout is over: say how it ended, close, exit EXIT_NO_REPLY. */
static _Noreturn void give_up(int fd, double timeout, size_t got, int polled)
{
    if (polled)
        sl_narrate("poll(fd %d) -> 0: nothing %swithin %g s", fd, got ? "more " : "", timeout);
    else
        sl_narrate("%g s have passed, and the reply goes on", timeout);
    close(fd);
    sl_narrate("close(fd %d)", fd);
    if (got == 0)
        sl_fail_status(EXIT_NO_REPLY, "recv: no reply within %g s (--timeout)", timeout);
    sl_fail_status(EXIT_NO_REPLY, "recv: the reply did not end within %g s (--timeout), "
                   "after %s", timeout, sl_plural((long long)got, "byte"));
}

size_t receive_reply(int fd, unsigned char *buffer, size_t wanted, double deadline,
                     double timeout, size_t got)
{
    for (;;) {
        /* The deadline is checked before each wait too: against a server
         * that never stops sending, poll() would never time out. */
        if (deadline > 0 && sl_now() >= deadline)
            give_up(fd, timeout, got, 0);
        int ready = wait_readable(fd, deadline);
        if (ready == -1)
            sl_fail_errno("poll");
        if (ready == 0)
            give_up(fd, timeout, got, 1);
        ssize_t n = recv(fd, buffer, wanted, 0);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1) {
            sl_narrate("recv(fd %d) -> -1 %s", fd, sl_errno(errno));
            sl_fail_errno("recv");
        }
        return (size_t)n;
    }
}

/* Whether the last reply byte printed ended a line (nothing printed: yes). */
static int reply_ends_line = 1;

/* The reply goes to stdout as it arrives: nothing the server sends is held
 * in memory here. stdio buffers it, and it is flushed once the reply is
 * complete, after the narration, so that the two do not mix on a terminal. */
void print_reply(const unsigned char *bytes, size_t length)
{
    if (length == 0)
        return;
    if (fwrite(bytes, 1, length, stdout) != length)
        sl_fail_errno("writing the reply to stdout");
    reply_ends_line = bytes[length - 1] == '\n';
}

/* The reply is the server's bytes exactly, and "a1234a1234" has no newline:
 * on a terminal, the shell's prompt would follow it on the same line. So a
 * terminal gets a newline after it; a pipe or a file gets the bytes alone. */
void end_reply_line(int only_on_terminal)
{
    if (!reply_ends_line && (!only_on_terminal || isatty(STDOUT_FILENO)))
        putchar('\n');
    reply_ends_line = 1;
    if (fflush(stdout) == EOF)
        sl_fail_errno("writing the reply to stdout");
}
