/* demo.c: chapter 4's demo: the recipe's runs, close() against shutdown(),
 * and the socket a forked child shares.
 *
 * Harness, not lesson: each exchange gets a server of its own, forked on a
 * free port for one client, and reaped before the next scene starts, so a
 * scene's narration is over before the next heading. The reply is printed
 * on a line of its own after the narration.
 *
 * Usage: 04-shutdown demo [recipe|close|fork]
 * See also: server.c, client.c, fork.c, README.md ("The demo").
 */
#include "shutdown.h"

#include "narrate.h"
#include "proc.h"
#include "../01-blocking/sockets.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The recipe's own values: its payload, and the server's marker. */
#define PAYLOAD "a1234"
#define RIGHT_MARKER "SERVER WRONG MARKER"

/* A server in a child process for one client, on a free port: its pid.
 * With GATE (NULL for none) it accepts only once the caller closes *GATE,
 * the write end of a pipe. The pipe is made after the listener, and this
 * process keeps only that end, so each process's descriptors are those of
 * a hand run (the listener 3, each socket after it). */
static pid_t start_server(const struct server_settings *server, int *port, int *gate)
{
    sl_set_role("server");
    int listener = start_listening("127.0.0.1", 0, 8);
    *port = local_port(listener);
    int pipe_fds[2] = { -1, -1 };
    if (gate != NULL && pipe(pipe_fds) == -1)
        sl_fail_errno("pipe");
    pid_t pid = sl_fork();
    if (pid == 0) {
        if (gate != NULL) {
            close(pipe_fds[1]);
            char byte;
            while (read(pipe_fds[0], &byte, 1) > 0)
                ;
            close(pipe_fds[0]);
        }
        serve(listener, 1, server);
        exit(SL_EXIT_OK);
    }
    close(listener);
    if (gate != NULL) {
        close(pipe_fds[0]);
        *gate = pipe_fds[1];
    }
    return pid;
}

/* One scene: a server, the client sending PAYLOAD and MARKER and ending as
 * FINISH says, then "reply: ..." once the server is done too. A client that
 * closes at once is gone before its server accepts (its connection waits in
 * the backlog), as it may be on a busy machine anyway: so the reply meets a
 * closed socket in every run, never one still open for a moment. */
static int exchange(const char *title, const char *marker, enum finish finish,
                    const struct server_settings *server)
{
    sl_scene(title);
    int port, gate = -1;
    pid_t pid = start_server(server, &port, finish == FINISH_CLOSE ? &gate : NULL);
    sl_set_role("client");
    struct client_settings c = {
        "127.0.0.1", port, (const unsigned char *)PAYLOAD, strlen(PAYLOAD),
        (const unsigned char *)marker, strlen(marker), 8192, 1024 * 1024, 0, finish, 0
    };
    char why[256];
    int fd = connect_to_server(c.host, c.port, why, sizeof why);
    if (fd == -1)
        sl_fail("%s", why);
    printf("reply: ");
    marker_exchange(fd, &c);
    if (finish != FINISH_CLOSE) {
        close(fd);
        sl_narrate("close(fd %d)", fd);
    }
    if (gate != -1)
        close(gate);
    int status = sl_reap(pid, "server");
    if (finish == FINISH_CLOSE)
        printf("(none: the client never read it)\n");
    end_reply_line(0);
    return status;
}

static int demo_recipe(const struct server_settings *server)
{
    int status = exchange("markers that match: the client ends with the server's marker",
                          RIGHT_MARKER, FINISH_SHUTDOWN, server);
    status |= exchange("markers that don't: the client ends with 'CLIENT WRONG MARKER'",
                       "CLIENT WRONG MARKER", FINISH_SHUTDOWN, server);
    return status;
}

static int demo_close(const struct server_settings *server)
{
    int status = exchange("close() right after sending: the reply has nowhere to go",
                          RIGHT_MARKER, FINISH_CLOSE, server);
    status |= exchange("shutdown(SHUT_WR) instead: done sending, still reading", RIGHT_MARKER,
                       FINISH_SHUTDOWN, server);
    return status;
}

static void demo_fork(void)
{
    sl_scene("close() on a socket a forked child also holds");
    shared_close();
    sl_scene("shutdown(SHUT_WR) on a socket a forked child also holds");
    shared_shutdown_write();
    sl_scene("shutdown(SHUT_RDWR) while the child waits in recv()");
    shared_shutdown_both();
}

int run_demo(const char *scenario, const struct server_settings *server)
{
    int all = strcmp(scenario, "all") == 0, status = 0;
    if (all || strcmp(scenario, "recipe") == 0)
        status |= demo_recipe(server);
    if (all || strcmp(scenario, "close") == 0)
        status |= demo_close(server);
    if (all || strcmp(scenario, "fork") == 0)
        demo_fork();
    return status ? SL_EXIT_RUNTIME : SL_EXIT_OK;
}
