/* message.c: chapter 2, the two loops that move a whole message.
 *
 * TCP keeps no edges between messages: one send() may arrive as several
 * recv()s, and a send() may take fewer bytes than it was given. With
 * messages of a fixed length, the receiver knows where each one ends, as
 * long as both sides loop until the whole message has moved.
 *
 * Chapter 1's send_all() is the same send loop; this one also cuts the
 * message into pieces and narrates the progress through it, because that is
 * what this chapter shows. The Python Socket Programming HOWTO teaches the
 * same two loops in its MySocket class (MSGLEN, "socket connection broken").
 *
 * Usage: see message.h.
 * See also: send(2), recv(2), server.c (which reads ahead instead),
 *           ../01-blocking/sockets.c (send_all),
 *           https://docs.python.org/3/howto/sockets.html
 */
#include "message.h"

#include "narrate.h"
#include "proc.h"

#include <errno.h>
#include <sys/socket.h>
#include <sys/types.h>

int send_message(int fd, const char *message, size_t length, const struct message_settings *how)
{
    size_t sent = 0;
    while (sent < length) {
        size_t piece = length - sent < how->chunk ? length - sent : how->chunk;
        if (sent > 0 && how->pause_ms > 0)
            sl_sleep(how->pause_ms / 1000.0);
        ssize_t n = send(fd, message + sent, piece, 0);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1) {
            sl_narrate("send(fd %d, %s) -> -1 %s after %zu of %zu bytes", fd,
                       sl_plural((long long)piece, "byte"), sl_errno(errno), sent, how->msglen);
            return -1;
        }
        sent += (size_t)n;
        /* A short count is no error: the rest goes in the next send(). */
        sl_narrate("send(fd %d, %s) -> %s (%zu/%zu)%s", fd, sl_plural((long long)piece, "byte"),
                   sl_plural(n, "byte"), sent, how->msglen,
                   (size_t)n < piece ? ": a short send, the rest goes next" : "");
    }
    return 0;
}

/* Each recv() returns whatever has arrived, from 1 byte up to what it was
 * asked for: one recv() is never "the message". */
ssize_t recv_message(int fd, char *buffer, const struct message_settings *how)
{
    size_t received = 0;
    while (received < how->msglen) {
        size_t want = how->msglen - received;
        if (want > how->recv_size)
            want = how->recv_size;
        ssize_t n = recv(fd, buffer + received, want, 0);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1) {
            sl_narrate("recv(fd %d, up to %zu) -> -1 %s after %zu of %zu bytes", fd, want,
                       sl_errno(errno), received, how->msglen);
            return -1;
        }
        if (n == 0) {
            /* The peer closed its side: the rest of this message will never come. */
            sl_narrate("recv(fd %d, up to %zu) -> 0: connection broken after %zu of %zu bytes", fd,
                       want, received, how->msglen);
            return (ssize_t)received;
        }
        received += (size_t)n;
        sl_narrate("recv(fd %d, up to %zu) -> %s (%zu/%zu)", fd, want, sl_plural(n, "byte"),
                   received, how->msglen);
    }
    return (ssize_t)received;
}
