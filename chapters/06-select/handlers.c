/* handlers.c: chapter 6, what the server does when a client is ready.
 *
 * Beej's handle_client_data and a flush for output that could not go out at
 * once. Each client owns a bounded output buffer: what the server owes it and
 * could not send yet. Input is read only while that buffer has room, so a
 * client that stops reading ends up not read from (backpressure) instead of
 * making the server hold its bytes without limit; and one recv() per client
 * per turn bounds what one client's input can cost the others.
 *
 * Usage: see clients.h: the loop calls handle_client_data() when a client is
 *        readable, flush_pending() when it is writable.
 * See also: clients.c (the table), chat.c (--chat), recv(2), send(2).
 */
#include "clients.h"

#include "proc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>

static void echo_at_once(struct client *c, const char *data, size_t length);
static void note_backpressure(struct client *c);
static void drop_after_error(struct client *c, const char *call, size_t length);

/* One bounded helping of input: one recv(), into the chat line buffer or a
 * stack buffer no larger than the room left in the client's output buffer.
 * Never more than there is room for: that bounds what one client can make
 * the server hold, and what its input can cost the others in one turn. */
int handle_client_data(struct client *c)
{
    const struct server_settings *s = clients_settings();
    char echo[16384];
    char *into = s->chat ? c->line + c->line_length : echo;
    size_t room = s->chat ? CHAT_LINE_MAX - c->line_length
                          : (size_t)s->max_pending - c->pending_length;
    size_t most = s->chat ? CHAT_TURN_BYTES : sizeof echo;
    if (room > most)
        room = most;
    ssize_t n = recv(c->fd, into, room, 0);
    if (n == -1 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
        return 0;   /* readiness can be a false alarm: nothing is lost */
    if (n == -1) {
        drop_after_error(c, "recv", 0);
        return 0;
    }
    if (n == 0) {
        /* Readable, and zero bytes: the client closed its side. It may still
         * read, so what it is owed goes out before the server closes. */
        sl_narrate("recv(fd %d) -> 0: EOF, the client sends no more", c->fd);
        c->eof = 1;
        if (s->chat)
            chat_take_rest(c);
        client_touch(c);
        return 0;
    }
    sl_narrate("recv(fd %d) -> %zd bytes", c->fd, n);
    if (s->idle > 0)
        c->last_heard = sl_now();
    if (s->chat) {
        c->line_length += (size_t)n;
        chat_take_lines(c);
    } else {
        echo_at_once(c, echo, (size_t)n);
    }
    return (size_t)n == room && c->fd != -1 && !c->held_back;
}

/* Most often an echo goes out at once, straight from the buffer it was read
 * into: only what send() can't take now is kept for later. */
static void echo_at_once(struct client *c, const char *data, size_t length)
{
    size_t sent = 0;
    if (c->pending_length == 0 && !c->blocked) {
        ssize_t n = send(c->fd, data, length, 0);
        if (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            drop_after_error(c, "send", length);
            return;
        }
        if (n == -1)
            sl_narrate("send(fd %d, %zu bytes) -> -1 EAGAIN: kept for later", c->fd, length);
        else
            sl_narrate("send(fd %d, %zu bytes) -> %zd", c->fd, length, n);
        sent = n == -1 ? 0 : (size_t)n;
    }
    if (sent < length && queue_output(c, data + sent, length - sent) == -1)
        close_client(c, "no memory for its output");
}

/* A failed recv or send: narrated as strace shows it, and that client closed. */
static void drop_after_error(struct client *c, const char *call, size_t length)
{
    char why[64];
    snprintf(why, sizeof why, "%s failed (%s)", call, sl_errno_name(errno));
    if (length > 0)
        sl_narrate("%s(fd %d, %zu bytes) -> -1 %s", call, c->fd, length, sl_errno(errno));
    else
        sl_narrate("%s(fd %d) -> -1 %s", call, c->fd, sl_errno(errno));
    close_client(c, why);
}

/* Sends what is pending, as much as the socket takes now. A non-blocking send
 * may take only part of it, or nothing (EAGAIN): the rest waits until the
 * loop says the socket is writable. 0, or -1 once the client is closed. */
int flush_pending(struct client *c)
{
    c->blocked = 0;
    while (c->pending_length > 0) {
        ssize_t n = send(c->fd, c->pending + c->pending_start, c->pending_length, 0);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            sl_narrate("send(fd %d, %zu bytes) -> -1 EAGAIN: its buffer is full, wait for "
                       "writable", c->fd, c->pending_length);
            c->blocked = 1;
            break;
        }
        if (n == -1) {
            drop_after_error(c, "send", c->pending_length);
            return -1;
        }
        sl_narrate("send(fd %d, %zu bytes) -> %zd", c->fd, c->pending_length, n);
        c->pending_start += (size_t)n;
        c->pending_length -= (size_t)n;
    }
    client_touch(c);
    if (c->pending_length == 0) {
        c->pending_start = 0;
        if (c->eof) {
            close_client(c, "it sent EOF and has all its replies");
            return -1;
        }
    }
    note_backpressure(c);
    return 0;
}

int queue_output(struct client *c, const char *data, size_t length)
{
    size_t size = (size_t)clients_settings()->max_pending;
    if (length > size - c->pending_length)
        return -1;
    if (c->pending == NULL) {
        c->pending = malloc(size);
        if (c->pending == NULL)
            return -1;
    }
    if (c->pending_start > 0) {     /* the free room in one piece, at the end */
        memmove(c->pending, c->pending + c->pending_start, c->pending_length);
        c->pending_start = 0;
    }
    memcpy(c->pending + c->pending_length, data, length);
    c->pending_length += length;
    note_backpressure(c);
    client_touch(c);
    return 0;
}

/* Backpressure: a client whose buffer is full is not read from (client_wants)
 * until it takes some of what it is owed. Says so when that starts and ends. */
static void note_backpressure(struct client *c)
{
    /* Full: less room than one more chat line (or 1K of echo) would need. */
    int full = (size_t)clients_settings()->max_pending - c->pending_length < 1024;
    if (full && !c->held_back)
        sl_narrate("fd %d: %zu bytes pending, the --max-pending bound: not reading from it "
                   "until it reads", c->fd, c->pending_length);
    else if (!full && c->held_back) {
        sl_narrate("fd %d: down to %zu bytes pending: reading from it again", c->fd,
                   c->pending_length);
        c->last_heard = sl_now();   /* --idle: its clock was stopped while held back */
    }
    c->held_back = full;
}

int client_wants(const struct client *c)
{
    return (!c->eof && !c->held_back ? WANT_READ : 0) | (c->pending_length > 0 ? WANT_WRITE : 0);
}
