/* server.c: chapter 3, the sum server, binary requests.
 *
 * One request per connection: a 4-byte count, then that many 8-byte signed
 * numbers, every integer big-endian; the reply is a status byte and the
 * 8-byte sum (or a length byte and an error's text). The fields have fixed
 * sizes, so the server knows how many bytes to wait for, and decodes each
 * with ntohl() or shifts (wire.c) before using it. Each number is added as
 * it arrives: the count never sizes anything, but is still capped, because
 * it says how long to wait. The text protocol is in text_server.c.
 *
 * Usage: 03-byte-order server [--bind ADDR] [--port N] [--once] [--text]
 * See also: wire.c (the decoding), text_server.c, client.c, README.md
 *           ("The sum service and its wire format"), ../01-blocking/sockets.c.
 */
#include "byteorder.h"

#include "../01-blocking/sockets.h"
#include "narrate.h"
#include "proc.h"
#include "wire.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define DRAIN_SECONDS 1             /* how long the server waits for a client to close */
#define DRAIN_MAX_BYTES 65536       /* how much it reads and drops meanwhile */

static int read_count(int fd, uint32_t *count);
static int read_number(int fd, uint32_t i, uint32_t count, int64_t *number);
static void reply_binary_error(int fd, enum sum_status status, const char *format, ...)
    __attribute__((format(printf, 3, 4)));
static void finish_connection(int fd);

/* Reads one binary request and answers it: the count, then each number as
 * it comes, added to the sum with an overflow check before every step. */
static void serve_binary_request(int fd)
{
    uint32_t count;
    if (read_count(fd, &count) == -1)
        return;
    int64_t sum = 0, number;
    for (uint32_t i = 1; i <= count; i++) {
        if (read_number(fd, i, count, &number) == -1)
            return;
        if (sum_add_checked(sum, number, &sum) == -1) {
            reply_binary_error(fd, SUM_STATUS_OVERFLOW,
                               "the sum leaves the signed 64-bit range at number %" PRIu32
                               " of %" PRIu32, i, count);
            return;
        }
    }
    unsigned char reply[SUM_REPLY_OK_SIZE];
    char hex[3 * 8];
    size_t length = sum_encode_ok_reply(reply, sum);
    sl_narrate("reply: status 0, sum %" PRId64 " as %s", sum, hex_bytes(reply + 1, 8, hex));
    send_all(fd, reply, length, NULL);
}

/* The count: 4 bytes off the wire, then ntohl() (in sum_decode_count). 0, or
 * -1 when the request ended, failed or was refused (and answered). */
static int read_count(int fd, uint32_t *count)
{
    unsigned char bytes[SUM_COUNT_SIZE];
    char hex[3 * 8];
    ssize_t got = recv_exactly(fd, bytes, sizeof bytes);
    if (got == -1)
        return -1;
    if (got < SUM_COUNT_SIZE) {
        reply_binary_error(fd, SUM_STATUS_SHORT_REQUEST,
                           "the request stopped after %zd of the 4 bytes of its count", got);
        return -1;
    }
    *count = sum_decode_count(bytes);
    sl_narrate("count: %s -> ntohl() -> %" PRIu32, hex_bytes(bytes, 4, hex), *count);
    if (*count > SUM_MAX_COUNT) {
        reply_binary_error(fd, SUM_STATUS_COUNT_TOO_LARGE,
                           "count %" PRIu32 " is over the limit of %d numbers", *count,
                           SUM_MAX_COUNT);
        return -1;
    }
    return 0;
}

/* Number I of COUNT: 8 bytes, big-endian, two's complement. 0, or -1. */
static int read_number(int fd, uint32_t i, uint32_t count, int64_t *number)
{
    unsigned char bytes[SUM_NUMBER_SIZE];
    char hex[3 * 8];
    ssize_t got = recv_exactly(fd, bytes, sizeof bytes);
    if (got == -1)
        return -1;
    if (got < SUM_NUMBER_SIZE) {
        reply_binary_error(fd, SUM_STATUS_SHORT_REQUEST,
                           "the request stopped in number %" PRIu32 " of %" PRIu32
                           " (%zd of its 8 bytes)", i, count, got);
        return -1;
    }
    *number = sum_decode_int64(bytes);
    sl_narrate("number %" PRIu32 " of %" PRIu32 ": %s -> %" PRId64, i, count,
               hex_bytes(bytes, 8, hex), *number);
    return 0;
}

/* recv() until LENGTH bytes arrived: LENGTH, fewer if the peer closed its
 * side first, or -1 with errno set. One recv() may return part of a field
 * (chapter 2), so the loop counts bytes, not calls. */
ssize_t recv_exactly(int fd, unsigned char *buffer, size_t length)
{
    size_t got = 0;
    while (got < length) {
        ssize_t n = recv(fd, buffer + got, length - got, 0);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1) {
            sl_narrate("recv(fd %d) -> -1 %s", fd, sl_errno(errno));
            return -1;
        }
        if (n == 0) {
            sl_narrate("recv(fd %d) -> 0: the peer closed its side (%zu/%zu)", fd, got, length);
            break;
        }
        got += (size_t)n;
        sl_narrate("recv(fd %d) -> %s (%zu/%zu)", fd, sl_plural(n, "byte"), got, length);
    }
    return (ssize_t)got;
}

/* An error reply: the status, a length byte, then the text. */
static void reply_binary_error(int fd, enum sum_status status, const char *format, ...)
{
    char message[SUM_MAX_MESSAGE + 1];
    unsigned char reply[2 + SUM_MAX_MESSAGE];
    va_list ap;
    va_start(ap, format);
    vsnprintf(message, sizeof message, format, ap);
    va_end(ap);
    size_t length = sum_encode_error_reply(reply, status, message);
    sl_narrate("error: %s", message);
    sl_narrate("reply: status %d, length %zu, the text: %zu bytes", (int)status, length - 2,
               length);
    send_all(fd, reply, length, NULL);
}

/* ---- connections ------------------------------------------------------------ */

int run_server(const struct server_settings *settings)
{
    int listener = start_listening(settings->bind_address, settings->port, 8);
    sl_narrate("serving the %s sum protocol, one request per connection",
               settings->text ? "text" : "binary");
    serve(listener, settings->once ? 1 : 0, settings->text);
    close(listener);
    return SL_EXIT_OK;
}

/* Serves COUNT clients (0: forever), one request each. A client that sends
 * nonsense gets an error reply and is closed; the next one is served. */
void serve(int listener, int count, int text)
{
    for (int served = 0; count == 0 || served < count;) {
        int client = accept_or_exit(listener);   /* out of descriptors: see chapter 1 */
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

/* After replying: shutdown(SHUT_WR) sends our FIN (the reply is complete),
 * then we read and drop what the client still sends until it closes, for
 * DRAIN_SECONDS at most. Closing with unread bytes would make the kernel
 * send a reset, which can reach the client before it has read our reply
 * and destroy it. Chapter 4 is about both calls. */
static void finish_connection(int fd)
{
    if (shutdown(fd, SHUT_WR) == -1) {
        sl_narrate("shutdown(fd %d, SHUT_WR) -> -1 %s", fd, sl_errno(errno));
        return;
    }
    sl_narrate("shutdown(fd %d, SHUT_WR) -> 0: reply complete", fd);
    /* A blocking recv() would wait for as long as the client stays; with
     * SO_RCVTIMEO it gives up after DRAIN_SECONDS with EAGAIN. */
    struct timeval limit = { DRAIN_SECONDS, 0 };
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit) == -1) {
        sl_narrate("setsockopt(SO_RCVTIMEO) -> -1 %s", sl_errno(errno));
        return;
    }
    sl_narrate("setsockopt(SO_RCVTIMEO, %d s) -> 0: a recv gives up after %d s", DRAIN_SECONDS,
               DRAIN_SECONDS);
    char discard[4096];
    size_t dropped = 0;
    double deadline = sl_now() + DRAIN_SECONDS;
    ssize_t n = 1;
    while (n > 0 && dropped < DRAIN_MAX_BYTES && sl_now() < deadline) {
        n = recv(fd, discard, sizeof discard, 0);
        if (n == -1 && errno == EINTR)
            n = 1;
        else if (n > 0)
            dropped += (size_t)n;
    }
    if (dropped > 0)
        sl_narrate("dropped %s the request did not use", sl_plural((long long)dropped, "byte"));
    if (n == 0)
        sl_narrate("recv(fd %d) -> 0: the client closed its side", fd);
    else if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
        sl_narrate("recv(fd %d) -> -1 %s: no close within %d s (SO_RCVTIMEO), closing anyway",
                   fd, sl_errno(errno), DRAIN_SECONDS);
    else if (n == -1)
        sl_narrate("recv(fd %d) -> -1 %s", fd, sl_errno(errno));
}
