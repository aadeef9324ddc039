/* client.c: chapter 2, a client for the fixed-length echo server.
 *
 * Pads each line of stdin (or each given text) with spaces to msglen bytes,
 * sends it with send_message(), reads exactly one reply's worth back with
 * recv_message() (never more: the next reply stays in the kernel), and
 * prints it without the padding. A reply cut short ends the client: it can
 * do nothing with 7 bytes of a 32-byte message.
 *
 * By default each send() and recv() waits as long as the server takes.
 * With a timeout (chapter 1's set_timeouts: SO_RCVTIMEO, SO_SNDTIMEO), each
 * wait is bounded, and the client gives up with exit status 3.
 *
 * Usage: 02-fixed-length client [--host H] [--port N] [--msglen N] [--timeout SEC]
 *                               [--message TEXT]... [--recv-size N] [--chunk N]
 * See also: message.c (the two loops), server.c, ../01-blocking/sockets.c
 *           (connect_to_server, set_timeouts), socket(7) (SO_RCVTIMEO).
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

static long next_message(const struct client_settings *settings, int number, char *text);
static void send_part_and_close(int fd, const char *text,
                                const struct client_settings *settings);
static _Noreturn void give_up(const char *call, double timeout);

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
    if (settings->timeout > 0 && set_timeouts(fd, settings->timeout) == -1)
        sl_fail_errno("setsockopt");
    return fd;
}

/* Sends one padded message and prints the reply; exits if the connection
 * breaks (1) or the wait for the reply runs out (3). */
void exchange(int fd, const char *text, char *answer, const struct client_settings *settings)
{
    size_t msglen = settings->message.msglen;
    if (send_message(fd, text, msglen, &settings->message) == -1)
        give_up("send", settings->timeout);
    ssize_t got = recv_message(fd, answer, &settings->message);
    if (got == -1)
        give_up("recv", settings->timeout);
    if ((size_t)got < msglen)
        sl_fail("recv: connection broken after %zd of %zu bytes", got, msglen);
    print_reply(answer, msglen);
}

/* A send() or recv() whose timeout ran out fails with EAGAIN (EWOULDBLOCK
 * on some systems): exit 3, naming the wait. Any other errno: exit 1. */
static _Noreturn void give_up(const char *call, double timeout)
{
    if ((errno == EAGAIN || errno == EWOULDBLOCK) && strcmp(call, "send") == 0)
        sl_fail_status(EXIT_NO_ANSWER, "send: the server took nothing for %g s (--timeout)",
                       timeout);
    if (errno == EAGAIN || errno == EWOULDBLOCK)
        sl_fail_status(EXIT_NO_ANSWER, "recv: no answer within %g s (--timeout)", timeout);
    sl_fail_errno(call);
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
        give_up("send", settings->timeout);
    close(fd);
    sl_narrate("close(fd %d) after %lld of %zu bytes, on purpose (--break-after)", fd,
               settings->break_after, settings->message.msglen);
}
