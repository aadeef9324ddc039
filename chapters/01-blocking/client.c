/* client.c: chapter 1, a line client for the echo server.
 *
 * Connects, then for each line sends it and reads back its echo before the
 * next. TCP does not keep the line in one piece: the echo may come back over
 * several recv() calls, so the client counts bytes, not calls. It also checks
 * that what came back is what it sent: a server that is not an echo server
 * (a banner, `nc -l`) is reported, not silently printed as if it were.
 *
 * Usage: 01-blocking client [--host H] [--port N] [--message TEXT]... [--timeout SEC]
 * See also: sockets.c (connect_to_server, send_all), server.c, recv(2).
 */
#include "blocking.h"

#include "narrate.h"
#include "sockets.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

static void echo_messages(int fd, const struct client_settings *settings);
static void echo_stdin(int fd);

/* The receive timeout in force, for the message when it expires. */
static double timeout_seconds;

int run_client(const struct client_settings *settings)
{
    int fd = connect_or_exit(settings->host, settings->port);
    /* SO_RCVTIMEO makes a blocking recv() give up with EAGAIN, so a server
     * that accepted and then went silent can't hold us forever. */
    timeout_seconds = settings->timeout;
    if (settings->timeout > 0 && set_timeouts(fd, settings->timeout) == -1)
        sl_fail_errno("setsockopt SO_RCVTIMEO");
    if (settings->message_count > 0)
        echo_messages(fd, settings);
    else
        echo_stdin(fd);
    /* Closing sends FIN: the server's recv returns 0 and it moves on. */
    close(fd);
    sl_narrate("close(fd %d)", fd);
    return SL_EXIT_OK;
}

int connect_or_exit(const char *host, int port)
{
    char why[256];
    int fd = connect_to_server(host, port, why, sizeof why);
    if (fd == -1)
        sl_fail("%s", why);
    return fd;
}

/* Reads back exactly LENGTH bytes, the echo of SENT, and prints them: the
 * server echoes every byte, but may return them over several recv calls. */
void read_echo(int fd, const char *sent, size_t length)
{
    char buffer[4096];
    size_t received = 0;
    while (received < length) {
        size_t want = length - received < sizeof buffer ? length - received : sizeof buffer;
        ssize_t n = recv(fd, buffer, want, 0);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            sl_narrate("recv(fd %d) -> -1 %s: the timeout expired", fd, sl_errno(errno));
            sl_fail_status(EXIT_NO_ANSWER, "recv: no answer within %g s (--timeout)",
                           timeout_seconds);
        }
        if (n == -1)
            sl_fail_errno("recv");
        if (n == 0)
            sl_fail("recv: the server closed the connection after %zu of %zu bytes", received,
                    length);
        sl_narrate("recv(fd %d) -> %s", fd, sl_plural(n, "byte"));
        if (memcmp(buffer, sent + received, (size_t)n) != 0)
            sl_fail("recv: the reply is not an echo of what was sent (from byte %zu on): "
                    "is the server an echo server?", received);
        fwrite(buffer, 1, (size_t)n, stdout);
        received += (size_t)n;
    }
    fflush(stdout);
}

/* Sends one line and prints its echo, in pieces of at most 4 KiB. Sending a
 * long line whole before reading anything would deadlock: the echo fills our
 * receive buffer, then the server's send buffer, and the server stops reading
 * while we are still sending (chapter 6 shows this). */
void echo_line(int fd, const char *line, size_t length)
{
    const size_t piece = 4096;
    for (size_t done = 0; done < length; done += piece) {
        size_t size = length - done < piece ? length - done : piece;
        if (send_all(fd, line + done, size, NULL) == -1)
            sl_fail_errno("send");
        read_echo(fd, line + done, size);
    }
}

static void echo_messages(int fd, const struct client_settings *settings)
{
    for (int i = 0; i < settings->message_count; i++) {
        size_t length = strlen(settings->messages[i]);
        char *line = malloc(length + 1);
        if (line == NULL)
            sl_fail_errno("malloc");
        memcpy(line, settings->messages[i], length);
        line[length] = '\n';
        echo_line(fd, line, length + 1);
        free(line);
    }
}

static void echo_stdin(int fd)
{
    char *line = NULL;
    size_t capacity = 0;
    ssize_t length;
    while ((length = getline(&line, &capacity, stdin)) != -1)
        echo_line(fd, line, (size_t)length);
    free(line);
    if (ferror(stdin))
        sl_fail_errno("reading stdin");
}
