/* demo.c: chapter 2's demo, a server and a client in one terminal.
 *
 * Harness, not lesson: the server (this process) and the client (a child)
 * take turns, ordered by two pipes, so that each scene's lines are all out
 * before the next scene's heading. The client sends two messages before the
 * server accepts it, so that the server's first recv() finds both waiting;
 * it reads the replies 10 bytes at a time; then it sends a third message in
 * 8-byte pieces, which the server receives a piece at a time.
 *
 * Usage: 02-fixed-length demo
 * See also: server.c (echo_round), client.c, message.c, README.md ("The demo").
 */
#include "fixed_length.h"

#include "narrate.h"
#include "proc.h"
#include "../01-blocking/sockets.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEMO_MSGLEN 32

static void pad(char *message, const char *text)
{
    size_t length = strlen(text);
    memcpy(message, text, length);
    memset(message + length, ' ', DEMO_MSGLEN - length);
}

/* The turns: one byte down a pipe says "your turn"; EOF means the other
 * side died, and is said instead of waiting forever. */
static void give_turn(int pipe_end)
{
    if (write(pipe_end, "x", 1) != 1)
        sl_fail_errno("write to pipe");
    close(pipe_end);
}

static void wait_turn(int pipe_end, const char *what_failed)
{
    char byte;
    if (read(pipe_end, &byte, 1) != 1)
        sl_fail("%s", what_failed);
    close(pipe_end);
}

static _Noreturn void demo_client(int port, int sent, int echoed)
{
    sl_set_role("client");
    struct client_settings settings = { "127.0.0.1", port, { DEMO_MSGLEN, DEMO_MSGLEN, 0, 10 },
                                        NULL, 0, -1, 0, 0 };
    char message[DEMO_MSGLEN], reply[DEMO_MSGLEN];
    sl_scene("Two messages, sent before the server calls accept()");
    int fd = open_connection(&settings);
    pad(message, "first");
    if (send_message(fd, message, DEMO_MSGLEN, &settings.message) == -1)
        sl_fail_errno("send");
    pad(message, "second");
    if (send_message(fd, message, DEMO_MSGLEN, &settings.message) == -1)
        sl_fail_errno("send");
    give_turn(sent);
    wait_turn(echoed, "the server did not echo the two messages");

    sl_scene("Each 32-byte reply read with recv()s of at most 10 bytes");
    for (int i = 0; i < 2; i++) {
        if (recv_message(fd, reply, &settings.message) != DEMO_MSGLEN)
            sl_fail("recv: the reply did not come whole");
        print_reply(reply, DEMO_MSGLEN);
    }

    sl_scene("A third message sent in 8-byte pieces, 100 ms apart");
    settings.message.chunk = 8;
    settings.message.pause_ms = 100;
    settings.message.recv_size = DEMO_MSGLEN;
    pad(message, "third, sent in pieces");
    exchange(fd, message, reply, &settings);
    /* Said before the call, so that it comes before the server's answer to it. */
    sl_narrate("close(fd %d): the server's recv() returns 0, between two messages", fd);
    close(fd);
    exit(SL_EXIT_OK);
}

/* The server's side: one client, served round by round, so that the client
 * is told when the first round (both messages echoed) is over. */
static void demo_server(int listener, int sent, int echoed)
{
    struct server_settings settings = { "127.0.0.1", 0, 1, { DEMO_MSGLEN, DEMO_MSGLEN, 0, 4096 },
                                        -1, 0 };
    /* Not accepting until both messages are in the kernel's buffer makes
     * sure they are waiting together when the server's first recv() comes. */
    wait_turn(sent, "the demo client did not send its messages");
    sl_scene("One recv() brings both messages; the server echoes each");
    int client = accept_or_exit(listener);
    struct pending pending = { 0, 0 };
    int going = echo_round(client, &pending, &settings);
    give_turn(echoed);
    while (going > 0)
        going = echo_round(client, &pending, &settings);
    close(client);
    sl_narrate("close(fd %d)", client);
}

int run_demo(void)
{
    /* The listener first, so its descriptor (3) is the one a hand run gets. */
    sl_scene("A server listening on a free port");
    sl_set_role("server");
    char why[256];
    int listener = open_listener("127.0.0.1", 0, 8, 1, why, sizeof why);
    if (listener == -1)
        sl_fail("%s", why);
    if (announce_listening(listener) == -1)
        sl_fail_errno("getsockname");
    int port = local_port(listener);

    int sent[2], echoed[2];
    if (pipe(sent) == -1 || pipe(echoed) == -1)
        sl_fail_errno("pipe");
    /* Each process keeps only the pipe ends it uses: then if one dies, the
     * other reads EOF and says so, instead of waiting forever. */
    pid_t child = sl_fork();
    if (child == 0) {
        close(listener);
        close(sent[0]);
        close(echoed[1]);
        demo_client(port, sent[1], echoed[0]);
    }
    close(sent[1]);
    close(echoed[0]);
    demo_server(listener, sent[0], echoed[1]);
    close(listener);
    return sl_reap(child, "client") == 0 ? SL_EXIT_OK : SL_EXIT_RUNTIME;
}
