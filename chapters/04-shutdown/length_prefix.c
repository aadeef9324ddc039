/* length_prefix.c: chapter 4, the other way to end a message: its length
 * in front of it.
 *
 * With --length-prefix (both sides), a message is a 32-bit big-endian
 * length, then that many bytes, and so is each reply. The reader knows where
 * a message ends before it arrives, so neither side waits for an EOF to end
 * one, nobody calls shutdown() for it, and one connection can carry one
 * message after another: the server reads the next length after each reply,
 * and the client's close() (EOF where a length would start) ends the
 * conversation. The length also lets the reader refuse a message that is
 * too long before reading it: the server from the client's header, the
 * client from the server's.
 *
 * Usage: 04-shutdown server --length-prefix [--max-payload N]
 *        04-shutdown client --length-prefix [PAYLOAD] [--max-reply N]
 * See also: framing.c (frame_check, the header's byte order), server.c,
 *           client.c, ../03-byte-order (network byte order).
 */
#include "shutdown.h"

#include "framing.h"
#include "narrate.h"
#include "proc.h"
#include "../01-blocking/sockets.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* How the reading of one framed message ended. */
enum frame_end { FRAME_READ, FRAME_CLIENT_DONE, FRAME_CUT_SHORT, FRAME_REFUSED, FRAME_FAILED };

static enum frame_end read_frame(int fd, const struct server_settings *s, struct message *m,
                                 uint32_t *length);
static int send_frame(int fd, const void *bytes, size_t length, int twice, const char *what);
static uint32_t read_reply_length(int fd, const struct client_settings *c, double deadline);

void serve_frames(int client, const struct server_settings *s)
{
    for (int more = 1; more;) {
        struct message m = { NULL, 0, 0 };
        uint32_t length = 0;
        enum frame_end end = read_frame(client, s, &m, &length);
        more = 0;
        if (end == FRAME_READ)
            more = send_frame(client, m.data + FRAME_HEADER_SIZE, length, 1, "the payload") == 0;
        if (end == FRAME_CUT_SHORT)
            send_frame(client, NO_END_REPLY, strlen(NO_END_REPLY), 0, "the error");
        /* The rest of a refused message can't be skipped by its length (it
         * may be 4 GB): the stream is lost, and the connection ends. */
        if (end == FRAME_REFUSED &&
            send_frame(client, TOO_BIG_REPLY, strlen(TOO_BIG_REPLY), 0, "the error") == 0)
            shut_down_and_drain(client, m.received - FRAME_HEADER_SIZE,
                                "more of the oversized message");
        free(m.data);
    }
}

size_t framed_exchange(int fd, const struct client_settings *c)
{
    unsigned char header[FRAME_HEADER_SIZE];
    frame_put_header(header, (uint32_t)c->payload_length);
    if (send_all(fd, header, sizeof header, "the length") == -1 ||
        send_all(fd, c->payload, c->payload_length, "the payload") == -1)
        sl_fail_errno("send");
    if (c->finish == FINISH_CLOSE) {
        if (close(fd) == -1)
            sl_fail_errno("close");
        sl_narrate("close(fd %d) -> 0: gone before the reply; it will never be read", fd);
        return 0;
    }
    sl_narrate("no shutdown() needed: the length says where the message ends");
    double deadline = c->timeout > 0 ? sl_now() + c->timeout : 0;
    uint32_t announced = read_reply_length(fd, c, deadline);
    unsigned char buffer[65536];
    size_t want = smaller(c->recv_size, sizeof buffer);
    for (size_t total = 0; total < announced;) {
        size_t n = receive_reply(fd, buffer, smaller(want, announced - total), deadline,
                                 c->timeout, total);
        if (n == 0)
            sl_fail("recv: EOF after %zu of the reply's %lu bytes", total, (unsigned long)announced);
        total += n;
        sl_narrate("recv(fd %d) -> %s (%zu of %lu)", fd, sl_plural((long long)n, "byte"), total,
                   (unsigned long)announced);
        print_reply(buffer, n);
    }
    return announced;
}

/* The reply's 4-byte header: the length it announces, refused (exit 1)
 * when over c->max_reply, as the server refuses a message too long. */
static uint32_t read_reply_length(int fd, const struct client_settings *c, double deadline)
{
    unsigned char header[FRAME_HEADER_SIZE];
    for (size_t got = 0; got < FRAME_HEADER_SIZE;) {
        size_t n = receive_reply(fd, header + got, FRAME_HEADER_SIZE - got, deadline,
                                 c->timeout, 0);
        if (n == 0)
            sl_fail("recv: EOF after %zu of the reply's 4 header bytes", got);
        got += n;
        sl_narrate("recv(fd %d) -> %s (%zu of the 4-byte header)", fd,
                   sl_plural((long long)n, "byte"), got);
    }
    uint32_t announced = frame_read_header(header);
    if (announced > c->max_reply)
        sl_fail("recv: the reply announces %lu bytes: over the %zu-byte limit (--max-reply)",
                (unsigned long)announced, c->max_reply);
    sl_narrate("the reply announces %s", sl_plural(announced, "byte"));
    return announced;
}

/* ---- the server's side, in detail ------------------------------------------- */

/* What an EOF means depends on where it comes: where a length would start,
 * the client is done; anywhere else, its message was cut short. */
static enum frame_end end_of_stream(int fd, size_t received)
{
    if (received == 0) {
        sl_narrate("recv(fd %d) -> 0: EOF where the next length would start: the client is done",
                   fd);
        return FRAME_CLIENT_DONE;
    }
    sl_narrate("recv(fd %d) -> 0: EOF after %s, and no end of message in them", fd,
               sl_plural((long long)received, "byte"));
    return FRAME_CUT_SHORT;
}

/* Reads one framed message: the 4-byte header, then exactly the length it
 * announces, never a byte more. A length over the limit is refused from the
 * header alone, before anything is allocated for it; under the limit, the
 * buffer grows as bytes arrive, not to what the header merely claims. */
static enum frame_end read_frame(int fd, const struct server_settings *s, struct message *m,
                                 uint32_t *length)
{
    enum frame_state state;
    while ((state = frame_check(m->data, m->received, (uint32_t)s->max_payload, length)) ==
           FRAME_INCOMPLETE) {
        size_t frame = m->received < FRAME_HEADER_SIZE ? FRAME_HEADER_SIZE
                                                       : FRAME_HEADER_SIZE + (size_t)*length;
        if (make_room(m, smaller(m->received + s->recv_size, frame), frame) == -1)
            return FRAME_FAILED;
        ssize_t n = receive_some(fd, m, smaller(s->recv_size, frame - m->received));
        if (n == -1)
            return FRAME_FAILED;
        if (n == 0)
            return end_of_stream(fd, m->received);
        m->received += (size_t)n;
        if (m->received < FRAME_HEADER_SIZE)
            sl_narrate("recv(fd %d) -> %s (%zu of the 4-byte header)", fd, sl_plural(n, "byte"),
                       m->received);
        else
            sl_narrate("recv(fd %d) -> %s (the header says %lu; %zu of them in)", fd,
                       sl_plural(n, "byte"), (unsigned long)frame_read_header(m->data),
                       m->received - FRAME_HEADER_SIZE);
    }
    if (state == FRAME_TOO_LONG) {
        sl_narrate("the header announces %lu bytes: over the %zu-byte limit",
                   (unsigned long)*length, s->max_payload);
        return FRAME_REFUSED;
    }
    sl_narrate("the frame is complete: a %lu-byte payload", (unsigned long)*length);
    return FRAME_READ;
}

/* A framed reply: the length, then BYTES (TWICE: two copies of them).
 * 0, or -1 when the client is gone. */
static int send_frame(int fd, const void *bytes, size_t length, int twice, const char *what)
{
    unsigned char header[FRAME_HEADER_SIZE];
    frame_put_header(header, (uint32_t)(twice ? 2 * length : length));
    int sent = send_all(fd, header, sizeof header, "the length");
    if (sent == 0 && twice)
        sent = send_payload_twice(fd, bytes, length);
    else if (sent == 0)
        sent = send_all(fd, bytes, length, what);
    return reply_outcome(sent);
}
