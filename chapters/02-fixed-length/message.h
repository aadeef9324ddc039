/* message.h: moving one fixed-length message over a TCP stream.
 *
 * The contract of chapter 2's two loops. A message is exactly MSGLEN bytes;
 * send() and recv() may each move only part of what they were asked to, so
 * send_message() calls send() until every byte has gone, and recv_message()
 * calls recv() until every byte has come. Both narrate each call with the
 * progress through the message: "recv(fd 3, up to 32) -> 10 bytes (10/32)".
 * Neither exits, and neither looks inside the message.
 *
 * Usage: struct message_settings how = { 32, 32, 0, 4096 };
 *        if (send_message(fd, message, 32, &how) == -1) sl_fail_errno("send");
 *        ssize_t got = recv_message(fd, reply, &how);   // 32, fewer, or -1
 * See also: message.c, send(2), recv(2); server.c and client.c use them.
 */
#ifndef SOCKLAB_MESSAGE_H
#define SOCKLAB_MESSAGE_H

#include <stddef.h>
#include <sys/types.h>

/* How the bytes of a message are cut into calls. */
struct message_settings {
    size_t msglen;      /* bytes in every message: both sides must agree */
    size_t chunk;       /* at most this many bytes per send() (>= 1); msglen or
                           more sends a message in one call */
    int pause_ms;       /* milliseconds to wait between two pieces of a message */
    size_t recv_size;   /* at most this many bytes per recv() (>= 1) */
};

/* Sends the first LENGTH bytes of the MSGLEN-byte MESSAGE on FD, in pieces
 * of at most HOW->chunk bytes with HOW->pause_ms between them, calling send()
 * again after a short count, until all LENGTH have gone. LENGTH is msglen,
 * except to break a message off on purpose (then less). Retries on EINTR.
 * 0 when every byte went; -1 with errno set when a send() failed (EPIPE,
 * ECONNRESET, or EAGAIN when a send timeout expired), part of it maybe sent. */
int send_message(int fd, const char *message, size_t length, const struct message_settings *how);

/* Receives one message into BUFFER (room for HOW->msglen bytes), calling
 * recv() for the rest of the message, at most HOW->recv_size bytes a time,
 * never for more than the message: bytes of the next message stay in the
 * kernel. Retries on EINTR. Returns msglen when the message is whole; fewer
 * (0 too) when the peer closed first, narrated as "connection broken after
 * K of N bytes"; -1 with errno set when a recv() failed (ECONNRESET, or
 * EAGAIN when a receive timeout expired). */
ssize_t recv_message(int fd, char *buffer, const struct message_settings *how);

#endif
