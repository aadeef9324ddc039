/* byteorder.c: chapter 3, binary data and byte order.
 *
 * Integers on the wire. `show` prints how this machine keeps integers in
 * memory next to network byte order (big-endian). The sum service sends
 * numbers to a server that adds them up, either as binary (a 4-byte count,
 * then 8 bytes per number, all big-endian) or as decimal text lines, and
 * narrates every byte. `--wrong-order` makes the client forget htonl() and
 * its 64-bit cousin, to show what the server then reads.
 *
 * Usage: 03-byte-order show [INTEGER...]
 *        03-byte-order server [--bind ADDR] [--port N] [--once] [--text]
 *        03-byte-order client [--host H] [--port N] [--text] [--hexdump]
 *                             [--wrong-order | --wrong-order-numbers] [NUMBER...]
 *        03-byte-order demo
 * See also: chapters/03-byte-order/README.md (the lesson and the wire format),
 *           wire.c (the pure encoding and decoding), byteorder(3), endian(3).
 */
#include "cli.h"
#include "narrate.h"
#include "proc.h"
#include "../01-blocking/sockets.h"
#include "wire.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define DEFAULT_PORT 9003
#define EXIT_SERVER_ERROR 3         /* the client got an error reply */
#define CLIENT_MAX_NUMBERS 100000   /* more than the server takes: so its cap shows */
#define CLIENT_MAX_LINE 4096        /* a stdin line the client reads, newline included */
#define TEXT_REPLY_MAX 512          /* a text reply line, newline included */
#define DRAIN_SECONDS 2             /* how long a server waits for a client to close */
#define DRAIN_MAX_BYTES 65536       /* how much it reads and discards meanwhile */

/* Temporary, until this chapter's layout is redone: open_listener or exit 1. */
static int listen_or_exit(const char *address, int port, int backlog)
{
    char why[256];
    int fd = open_listener(address, port, backlog, 1, why, sizeof why);
    if (fd == -1)
        sl_fail("%s", why);
    return fd;
}

/* Temporary, until this chapter's layout is redone: connect_to_server or exit 1. */
static int connect_or_exit(const char *host, int port)
{
    char why[256];
    int fd = connect_to_server(host, port, why, sizeof why);
    if (fd == -1)
        sl_fail("%s", why);
    return fd;
}

static struct {
    const char *bind_address;
    const char *host;
    int port;
    int once;
    int text;
    int hexdump;
    int wrong_order;
    int wrong_order_numbers;
    int unchecked;
    int stop_after;
} opt = { "127.0.0.1", "localhost", DEFAULT_PORT, 0, 0, 0, 0, 0, 0, -1 };

static const struct sl_option options[] = {
    { "--bind", SL_TEXT, &opt.bind_address, 0, 0, "server", "ADDR",
      "address to listen on: 127.0.0.1 (default), ::1, 0.0.0.0 or ::" },
    { "--port", SL_INT, &opt.port, 0, 65535, "server client", "N",
      "TCP port (default 9003; server: 0 picks a free one)" },
    { "--once", SL_FLAG, &opt.once, 0, 0, "server", NULL, "serve one client, then exit" },
    { "--text", SL_FLAG, &opt.text, 0, 0, "server client", NULL,
      "decimal lines instead of binary (both sides must agree)" },
    { "--host", SL_TEXT, &opt.host, 0, 0, "client", "H", "server name or address (default localhost)" },
    { "--hexdump", SL_FLAG, &opt.hexdump, 0, 0, "client", NULL,
      "print every byte sent (>) and received (<), field by field" },
    { "--wrong-order", SL_FLAG, &opt.wrong_order, 0, 0, "client", NULL,
      "the mistake: send the count and the numbers in host order (no htonl)" },
    { "--wrong-order-numbers", SL_FLAG, &opt.wrong_order_numbers, 0, 0, "client", NULL,
      "the same mistake for the numbers only: the count is right" },
    { "--unchecked", SL_FLAG, &opt.unchecked, 0, 0, "client", NULL,
      "with --text: send the lines as given, to see the server's checks" },
    { "--stop-after", SL_INT, &opt.stop_after, 0, 1000000000, "client", "N",
      "send only the first N bytes of the request, then shutdown(SHUT_WR)" },
    { NULL, SL_FLAG, NULL, 0, 0, NULL, NULL, NULL }
};

static const struct sl_role roles[] = {
    { "show", "[INTEGER...]", 64,
      "Prints this machine's byte order, and each integer's bytes in memory and in network order." },
    { "server", NULL, 0, "The sum server: reads one request per connection, replies with the sum." },
    { "client", "[NUMBER...]", CLIENT_MAX_NUMBERS,
      "Sends the numbers (or stdin's lines) to the sum server and prints the sum." },
    { "demo", NULL, 0, "The same numbers as text and as binary, then the wrong-order mistake." },
    { NULL, NULL, 0, NULL }
};

static const struct sl_program program = {
    "03-byte-order", "binary data and byte order: a sum service in text and in binary",
    roles, options,
    "  3 (client) the server answered with an error reply\n"
    "\n"
    "binary wire format (every integer big-endian, signed ones two's complement):\n"
    "  request  count (4 bytes, unsigned), then count numbers (8 bytes each, signed)\n"
    "  reply    status 0, then the sum (8 bytes, signed): 9 bytes\n"
    "           or status 1..3, then a length byte L, then L bytes of text: an error\n"
    "           1 count over 10000, 2 the sum leaves the signed 64-bit range,\n"
    "           3 the request stopped short\n"
    "text wire format (--text):\n"
    "  request  one decimal number per line (at most 64 characters), then an empty line\n"
    "  reply    the sum as a decimal line, or a line that starts with \"error: \"\n"
    "the server takes one request per connection, at most 10000 numbers, and\n"
    "reports an overflow at the first number that takes the running sum out of range.\n"
};

/* ---- bytes, for people ----------------------------------------------------- */

/* "00 00 00 03" for LENGTH bytes, into out (3 * LENGTH bytes at least). */
static const char *hex_bytes(const unsigned char *bytes, size_t length, char *out)
{
    char *end = out;
    *end = '\0';
    for (size_t i = 0; i < length; i++)
        end += sprintf(end, "%s%02x", i == 0 ? "" : " ", bytes[i]);
    return out;
}

/* "little-endian" or "big-endian": what this machine really does, found by
 * storing a known integer and looking at its first byte in memory. */
static const char *host_byte_order(void)
{
    uint32_t probe = 0x01020304;
    unsigned char first;
    memcpy(&first, &probe, 1);
    return first == 0x04 ? "little-endian" : first == 0x01 ? "big-endian" : "mixed-endian";
}

/* One field of a --hexdump: "> 00 00 00 03    count 3", 8 bytes a row. */
static void dump_field(char direction, const unsigned char *bytes, size_t length, const char *note)
{
    char hex[3 * 8];
    for (size_t row = 0; row < length || (row == 0 && length == 0); row += 8) {
        size_t n = length - row < 8 ? length - row : 8;
        printf("%c %-24s %s\n", direction, hex_bytes(bytes + row, n, hex), row == 0 ? note : "");
    }
}

/* Text in a --hexdump: 8 bytes a row, each row's characters beside it. */
static void dump_text(char direction, const unsigned char *bytes, size_t length)
{
    char hex[3 * 8], shown[8 * 2 + 1];
    for (size_t row = 0; row < length; row += 8) {
        size_t n = length - row < 8 ? length - row : 8, used = 0;
        for (size_t i = row; i < row + n; i++) {
            if (bytes[i] == '\n' || bytes[i] == '\r') {
                shown[used++] = '\\';
                shown[used++] = bytes[i] == '\n' ? 'n' : 'r';
            } else {
                shown[used++] = (bytes[i] >= ' ' && bytes[i] <= '~') ? (char)bytes[i] : '.';
            }
        }
        shown[used] = '\0';
        printf("%c %-24s \"%s\"\n", direction, hex_bytes(bytes + row, n, hex), shown);
    }
}

/* ---- show ------------------------------------------------------------------ */

static void show_row(int64_t value)
{
    unsigned char memory[8], network[8];
    size_t size;
    char hex_memory[3 * 8], hex_network[3 * 8], digits[24];

    if (value >= INT32_MIN && value <= INT32_MAX) {
        int32_t narrow = (int32_t)value;
        uint32_t converted = htonl((uint32_t)narrow);
        size = sizeof narrow;
        memcpy(memory, &narrow, size);          /* the bytes as this machine keeps them */
        memcpy(network, &converted, size);      /* the same after htonl() */
    } else {
        uint64_t converted = sum_host_to_network_64((uint64_t)value);
        size = sizeof value;
        memcpy(memory, &value, size);
        memcpy(network, &converted, size);
    }
    int text_size = snprintf(digits, sizeof digits, "%" PRId64, value);
    printf("%-20s  %-23s  %-23s  %4d  %6zu\n", digits, hex_bytes(memory, size, hex_memory),
           hex_bytes(network, size, hex_network), text_size, size);
}

static int run_show(int argc, char **argv)
{
    static const int64_t defaults[] = { 1, 258, 16777216, INT64_C(0x123456789abcdef0) };
    int64_t values[64];
    int count = 0;

    for (int i = 0; i < argc; i++) {
        switch (sum_parse_int64(argv[i], strlen(argv[i]), &values[count])) {
        case SUM_PARSE_OK:
            count++;
            break;
        case SUM_PARSE_OUT_OF_RANGE:
            sl_usage_error("'%s' is outside the signed 64-bit range", argv[i]);
        case SUM_PARSE_NOT_A_NUMBER:
            sl_usage_error("'%s' is not a whole number", argv[i]);
        }
    }
    if (argc == 0) {
        count = (int)(sizeof defaults / sizeof defaults[0]);
        memcpy(values, defaults, sizeof defaults);
    }
    const char *order = host_byte_order();
    printf("this machine is %s: it stores %s byte first\n", order,
           strcmp(order, "little-endian") == 0 ? "the least significant" : "the most significant");
    printf("network byte order is big-endian: the most significant byte first\n\n");
    printf("%-20s  %-23s  %-23s  %4s  %6s\n", "integer", "in memory here", "in network order",
           "text", "binary");
    for (int i = 0; i < count; i++)
        show_row(values[i]);
    printf("\ntext: bytes of its decimal digits; binary: 4 bytes (int32_t) if it fits, else 8 (int64_t)\n");
    return SL_EXIT_OK;
}

/* ---- moving bytes ------------------------------------------------------------ */

/* recv() until LENGTH bytes arrived: LENGTH, fewer if the peer closed its
 * side first, or -1 with errno set. Binary fields have fixed sizes, so the
 * reader knows how much to wait for; one recv() may return part of it. */
static ssize_t recv_exactly(int fd, unsigned char *buffer, size_t length)
{
    size_t got = 0;
    while (got < length) {
        ssize_t n = recv(fd, buffer + got, length - got, 0);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1) {
            sl_narrate("recv(fd %d) -> -1 (%s)", fd, strerror(errno));
            return -1;
        }
        if (n == 0) {
            sl_narrate("recv(fd %d) -> 0: the peer closed its side (%zu/%zu)", fd, got, length);
            break;
        }
        got += (size_t)n;
        sl_narrate("recv(fd %d) -> %zd bytes (%zu/%zu)", fd, n, got, length);
    }
    return (ssize_t)got;
}

/* ---- the server: binary ------------------------------------------------------ */

__attribute__((format(printf, 3, 4)))
static void reply_binary_error(int fd, enum sum_status status, const char *format, ...)
{
    char message[SUM_MAX_MESSAGE + 1];
    unsigned char reply[2 + SUM_MAX_MESSAGE];
    va_list ap;
    va_start(ap, format);
    vsnprintf(message, sizeof message, format, ap);
    va_end(ap);
    size_t length = sum_encode_error_reply(reply, status, message);
    sl_narrate("reply: status %d, %zu bytes of text: %s", (int)status, length - 2, message);
    send_all(fd, reply, length, NULL);
}

/* Reads one binary request and answers it. Each number is added as it
 * arrives, so the count is never used to size anything; it is still capped,
 * because it tells the server how long to wait for more. */
static void serve_binary_request(int fd)
{
    unsigned char count_bytes[SUM_COUNT_SIZE], number_bytes[SUM_NUMBER_SIZE];
    char hex[3 * 8];

    ssize_t got = recv_exactly(fd, count_bytes, sizeof count_bytes);
    if (got == -1)
        return;
    if (got < SUM_COUNT_SIZE) {
        reply_binary_error(fd, SUM_STATUS_SHORT_REQUEST,
                           "the request stopped after %zd of the 4 bytes of its count", got);
        return;
    }
    uint32_t count = sum_decode_count(count_bytes);
    sl_narrate("count: %s -> ntohl() -> %" PRIu32, hex_bytes(count_bytes, 4, hex), count);
    if (count > SUM_MAX_COUNT) {
        reply_binary_error(fd, SUM_STATUS_COUNT_TOO_LARGE,
                           "count %" PRIu32 " is over the limit of %d numbers", count,
                           SUM_MAX_COUNT);
        return;
    }
    int64_t sum = 0;
    for (uint32_t i = 1; i <= count; i++) {
        got = recv_exactly(fd, number_bytes, sizeof number_bytes);
        if (got == -1)
            return;
        if (got < SUM_NUMBER_SIZE) {
            reply_binary_error(fd, SUM_STATUS_SHORT_REQUEST,
                               "the request stopped in number %" PRIu32 " of %" PRIu32
                               " (%zd of its 8 bytes)", i, count, got);
            return;
        }
        int64_t number = sum_decode_int64(number_bytes);
        sl_narrate("number %" PRIu32 " of %" PRIu32 ": %s -> %" PRId64, i, count,
                   hex_bytes(number_bytes, 8, hex), number);
        if (sum_add_checked(sum, number, &sum) == -1) {
            reply_binary_error(fd, SUM_STATUS_OVERFLOW,
                               "the sum leaves the signed 64-bit range at number %" PRIu32
                               " of %" PRIu32, i, count);
            return;
        }
    }
    unsigned char reply[SUM_REPLY_OK_SIZE];
    size_t length = sum_encode_ok_reply(reply, sum);
    sl_narrate("reply: status 0, sum %" PRId64 " as %s", sum, hex_bytes(reply + 1, 8, hex));
    send_all(fd, reply, length, NULL);
}

/* ---- the server: text -------------------------------------------------------- */

/* Text has no sizes up front: the reader looks for '\n' in what arrived,
 * keeping at most one line's worth, so a peer that never sends one costs
 * SUM_MAX_LINE bytes, not memory without end. */
struct line_reader {
    int fd;
    char data[512];
    size_t start, end;      /* data[start, end) arrived and is not used yet */
};

enum line_result { LINE_OK, LINE_EOF, LINE_TOO_LONG, LINE_ERROR };

/* The next line into line (SUM_MAX_LINE + 1 bytes, NUL-terminated, without
 * its '\n' or a '\r' before it). LINE_EOF leaves what came of an unfinished
 * line in line. */
static enum line_result read_line(struct line_reader *reader, char *line)
{
    for (;;) {
        char *first = reader->data + reader->start;
        size_t waiting = reader->end - reader->start;
        char *newline = memchr(first, '\n', waiting);
        if (newline != NULL) {
            size_t length = (size_t)(newline - first);
            if (length > 0 && first[length - 1] == '\r')
                length--;
            if (length > SUM_MAX_LINE)
                return LINE_TOO_LONG;
            memcpy(line, first, length);
            line[length] = '\0';
            reader->start += (size_t)(newline - first) + 1;
            return LINE_OK;
        }
        if (waiting > SUM_MAX_LINE + 1)     /* + 1: room for a '\r' before the '\n' */
            return LINE_TOO_LONG;
        memmove(reader->data, reader->data + reader->start, waiting);
        reader->start = 0;
        reader->end = waiting;
        ssize_t n = recv(reader->fd, reader->data + reader->end,
                         sizeof reader->data - reader->end, 0);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1) {
            sl_narrate("recv(fd %d) -> -1 (%s)", reader->fd, strerror(errno));
            return LINE_ERROR;
        }
        if (n == 0) {
            sl_narrate("recv(fd %d) -> 0: the peer closed its side", reader->fd);
            size_t kept = waiting < SUM_MAX_LINE ? waiting : SUM_MAX_LINE;
            memcpy(line, reader->data, kept);
            line[kept] = '\0';
            return LINE_EOF;
        }
        sl_narrate("recv(fd %d) -> %zd bytes", reader->fd, n);
        reader->end += (size_t)n;
    }
}

__attribute__((format(printf, 2, 3)))
static void reply_text_error(int fd, const char *format, ...)
{
    char line[200];
    va_list ap;
    va_start(ap, format);
    int length = vsnprintf(line, sizeof line, format, ap);
    va_end(ap);
    if (length < 0)
        return;
    sl_narrate("reply: error: %s", line);
    size_t used = strlen(line);
    char reply[sizeof line + 8];
    snprintf(reply, sizeof reply, "error: %s\n", line);
    send_all(fd, reply, used + 8, NULL);
}

/* Reads decimal lines up to an empty one and answers with the sum's line. */
static void serve_text_request(int fd)
{
    struct line_reader reader = { .fd = fd, .start = 0, .end = 0 };
    char line[SUM_MAX_LINE + 1], shown[SUM_MAX_LINE + 1];
    int64_t sum = 0, number = 0;
    int numbers = 0;

    for (int line_number = 1;; line_number++) {
        enum line_result got = read_line(&reader, line);
        if (got == LINE_ERROR)
            return;
        if (got == LINE_TOO_LONG) {
            reply_text_error(fd, "line %d is longer than %d characters", line_number,
                             SUM_MAX_LINE);
            return;
        }
        size_t length = strlen(line);
        sum_printable(shown, sizeof shown, line, length);
        if (got == LINE_EOF) {
            if (length > 0)
                reply_text_error(fd, "the request ended in the middle of line %d, "
                                 "without its empty line", line_number);
            else
                reply_text_error(fd, "the request ended after %d lines, without its empty line",
                                 line_number - 1);
            return;
        }
        if (length == 0)
            break;
        if (numbers == SUM_MAX_COUNT) {
            reply_text_error(fd, "more than %d numbers", SUM_MAX_COUNT);
            return;
        }
        switch (sum_parse_int64(line, length, &number)) {
        case SUM_PARSE_NOT_A_NUMBER:
            reply_text_error(fd, "line %d: '%s' is not a whole number", line_number, shown);
            return;
        case SUM_PARSE_OUT_OF_RANGE:
            reply_text_error(fd, "line %d: '%s' is outside the signed 64-bit range",
                             line_number, shown);
            return;
        case SUM_PARSE_OK:
            break;
        }
        sl_narrate("line %d: \"%s\" (%zu bytes with its newline) -> %" PRId64, line_number, shown,
                   length + 1, number);
        if (sum_add_checked(sum, number, &sum) == -1) {
            reply_text_error(fd, "the sum leaves the signed 64-bit range at line %d",
                             line_number);
            return;
        }
        numbers++;
    }
    char reply[32];
    int length = snprintf(reply, sizeof reply, "%" PRId64 "\n", sum);
    sl_narrate("reply: \"%" PRId64 "\\n\" (%d bytes)", sum, length);
    send_all(fd, reply, (size_t)length, NULL);
}

/* ---- the server: connections ------------------------------------------------- */

/* After replying: shutdown(SHUT_WR) sends our FIN, then we read (and drop)
 * whatever the client still sends until it closes, for DRAIN_SECONDS at
 * most. Closing with unread bytes would make the kernel send a reset, which
 * can reach the client before it has read our reply and destroy it. */
static void finish_connection(int fd)
{
    if (shutdown(fd, SHUT_WR) == -1) {
        sl_narrate("shutdown(fd %d, SHUT_WR) -> -1 (%s)", fd, strerror(errno));
        return;
    }
    sl_narrate("shutdown(fd %d, SHUT_WR) -> 0: reply complete", fd);
    struct timeval limit = { DRAIN_SECONDS, 0 };
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit) == -1) {
        sl_narrate("setsockopt(SO_RCVTIMEO) -> -1 (%s)", strerror(errno));
        return;
    }
    char discard[4096];
    size_t dropped = 0;
    double deadline = sl_now() + DRAIN_SECONDS;
    while (dropped < DRAIN_MAX_BYTES && sl_now() < deadline) {
        ssize_t n = recv(fd, discard, sizeof discard, 0);
        if (n == -1 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == -1)
                sl_narrate("recv(fd %d) -> -1 (%s)", fd, strerror(errno));
            break;
        }
        dropped += (size_t)n;
    }
    if (dropped > 0)
        sl_narrate("dropped %zu bytes the request did not use", dropped);
}

/* Serves COUNT clients (0: forever), one request each. A client that sends
 * nonsense gets an error reply and is closed; the next one is served. */
static void serve(int listener, int count, int text)
{
    for (int served = 0; count == 0 || served < count;) {
        int client = accept_client(listener);
        if (client == -1) {
            if (errno == ECONNABORTED)
                continue;
            sl_fail_errno("accept");
        }
        if (text)
            serve_text_request(client);
        else
            serve_binary_request(client);
        finish_connection(client);
        close(client);
        sl_narrate("close(fd %d)", client);
        served++;
    }
}

static int run_server(void)
{
    int listener = listen_or_exit(opt.bind_address, opt.port, 8);
    if (announce_listening(listener) == -1)
        sl_fail_errno("getsockname");
    sl_narrate("serving the %s sum protocol, one request per connection",
               opt.text ? "text" : "binary");
    serve(listener, opt.once ? 1 : 0, opt.text);
    close(listener);
    return SL_EXIT_OK;
}

/* ---- the client: the request ---------------------------------------------------- */

/* What the client sends: NUMBERS parsed (or, --unchecked, only WORDS). */
struct numbers {
    const char **words;
    int64_t *values;
    size_t count;
};

/* How the request goes out: the right way, or one of the two mistakes. */
struct encoding {
    int text;
    int host_order_count;       /* skip htonl() on the count */
    int host_order_numbers;     /* skip the 64-bit conversion on the numbers */
};

struct request {
    unsigned char *bytes;
    size_t length;
};

/* The binary request: count, then each number, in network order unless
 * the encoding says to make the mistake. */
static struct request encode_binary(const struct numbers *in, struct encoding how)
{
    struct request out = { malloc(SUM_COUNT_SIZE + SUM_NUMBER_SIZE * in->count), 0 };
    if (out.bytes == NULL)
        sl_fail_errno("malloc");
    uint32_t count = (uint32_t)in->count;
    uint32_t wire_count = how.host_order_count ? count : htonl(count);
    memcpy(out.bytes, &wire_count, SUM_COUNT_SIZE);
    out.length = SUM_COUNT_SIZE;
    for (size_t i = 0; i < in->count; i++) {
        uint64_t bits = (uint64_t)in->values[i];
        uint64_t wire = how.host_order_numbers ? bits : sum_host_to_network_64(bits);
        memcpy(out.bytes + out.length, &wire, SUM_NUMBER_SIZE);
        out.length += SUM_NUMBER_SIZE;
    }
    return out;
}

/* The text request: each number as a line, then an empty line. */
static struct request encode_text(const struct numbers *in)
{
    size_t total = 1;
    for (size_t i = 0; i < in->count; i++)
        total += strlen(in->words[i]) + 1;
    struct request out = { malloc(total), 0 };
    if (out.bytes == NULL)
        sl_fail_errno("malloc");
    for (size_t i = 0; i < in->count; i++) {
        size_t length = strlen(in->words[i]);
        memcpy(out.bytes + out.length, in->words[i], length);
        out.bytes[out.length + length] = '\n';
        out.length += length + 1;
    }
    out.bytes[out.length++] = '\n';
    return out;
}

/* --hexdump of the first SENT bytes of the request, one field a row. */
static void dump_request(const struct request *request, size_t sent, const struct numbers *in,
                         struct encoding how)
{
    char note[SUM_MAX_LINE + 64];
    size_t offset = 0;
    for (size_t field = 0; offset < sent; field++) {
        size_t size;
        if (how.text) {
            const unsigned char *newline = memchr(request->bytes + offset, '\n',
                                                  request->length - offset);
            size = (size_t)(newline - (request->bytes + offset)) + 1;
            if (offset + size > sent)
                size = sent - offset;
            dump_text('>', request->bytes + offset, size);
            offset += size;
            continue;
        }
        if (field == 0) {
            size = SUM_COUNT_SIZE;
            snprintf(note, sizeof note, "count %zu%s", in->count,
                     how.host_order_count ? " in host order (htonl skipped)" : "");
        } else {
            size = SUM_NUMBER_SIZE;
            snprintf(note, sizeof note, "%" PRId64 "%s", in->values[field - 1],
                     how.host_order_numbers ? " in host order (not converted)" : "");
        }
        if (offset + size > sent) {
            size = sent - offset;
            snprintf(note + strlen(note), sizeof note - strlen(note), " (cut: --stop-after)");
        }
        dump_field('>', request->bytes + offset, size, note);
        offset += size;
    }
}

/* ---- the client: the reply ---------------------------------------------------- */

struct outcome {
    size_t sent, received;
    int is_error;                       /* the server answered with an error */
    int64_t sum;
    char message[SUM_MAX_MESSAGE + 1];  /* the error's text, printable */
};

static void fail_short_reply(ssize_t got, size_t wanted, const char *what)
{
    if (got == -1)
        sl_fail_errno("recv");
    sl_fail("recv: the server closed the connection after %zd of the %zu bytes of %s", got,
            wanted, what);
}

/* Reads a binary reply: status byte, then the sum or an error's text. */
static void receive_binary_reply(int fd, struct outcome *result)
{
    unsigned char status, sum_bytes[SUM_NUMBER_SIZE], length, text[SUM_MAX_MESSAGE];
    char hex[3 * 8], note[64];

    ssize_t got = recv_exactly(fd, &status, 1);
    if (got != 1)
        fail_short_reply(got, 1, "the reply's status");
    result->received = 1;
    if (status == SUM_STATUS_OK) {
        if (opt.hexdump)
            dump_field('<', &status, 1, "status 0: the sum follows");
        got = recv_exactly(fd, sum_bytes, sizeof sum_bytes);
        if (got != SUM_NUMBER_SIZE)
            fail_short_reply(got, SUM_NUMBER_SIZE, "the sum");
        result->received += SUM_NUMBER_SIZE;
        result->sum = sum_decode_int64(sum_bytes);
        if (opt.hexdump) {
            snprintf(note, sizeof note, "sum %" PRId64, result->sum);
            dump_field('<', sum_bytes, SUM_NUMBER_SIZE, note);
        }
        sl_narrate("reply: status 0, sum %s -> %" PRId64 " (%zu bytes)",
                   hex_bytes(sum_bytes, 8, hex), result->sum, result->received);
        return;
    }
    if (opt.hexdump) {
        snprintf(note, sizeof note, "status %d: an error, its text follows", status);
        dump_field('<', &status, 1, note);
    }
    got = recv_exactly(fd, &length, 1);
    if (got != 1)
        fail_short_reply(got, 1, "the error's length");
    got = recv_exactly(fd, text, length);
    if (got != length)
        fail_short_reply(got, length, "the error's text");
    result->received += 1 + (size_t)length;
    result->is_error = 1;
    sum_printable(result->message, sizeof result->message, (const char *)text, length);
    if (opt.hexdump) {
        snprintf(note, sizeof note, "length %d: that many bytes of text follow", length);
        dump_field('<', &length, 1, note);
        dump_text('<', text, length);
    }
    sl_narrate("reply: status %d, error: %s (%zu bytes)", status, result->message,
               result->received);
}

/* Reads a text reply: one line, the sum or "error: ...". */
static void receive_text_reply(int fd, struct outcome *result)
{
    char line[TEXT_REPLY_MAX];
    size_t length = 0;
    char *newline = NULL;
    while (newline == NULL && length < sizeof line) {
        ssize_t n = recv(fd, line + length, sizeof line - length, 0);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1)
            sl_fail_errno("recv");
        if (n == 0)
            sl_fail("recv: the server closed the connection after %zu bytes, before a whole line",
                    length);
        sl_narrate("recv(fd %d) -> %zd bytes", fd, n);
        newline = memchr(line + length, '\n', (size_t)n);
        length += (size_t)n;
    }
    if (newline == NULL)
        sl_fail("the server's reply is longer than %d bytes", TEXT_REPLY_MAX);
    size_t line_length = (size_t)(newline - line);
    result->received = length;
    if (opt.hexdump)
        dump_text('<', (unsigned char *)line, line_length + 1);
    if (line_length >= 7 && memcmp(line, "error: ", 7) == 0) {
        result->is_error = 1;
        sum_printable(result->message, sizeof result->message, line + 7, line_length - 7);
        sl_narrate("reply: error: %s", result->message);
        return;
    }
    if (sum_parse_int64(line, line_length, &result->sum) != SUM_PARSE_OK) {
        char shown[TEXT_REPLY_MAX];
        sum_printable(shown, sizeof shown, line, line_length);
        sl_fail("the server's reply is not a number: '%s'", shown);
    }
    sl_narrate("reply: \"%" PRId64 "\\n\" -> %" PRId64 " (%zu bytes)", result->sum, result->sum,
               length);
}

/* ---- the client: one exchange -------------------------------------------------- */

/* Connects, sends the request (or its first STOP_AFTER bytes), reads the reply. */
static struct outcome exchange(const char *host, int port, const struct numbers *in,
                               struct encoding how, int stop_after)
{
    struct outcome result;
    memset(&result, 0, sizeof result);
    struct request request = how.text ? encode_text(in) : encode_binary(in, how);
    if (how.text)
        sl_narrate("request: %zu lines and an empty line: %zu bytes of text", in->count,
                   request.length);
    else
        sl_narrate("request: count (4 bytes) + %zu numbers (8 bytes each) = %zu bytes, %s",
                   in->count, request.length,
                   how.host_order_count ? "in host order (the mistake)"
                   : how.host_order_numbers ? "numbers in host order (the mistake)"
                   : "big-endian");

    int fd = connect_or_exit(host, port);
    size_t to_send = request.length;
    if (stop_after >= 0 && (size_t)stop_after < to_send)
        to_send = (size_t)stop_after;
    if (send_all(fd, request.bytes, to_send, NULL) == -1)
        sl_fail_errno("send");
    result.sent = to_send;
    if (opt.hexdump)
        dump_request(&request, to_send, in, how);
    if (to_send < request.length) {
        /* Our FIN tells the server no more is coming: it sees the request end early. */
        if (shutdown(fd, SHUT_WR) == -1)
            sl_fail_errno("shutdown");
        sl_narrate("shutdown(fd %d, SHUT_WR) -> 0: the request stops after %zu of %zu bytes", fd,
                   to_send, request.length);
    }
    free(request.bytes);
    if (how.text)
        receive_text_reply(fd, &result);
    else
        receive_binary_reply(fd, &result);
    close(fd);
    sl_narrate("close(fd %d)", fd);
    return result;
}

/* ---- the client: its input ------------------------------------------------------ */

/* Adds WORD (kept, not copied) to the numbers; a reason in why if it is no
 * int64_t (unless unchecked): 0, or -1. */
static int add_word(struct numbers *in, size_t capacity, const char *word, int unchecked, char *why,
                    size_t why_size)
{
    char shown[80];
    sum_printable(shown, sizeof shown, word, strlen(word));
    if (in->count == capacity) {
        snprintf(why, why_size, "more than %d numbers", CLIENT_MAX_NUMBERS);
        return -1;
    }
    enum sum_parse_result parsed = sum_parse_int64(word, strlen(word), &in->values[in->count]);
    if (!unchecked && parsed == SUM_PARSE_NOT_A_NUMBER) {
        snprintf(why, why_size, "'%s' is not a whole number", shown);
        return -1;
    }
    if (!unchecked && parsed == SUM_PARSE_OUT_OF_RANGE) {
        snprintf(why, why_size, "'%s' is outside the signed 64-bit range", shown);
        return -1;
    }
    in->words[in->count++] = word;
    return 0;
}

static struct numbers allocate_numbers(size_t capacity)
{
    struct numbers in = { malloc(capacity * sizeof(char *)), malloc(capacity * sizeof(int64_t)), 0 };
    if (in.words == NULL || in.values == NULL)
        sl_fail_errno("malloc");
    return in;
}

/* The numbers from the command line: a bad one is a usage error. */
/* Frees what allocate_numbers and numbers_from_stdin allocated. */
static void free_numbers(struct numbers *in, int words_were_copied)
{
    for (size_t i = 0; words_were_copied && i < in->count; i++)
        free((char *)in->words[i]);
    free(in->words);
    free(in->values);
}

static struct numbers numbers_from_arguments(int argc, char **argv, int unchecked)
{
    struct numbers in = allocate_numbers((size_t)argc);
    char why[160];
    for (int i = 0; i < argc; i++) {
        if (add_word(&in, (size_t)argc, argv[i], unchecked, why, sizeof why) == -1)
            sl_usage_error("%s", why);
    }
    return in;
}

/* The numbers from stdin, one per line, up to an empty line or the end. */
static struct numbers numbers_from_stdin(int unchecked)
{
    struct numbers in = allocate_numbers(CLIENT_MAX_NUMBERS);
    char buffer[CLIENT_MAX_LINE + 1], why[160];
    for (int line_number = 1; fgets(buffer, sizeof buffer, stdin) != NULL; line_number++) {
        size_t length = strcspn(buffer, "\r\n");
        if (buffer[length] == '\0' && !feof(stdin))
            sl_fail("stdin line %d is longer than %d bytes", line_number, CLIENT_MAX_LINE - 1);
        buffer[length] = '\0';
        if (length == 0)
            break;
        char *word = strdup(buffer);
        if (word == NULL)
            sl_fail_errno("strdup");
        if (add_word(&in, CLIENT_MAX_NUMBERS, word, unchecked, why, sizeof why) == -1) {
            free(word);
            sl_fail("stdin line %d: %s", line_number, why);
        }
    }
    if (ferror(stdin))
        sl_fail_errno("reading stdin");
    return in;
}

static int run_client(int argc, char **argv)
{
    if (opt.unchecked && !opt.text)
        sl_usage_error("--unchecked needs --text (binary numbers are checked to be encoded)");
    if (opt.wrong_order && opt.wrong_order_numbers)
        sl_usage_error("--wrong-order already includes --wrong-order-numbers: pick one");
    if ((opt.wrong_order || opt.wrong_order_numbers) && opt.text)
        sl_usage_error("--wrong-order is about binary integers: it does not go with --text");
    struct numbers in = argc > 0 ? numbers_from_arguments(argc, argv, opt.unchecked)
                                 : numbers_from_stdin(opt.unchecked);
    struct encoding how = { opt.text, opt.wrong_order, opt.wrong_order || opt.wrong_order_numbers };
    struct outcome result = exchange(opt.host, opt.port, &in, how, opt.stop_after);
    free_numbers(&in, argc == 0);
    if (result.is_error) {
        fflush(stdout);
        fprintf(stderr, "%s: the server answered: %s\n", program.name, result.message);
        return EXIT_SERVER_ERROR;
    }
    printf("%" PRId64 "\n", result.sum);
    return SL_EXIT_OK;
}

/* ---- the demo -------------------------------------------------------------------- */

/* The port a listener got: sockaddr keeps it in network order, so ntohs(). */
static int listening_port(int listener)
{
    struct sockaddr_storage address;
    socklen_t length = sizeof address;
    if (getsockname(listener, (struct sockaddr *)&address, &length) == -1)
        sl_fail_errno("getsockname");
    if (address.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&address)->sin6_port);
    return ntohs(((struct sockaddr_in *)&address)->sin_port);
}

/* A server for COUNT requests in a child process: its pid. */
static pid_t start_demo_server(int listener, int count, int text)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == -1)
        sl_fail_errno("fork");
    if (pid == 0) {
        sl_set_role(text ? "text server" : "binary server");
        serve(listener, count, text);
        exit(SL_EXIT_OK);
    }
    return pid;
}

static void print_outcome(const struct outcome *result)
{
    if (result->is_error)
        printf("  the server answers: error: %s\n", result->message);
    else
        printf("  the server answers: sum %" PRId64 "\n", result->sum);
}

static int run_demo(void)
{
    static const char *words[] = { "7", "-3", "1000", "1234567890123" };
    int64_t values[] = { 7, -3, 1000, INT64_C(1234567890123) };
    struct numbers in = { words, values, 4 };
    const struct encoding right_binary = { 0, 0, 0 }, right_text = { 1, 0, 0 };
    const struct encoding wrong_all = { 0, 1, 1 }, wrong_numbers = { 0, 0, 1 };

    sl_set_role("demo");
    int text_listener = listen_or_exit("127.0.0.1", 0, 8);
    int binary_listener = listen_or_exit("127.0.0.1", 0, 8);
    pid_t text_server = start_demo_server(text_listener, 1, 1);
    pid_t binary_server = start_demo_server(binary_listener, 3, 0);
    int text_port = listening_port(text_listener), binary_port = listening_port(binary_listener);
    close(text_listener);
    close(binary_listener);

    sl_set_role("client");
    struct outcome as_text = exchange("127.0.0.1", text_port, &in, right_text, -1);
    struct outcome as_binary = exchange("127.0.0.1", binary_port, &in, right_binary, -1);
    printf("the same numbers, both ways: bytes on the wire\n\n");
    printf("%-22s %-22s %s\n", "", "text (--text)", "binary");
    for (size_t i = 0; i < in.count; i++)
        printf("%-22s %-22zu %d\n", words[i], strlen(words[i]) + 1, SUM_NUMBER_SIZE);
    printf("%-22s %-22s %s\n", "framing", "1 (the empty line)", "4 (the count)");
    printf("%-22s %-22zu %zu\n", "request", as_text.sent, as_binary.sent);
    printf("%-22s %-22zu %zu\n", "reply", as_text.received, as_binary.received);
    printf("%-22s %-22" PRId64 " %" PRId64 "\n", "sum", as_text.sum, as_binary.sum);

    struct outcome wrong = exchange("127.0.0.1", binary_port, &in, wrong_all, -1);
    uint32_t count = (uint32_t)in.count, misread = ntohl(count);
    printf("\nthe mistake (--wrong-order): no htonl() before sending, on a %s machine\n",
           host_byte_order());
    printf("  the count %" PRIu32 " is read as %" PRIu32 "\n", count, misread);
    print_outcome(&wrong);

    struct outcome wrong_sum = exchange("127.0.0.1", binary_port, &in, wrong_numbers, -1);
    unsigned char in_memory[SUM_NUMBER_SIZE];
    memcpy(in_memory, &values[0], sizeof in_memory);
    int64_t misread_number = sum_decode_int64(in_memory);     /* what the server does */
    printf("\nthe same mistake in the numbers only (--wrong-order-numbers):\n");
    printf("  %" PRId64 " is read as %" PRId64 "\n", values[0], misread_number);
    print_outcome(&wrong_sum);
    printf("  (the right sum is %" PRId64 "; nothing on the wire says the bytes are reversed)\n",
           as_binary.sum);

    int status_text, status_binary;
    if (waitpid(text_server, &status_text, 0) == -1 ||
        waitpid(binary_server, &status_binary, 0) == -1)
        sl_fail_errno("waitpid");
    int ok = WIFEXITED(status_text) && WEXITSTATUS(status_text) == 0 &&
             WIFEXITED(status_binary) && WEXITSTATUS(status_binary) == 0;
    return ok ? SL_EXIT_OK : SL_EXIT_RUNTIME;
}

int main(int argc, char **argv)
{
    struct sl_args args = sl_parse_command_line(&program, argc, argv);

    /* A client that vanishes before its reply should cost an EPIPE, not our life. */
    signal(SIGPIPE, SIG_IGN);

    if (strcmp(args.role, "show") == 0)
        return run_show(args.argc, args.argv);
    if (strcmp(args.role, "server") == 0)
        return run_server();
    if (strcmp(args.role, "client") == 0)
        return run_client(args.argc, args.argv);
    return run_demo();
}
