/* server.c: chapter 2, an echo server for fixed-length messages.
 *
 * One client at a time, as in chapter 1. The server does not read one
 * message at a time: each recv() asks for as much as it is allowed (up to
 * recv_size), into a buffer, and whole messages are then carved out of what
 * has arrived. So one recv() may bring several messages, or part of one;
 * the start of the next message stays in the buffer for the next round.
 * Each whole message is echoed back unchanged with send_message().
 *
 * Usage: 02-fixed-length server [--bind ADDR] [--port N] [--once] [--msglen N]
 *                               [--recv-size N] [--chunk N [--pause MS]]
 * See also: message.c (send_message), client.c, ../01-blocking/sockets.c
 *           (start_listening, accept_or_exit), recv(2), accept(2).
 */
#include "fixed_length.h"

#include "narrate.h"
#include "../01-blocking/sockets.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

static void narrate_arrival(int fd, size_t asked, ssize_t got, size_t buffered, size_t msglen);
static int echo_message(int client, const char *message, unsigned long number,
                        const struct server_settings *settings);

/* Room for what is kept between rounds (less than one message) plus one
 * recv(): msglen + recv_size, each at most MAX_MSGLEN. Sized by us, never by
 * a peer; one buffer, as there is one client at a time. */
static char buffer[2 * MAX_MSGLEN];

/* Echoes clients one after another, COUNT of them (0: forever). A client
 * that breaks off mid-message costs only its own connection. */
void serve(int listener, int count, const struct server_settings *settings)
{
    for (int served = 0; count == 0 || served < count;) {
        /* Out of descriptors (EMFILE), this server stops and says why:
         * between clients it holds only its listener, so it has nothing to
         * close to make room, and trying again would fail again at once. */
        int client = accept_or_exit(listener);
        if (settings->nodelay)
            disable_nagle(client);
        struct pending pending = { 0, 0 };
        while (echo_round(client, &pending, settings) > 0)
            continue;
        close(client);
        sl_narrate("close(fd %d)", client);
        served++;
    }
}

/* One round: one recv(), then every message it completed echoed. 1 to go on;
 * 0 when the client closed between two messages; -1 when it broke off or
 * failed. */
int echo_round(int client, struct pending *pending, const struct server_settings *settings)
{
    size_t msglen = settings->message.msglen, want = settings->message.recv_size;
    ssize_t n;
    do {
        n = recv(client, buffer + pending->buffered, want, 0);
    } while (n == -1 && errno == EINTR);
    if (n == -1) {
        sl_narrate("recv(fd %d, up to %zu) -> -1 %s after %zu of %zu bytes", client, want,
                   sl_errno(errno), pending->buffered, msglen);
        return -1;
    }
    if (n == 0 && pending->buffered == 0) {
        sl_narrate("recv(fd %d, up to %zu) -> 0: the client closed its side", client, want);
        return 0;
    }
    if (n == 0) {
        sl_narrate("recv(fd %d, up to %zu) -> 0: connection broken after %zu of %zu bytes",
                   client, want, pending->buffered, msglen);
        return -1;
    }
    pending->buffered += (size_t)n;
    narrate_arrival(client, want, n, pending->buffered, msglen);
    size_t start = 0;
    for (; pending->buffered - start >= msglen; start += msglen) {
        if (echo_message(client, buffer + start, ++pending->echoed, settings) == -1)
            return -1;
    }
    /* Keep the start of the next message, if it came along, for the next round. */
    memmove(buffer, buffer + start, pending->buffered - start);
    pending->buffered -= start;
    return 1;
}

/* Echoes one whole message; with break_after, only part of the first. */
static int echo_message(int client, const char *message, unsigned long number,
                        const struct server_settings *settings)
{
    size_t msglen = settings->message.msglen;
    if (settings->break_after >= 0 && number == 1) {
        sl_narrate("message 1 complete: echoing only %s of it, then closing (--break-after)",
                   sl_plural(settings->break_after, "byte"));
        /* The connection ends here either way; the send's narration says how it went. */
        (void)send_message(client, message, (size_t)settings->break_after, &settings->message);
        return -1;
    }
    sl_narrate("message %lu complete: echoing its %s", number, sl_plural((long long)msglen, "byte"));
    return send_message(client, message, msglen, &settings->message);
}

/* Says what one recv() brought: part of a message, or one or more whole
 * messages (and maybe the start of the next) that arrived together. */
static void narrate_arrival(int fd, size_t asked, ssize_t got, size_t buffered, size_t msglen)
{
    if (buffered <= msglen) {
        sl_narrate("recv(fd %d, up to %zu) -> %s (%zu/%zu)", fd, asked, sl_plural(got, "byte"),
                   buffered, msglen);
        return;
    }
    size_t extra = buffered % msglen;
    char rest[64] = "";
    if (extra > 0)
        snprintf(rest, sizeof rest, " + %s of the next", sl_plural((long long)extra, "byte"));
    sl_narrate("recv(fd %d, up to %zu) -> %s (%zu buffered: %s%s)", fd, asked,
               sl_plural(got, "byte"), buffered,
               sl_plural((long long)(buffered / msglen), "whole message"), rest);
}

int run_server(const struct server_settings *settings)
{
    int listener = start_listening(settings->bind_address, settings->port, 8);
    serve(listener, settings->once ? 1 : 0, settings);
    close(listener);
    return SL_EXIT_OK;
}
