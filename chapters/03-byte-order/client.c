/* client.c: chapter 3, the sum client.
 *
 * Puts the numbers on the wire in network byte order: the count through
 * htonl(), each number through its 64-bit cousin, every field copied into
 * its place in a byte buffer (never a struct sent raw). Or it makes the
 * mistake on purpose (--wrong-order), copying the integers' memory as it
 * is. Then it reads the reply field by field: a status byte first, which
 * says whether 8 bytes of sum or an error's length and text follow.
 *
 * Usage: 03-byte-order client [--host H] [--port N] [--text] [--hexdump]
 *                             [--wrong-order | --wrong-order-numbers]
 *                             [--timeout SEC] [NUMBER...]
 * See also: server.c, wire.c, numbers.c (where the numbers come from),
 *           README.md ("Run it"), ../01-blocking/sockets.c.
 */
#include "byteorder.h"

#include "../01-blocking/sockets.h"
#include "narrate.h"
#include "wire.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static struct request encode_text(const struct numbers *in);
static size_t send_request(int fd, const struct request *request,
                           const struct client_settings *settings);
static void receive_binary_reply(int fd, struct outcome *result, double timeout);
static void receive_text_reply(int fd, struct outcome *result, double timeout);

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
    const char *order = how.host_order_count     ? "all in host order"
                        : how.host_order_numbers ? "host-order numbers"
                                                 : "big-endian";
    sl_narrate("request: %zu bytes = count (4) + %s (8 each), %s", out.length,
               sl_plural((long long)in->count, "number"), order);
    return out;
}

/* Connects, sends the request (or its first STOP_AFTER bytes), reads the reply. */
struct outcome exchange(const struct client_settings *settings, const struct numbers *in)
{
    struct outcome result;
    memset(&result, 0, sizeof result);
    struct request request = settings->how.text ? encode_text(in)
                                                : encode_binary(in, settings->how);
    char why[256];
    int fd = connect_to_server(settings->host, settings->port, why, sizeof why);
    if (fd == -1)
        sl_fail("%s", why);
    if (settings->timeout > 0 && set_timeouts(fd, settings->timeout) == -1)
        sl_fail_errno("setsockopt SO_RCVTIMEO");
    result.sent = send_request(fd, &request, settings);
    if (settings->hexdump)
        dump_request(&request, result.sent, in, settings->how);
    free(request.bytes);
    if (settings->how.text)
        receive_text_reply(fd, &result, settings->timeout);
    else
        receive_binary_reply(fd, &result, settings->timeout);
    if (settings->hexdump)
        dump_reply(&result, settings->how.text);
    close(fd);
    sl_narrate("close(fd %d)", fd);
    return result;
}

/* Sends the request, or (--stop-after) its first bytes and then our FIN,
 * which tells the server no more is coming: it sees the request end early.
 * The bytes sent, or exits. */
static size_t send_request(int fd, const struct request *request,
                           const struct client_settings *settings)
{
    size_t to_send = request->length;
    if (settings->stop_after >= 0 && (size_t)settings->stop_after < to_send)
        to_send = (size_t)settings->stop_after;
    if (send_all(fd, request->bytes, to_send, NULL) == -1) {
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            sl_fail_status(EXIT_NO_ANSWER, "send: the server took nothing for %g s (--timeout)",
                           settings->timeout);
        sl_fail_errno("send");
    }
    if (to_send < request->length) {
        if (shutdown(fd, SHUT_WR) == -1)
            sl_fail_errno("shutdown");
        sl_narrate("shutdown(fd %d, SHUT_WR) -> 0: the request stops after %zu of %zu bytes", fd,
                   to_send, request->length);
    }
    return to_send;
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
    sl_narrate("request: %s and an empty line: %s of text", sl_plural((long long)in->count, "line"),
               sl_plural((long long)out.length, "byte"));
    return out;
}

/* --timeout: each recv() and send() on FD gives up after SECONDS with
 * EAGAIN, instead of waiting for as long as the server stays silent
 * (chapter 5 is about such waits). 0 leaves them waiting forever. */
/* The reply ended before WANTED bytes of WHAT, or recv failed: exits. */
static _Noreturn void fail_short_reply(ssize_t got, size_t wanted, const char *what,
                                       double timeout)
{
    if (got == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
        sl_fail_status(EXIT_NO_ANSWER, "recv: no answer within %g s (--timeout)", timeout);
    if (got == -1)
        sl_fail_errno("recv");
    sl_fail("recv: the server closed the connection after %zd of the %zu bytes of %s", got,
            wanted, what);
}

/* Reads LENGTH bytes of the reply into result->reply, or exits. */
static void receive_field(int fd, struct outcome *result, size_t length, const char *what,
                          double timeout)
{
    ssize_t got = recv_exactly(fd, result->reply + result->received, length);
    if (got != (ssize_t)length)
        fail_short_reply(got, length, what, timeout);
    result->received += length;
}

/* A binary reply: the status byte, then the sum or an error's text. */
static void receive_binary_reply(int fd, struct outcome *result, double timeout)
{
    char hex[3 * 8];
    receive_field(fd, result, 1, "the reply's status", timeout);
    unsigned char status = result->reply[0];
    if (status == SUM_STATUS_OK) {
        sl_narrate("status: 00 -> 0, the sum follows");
        receive_field(fd, result, SUM_NUMBER_SIZE, "the sum", timeout);
        result->sum = sum_decode_int64(result->reply + 1);
        sl_narrate("sum: %s -> %" PRId64 " (reply: %zu bytes)",
                   hex_bytes(result->reply + 1, 8, hex), result->sum, result->received);
        return;
    }
    sl_narrate("status: %02x -> %d, an error: a length and its text follow", status, status);
    receive_field(fd, result, 1, "the error's length", timeout);
    size_t length = result->reply[1];
    sl_narrate("length: %02zx -> %s of text (reply: %zu bytes)", length,
               sl_plural((long long)length, "byte"), 2 + length);
    receive_field(fd, result, length, "the error's text", timeout);
    result->is_error = 1;
    sum_printable(result->message, sizeof result->message, (const char *)result->reply + 2,
                  length);
    sl_narrate("error: %s", result->message);
}

/* A text reply: one line, the sum or "error: ...". */
static void receive_text_reply(int fd, struct outcome *result, double timeout)
{
    char *line = (char *)result->reply, *newline = NULL;
    size_t length = 0;
    while (newline == NULL && length < TEXT_REPLY_MAX) {
        ssize_t n = recv(fd, line + length, TEXT_REPLY_MAX - length, 0);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1)
            fail_short_reply(-1, 0, NULL, timeout);
        if (n == 0)
            sl_fail("recv: the server closed the connection after %s, before a whole line",
                    sl_plural((long long)length, "byte"));
        sl_narrate("recv(fd %d) -> %s", fd, sl_plural(n, "byte"));
        newline = memchr(line + length, '\n', (size_t)n);
        length += (size_t)n;
    }
    if (newline == NULL)
        sl_fail("the server's reply is longer than %d bytes", TEXT_REPLY_MAX);
    size_t line_length = (size_t)(newline - line);
    result->received = length;
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

/* One exchange, then the sum on stdout, or the server's error and status 3. */
int run_client(const struct client_settings *settings, const struct numbers *in)
{
    struct outcome result = exchange(settings, in);
    if (result.is_error)
        sl_fail_status(EXIT_SERVER_ERROR, "the server answered: %s", result.message);
    printf("%" PRId64 "\n", result.sum);
    return SL_EXIT_OK;
}
