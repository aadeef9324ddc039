/* client.c: chapter 2, a client for the fixed-length echo server.
 *
 * Pads each line of stdin (or each given text) with spaces to msglen bytes,
 * sends it with send_message(), reads exactly one reply's worth back with
 * recv_message() (never more: the next reply stays in the kernel), and
 * prints it without the padding. A reply cut short ends the client: it can
 * do nothing with 7 bytes of a 32-byte message.
 *
 * By default each recv() waits as long as the server takes. With a
 * timeout, SO_RCVTIMEO bounds each wait, and the client gives up with exit
 * status 3.
 *
 * Usage: 02-fixed-length client [--host H] [--port N] [--msglen N] [--timeout SEC]
 *                               [--message TEXT]... [--recv-size N] [--chunk N]
 * See also: message.c (the two loops), server.c, ../01-blocking/sockets.c
 *           (connect_to_server), socket(7) (SO_RCVTIMEO).
 */
#include "fixed_length.h"

#include "narrate.h"
#include "../01-blocking/sockets.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <unistd.h>

static void set_receive_timeout(int fd, double seconds);
static long next_message(const struct client_settings *settings, int number, char *text);
static void send_part_and_close(int fd, const char *text,
                                const struct client_settings *settings);

/* The largest message and its reply; static, so their size is ours to fix. */
static char message[MAX_MSGLEN], reply[MAX_MSGLEN];

int run_client(const struct client_settings *settings)
{
    size_t msglen = settings->message.msglen;
    int fd = open_connection(settings);
    long length;
    for (int number = 1; (length = next_message(settings, number, message)) != -1; number++) {
        memset(message + length, ' ', msglen - (size_t)length);
        if (settings->break_after >= 0) {
            send_part_and_close(fd, message, settings);
            return SL_EXIT_OK;
        }
        exchange(fd, message, reply, settings);
    }
    /* Closing sends FIN: the server's recv() returns 0 between two
     * messages, a clean goodbye. */
    close(fd);
    sl_narrate("close(fd %d)", fd);
    return SL_EXIT_OK;
}

/* Connects (chapter 1's connect_to_server), then sets the socket options
 * the settings ask for: the connected fd, or exit 1. */
int open_connection(const struct client_settings *settings)
{
    char why[256];
    int fd = connect_to_server(settings->host, settings->port, why, sizeof why);
    if (fd == -1)
        sl_fail("%s", why);
    if (settings->nodelay)
        disable_nagle(fd);
    if (settings->timeout > 0)
        set_receive_timeout(fd, settings->timeout);
    return fd;
}

/* Sends one padded message and prints the reply; exits if the connection
 * breaks (1) or the wait for the reply runs out (3). */
void exchange(int fd, const char *text, char *answer, const struct client_settings *settings)
{
    size_t msglen = settings->message.msglen;
    if (send_message(fd, text, msglen, &settings->message) == -1)
        sl_fail_errno("send");
    ssize_t got = recv_message(fd, answer, &settings->message);
    /* An expired receive timeout is EAGAIN (EWOULDBLOCK on some systems). */
    if (got == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
        sl_fail_status(EXIT_TIMEOUT, "recv: no answer within %g s (--timeout)",
                       settings->timeout);
    if (got == -1)
        sl_fail_errno("recv");
    if ((size_t)got < msglen)
        sl_fail("recv: connection broken after %zd of %zu bytes", got, msglen);
    print_reply(answer, msglen);
}

/* SO_RCVTIMEO makes a blocking recv() give up after SECONDS with nothing
 * received. It bounds each call, not the whole exchange, and not connect():
 * chapter 5 compares the ways to notice a peer that went silent. */
static void set_receive_timeout(int fd, double seconds)
{
    struct timeval limit;
    limit.tv_sec = (time_t)seconds;
    limit.tv_usec = (suseconds_t)((seconds - (double)limit.tv_sec) * 1e6);
    if (limit.tv_sec == 0 && limit.tv_usec == 0)
        limit.tv_usec = 1;      /* zero would mean "wait forever" */
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit) == -1)
        sl_fail_errno("setsockopt SO_RCVTIMEO");
    sl_narrate("setsockopt(SO_RCVTIMEO, %g s) -> 0", seconds);
}

/* Reads one line of stdin, without its newline, into LINE (room for MAX
 * bytes), reading no further than MAX + 1 bytes of it. Its length; -1 at the
 * end of input; -2 when the line is longer than MAX. */
static long read_line(char *line, size_t max)
{
    size_t length = 0;
    int c;
    while ((c = getc(stdin)) != EOF && c != '\n') {
        if (length == max)
            return -2;
        line[length++] = (char)c;
    }
    if (ferror(stdin))
        sl_fail_errno("reading stdin");
    if (c == EOF && length == 0)
        return -1;
    return (long)length;
}

/* The text of message NUMBER (from 1), unpadded, into TEXT: its length, or
 * -1 when there are no more. A stdin line that does not fit is refused
 * before any byte of it is sent. */
static long next_message(const struct client_settings *settings, int number, char *text)
{
    if (settings->message_count > 0) {
        if (number > settings->message_count)
            return -1;
        size_t length = strlen(settings->messages[number - 1]);
        memcpy(text, settings->messages[number - 1], length);   /* main.c checked it fits */
        return (long)length;
    }
    long length = read_line(text, settings->message.msglen);
    if (length == -2)
        sl_usage_error("line %d of stdin is longer than --msglen (%s)", number,
                       sl_plural((long long)settings->message.msglen, "byte"));
    return length;
}

/* The padding is not part of the text: print the reply without it. (So a
 * line's own trailing spaces are lost too: one cost of padding.) */
void print_reply(const char *text, size_t msglen)
{
    size_t end = msglen;
    while (end > 0 && text[end - 1] == ' ')
        end--;
    fwrite(text, 1, end, stdout);
    putchar('\n');
    fflush(stdout);
}

/* Breaking off on purpose: the first message stops after break_after bytes
 * and the connection closes, to show the server's side of a peer that
 * vanishes mid-message. */
static void send_part_and_close(int fd, const char *text, const struct client_settings *settings)
{
    if (send_message(fd, text, (size_t)settings->break_after, &settings->message) == -1)
        sl_fail_errno("send");
    close(fd);
    sl_narrate("close(fd %d) after %lld of %zu bytes, on purpose (--break-after)", fd,
               settings->break_after, settings->message.msglen);
}
