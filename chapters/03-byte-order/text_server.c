/* text_server.c: chapter 3, the sum server, text requests (--text).
 *
 * The same sums as decimal lines: one number per line, an empty line to end
 * the request, the sum as a line back. Text has no byte order (each digit is
 * one byte) but has no sizes up front either: the server looks for '\n' in
 * what arrived, keeping at most one line's worth, so a peer that never sends
 * one costs SUM_MAX_LINE bytes, not memory without end. Every byte of a line
 * is checked, a NUL included: a line is its bytes up to '\n', not a C string.
 *
 * Usage: 03-byte-order server --text [--bind ADDR] [--port N] [--once]
 * See also: server.c (the connections, the binary protocol), wire.c
 *           (sum_parse_int64), README.md ("Text or binary").
 */
#include "byteorder.h"

#include "../01-blocking/sockets.h"
#include "narrate.h"
#include "wire.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

struct line_reader {
    int fd;
    char data[512];
    size_t start, end;      /* data[start, end) arrived and is not used yet */
};

enum line_result { LINE_OK, LINE_EOF, LINE_TOO_LONG, LINE_ERROR };

static enum line_result read_line(struct line_reader *reader, char *line, size_t *length);
static void reply_unfinished(int fd, enum line_result got, size_t length, int line_number);
static int parse_line(int fd, const char *line, size_t length, int line_number, int64_t *number);
static void reply_text_error(int fd, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

/* Reads decimal lines up to an empty one and answers with the sum's line. */
void serve_text_request(int fd)
{
    struct line_reader reader = { .fd = fd, .start = 0, .end = 0 };
    char line[SUM_MAX_LINE + 1];
    int64_t sum = 0, number;
    size_t length = 0;
    for (int line_number = 1;; line_number++) {
        enum line_result got = read_line(&reader, line, &length);
        if (got != LINE_OK) {
            reply_unfinished(fd, got, length, line_number);
            return;
        }
        if (length == 0)
            break;
        if (line_number > SUM_MAX_COUNT) {
            reply_text_error(fd, "more than %d numbers", SUM_MAX_COUNT);
            return;
        }
        if (parse_line(fd, line, length, line_number, &number) == -1)
            return;
        if (sum_add_checked(sum, number, &sum) == -1) {
            reply_text_error(fd, "the sum leaves the signed 64-bit range at line %d",
                             line_number);
            return;
        }
    }
    char reply[32];
    int reply_length = snprintf(reply, sizeof reply, "%" PRId64 "\n", sum);
    sl_narrate("reply: \"%" PRId64 "\\n\" (%d bytes)", sum, reply_length);
    send_all(fd, reply, (size_t)reply_length, NULL);
}

/* The request did not come to its empty line: the error reply that says
 * why (none when recv failed: there is nobody to tell). */
static void reply_unfinished(int fd, enum line_result got, size_t length, int line_number)
{
    if (got == LINE_TOO_LONG)
        reply_text_error(fd, "line %d is longer than %d characters", line_number, SUM_MAX_LINE);
    else if (got == LINE_EOF && length > 0)
        reply_text_error(fd, "the request ended in the middle of line %d, "
                         "without its empty line", line_number);
    else if (got == LINE_EOF)
        reply_text_error(fd, "the request ended after %s, without its empty line",
                         sl_plural(line_number - 1, "line"));
}

/* LINE (LENGTH bytes) as a number, or an error reply: 0, or -1. */
static int parse_line(int fd, const char *line, size_t length, int line_number, int64_t *number)
{
    char shown[SUM_MAX_LINE + 1];
    sum_printable(shown, sizeof shown, line, length);
    switch (sum_parse_int64(line, length, number)) {
    case SUM_PARSE_NOT_A_NUMBER:
        reply_text_error(fd, "line %d: '%s' is not a whole number", line_number, shown);
        return -1;
    case SUM_PARSE_OUT_OF_RANGE:
        reply_text_error(fd, "line %d: '%s' is outside the signed 64-bit range", line_number,
                         shown);
        return -1;
    case SUM_PARSE_OK:
        break;
    }
    sl_narrate("line %d: \"%s\\n\" (%zu bytes) -> %" PRId64, line_number, shown, length + 1,
               *number);
    return 0;
}

/* The next whole line waiting in the reader, without its '\n' (or a '\r'
 * before it), into LINE: 1, 0 if no whole line is there yet, -1 too long. */
static int take_line(struct line_reader *reader, char *line, size_t *length)
{
    char *first = reader->data + reader->start;
    size_t waiting = reader->end - reader->start;
    char *newline = memchr(first, '\n', waiting);
    if (newline == NULL)
        return waiting > SUM_MAX_LINE + 1 ? -1 : 0;     /* + 1: room for a '\r' */
    *length = (size_t)(newline - first);
    if (*length > 0 && first[*length - 1] == '\r')
        (*length)--;
    if (*length > SUM_MAX_LINE)
        return -1;
    memcpy(line, first, *length);
    line[*length] = '\0';
    reader->start += (size_t)(newline - first) + 1;
    return 1;
}

/* The next line into LINE (SUM_MAX_LINE + 1 bytes) and its length, which
 * counts every byte (a NUL is a byte like any other). LINE_EOF leaves what
 * came of an unfinished line in LINE. */
static enum line_result read_line(struct line_reader *reader, char *line, size_t *length)
{
    for (;;) {
        int found = take_line(reader, line, length);
        if (found != 0)
            return found == 1 ? LINE_OK : LINE_TOO_LONG;
        size_t waiting = reader->end - reader->start;
        memmove(reader->data, reader->data + reader->start, waiting);
        reader->start = 0;
        reader->end = waiting;
        ssize_t n = recv(reader->fd, reader->data + reader->end,
                         sizeof reader->data - reader->end, 0);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1) {
            sl_narrate("recv(fd %d) -> -1 %s", reader->fd, sl_errno(errno));
            return LINE_ERROR;
        }
        if (n == 0) {
            sl_narrate("recv(fd %d) -> 0: the peer closed its side", reader->fd);
            *length = waiting < SUM_MAX_LINE ? waiting : SUM_MAX_LINE;
            memcpy(line, reader->data, *length);
            line[*length] = '\0';
            return LINE_EOF;
        }
        sl_narrate("recv(fd %d) -> %s", reader->fd, sl_plural(n, "byte"));
        reader->end += (size_t)n;
    }
}

/* An error reply: one line that starts "error: ", which no number does. */
static void reply_text_error(int fd, const char *format, ...)
{
    char reply[8 + 200];
    memcpy(reply, "error: ", 7);
    va_list ap;
    va_start(ap, format);
    int length = vsnprintf(reply + 7, sizeof reply - 8, format, ap);
    va_end(ap);
    if (length < 0)
        return;
    size_t used = strlen(reply);
    sl_narrate("reply: %s", reply);
    reply[used] = '\n';
    send_all(fd, reply, used + 1, NULL);
}
