/* demo.c: chapter 6's demo: one thread serving two clients at once, then the
 * deadlock of a client that sends before it reads, and its cure.
 *
 * Harness, not lesson: it runs serve_with_select() from server.c in a child
 * process, and forks clients against it, ordered with pipes so that the
 * narration shows client B served while client A is still connected. Each
 * client leaves by half-closing and waiting for the server's close, so that
 * only one thing is ever ready for the server at a time and it has said its
 * last word before it is stopped: every run of the first scene makes the
 * same calls, which the lesson's picture (ladder.svg) relies on.
 *
 * Usage: 06-select demo
 * See also: server.c, client.c, stream.c, README.md ("One thread, many clients").
 */
#include "nonblocking.h"

#include "../01-blocking/sockets.h"
#include "narrate.h"
#include "proc.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

static struct server_settings demo_server = { "127.0.0.1", 0, 128, 0, 0, 64 * 1024, 0 };
static int demo_quiet;      /* --quiet: the whole demo says nothing */

/* The demo stops its server with SIGTERM: that is the end, not a failure. */
static void exit_quietly(int signal_number)
{
    (void)signal_number;
    _exit(SL_EXIT_OK);
}

/* Runs the select server in a child process, on a free port. */
static pid_t start_demo_server(int *port, int quiet)
{
    sl_set_role("server");
    sl_set_quiet(quiet || demo_quiet);
    if (clients_init(&demo_server, FD_SETSIZE, NULL) == -1)
        sl_fail_errno("calloc");
    int listener = get_listener(demo_server.bind_address, 0, demo_server.backlog);
    *port = local_port(listener);
    pid_t pid = sl_fork();
    if (pid == 0) {
        signal(SIGTERM, exit_quietly);
        serve_with_select(listener, &demo_server);
        exit(SL_EXIT_OK);
    }
    close(listener);
    sl_set_quiet(demo_quiet);
    sl_set_role("demo");
    return pid;
}

static void stop_demo_server(pid_t server)
{
    kill(server, SIGTERM);
    sl_reap(server, "server");
}

/* Sends one short line and reads until its whole echo is back (5 s at most). */
static void demo_echo(int fd, const char *line)
{
    size_t length = strlen(line);
    if (send(fd, line, length, 0) != (ssize_t)length)
        sl_fail_errno("send");
    sl_narrate("send(fd %d, %zu bytes) -> %zu", fd, length, length);
    char buffer[256];
    size_t received = 0;
    while (received < length) {
        if (sl_wait_readable(fd, 5) != 1)
            sl_fail("select: no echo within 5 s");
        ssize_t n = recv(fd, buffer + received, length - received, 0);
        if (n == -1 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
            continue;
        if (n == -1)
            sl_fail_errno("recv");
        if (n == 0)
            sl_fail("recv: the server closed");
        received += (size_t)n;
    }
    sl_narrate("recv(fd %d) -> %zu bytes: %.*s", fd, length, (int)length - 1, buffer);
}

/* Half-closes, then reads until the server closes too (5 s at most): the
 * server's FIN leaves only after it has narrated that close, so once this
 * returns the server has said all it will say about this client. That is
 * what lets the next step (A's last line, the server's SIGTERM) come after
 * it on every run, never in the same select() or before its narration. */
static void leave(int fd)
{
    if (shutdown(fd, SHUT_WR) == -1)
        sl_fail_errno("shutdown");
    sl_narrate("shutdown(fd %d, SHUT_WR) -> 0: no more from us", fd);
    char byte;
    for (;;) {
        if (sl_wait_readable(fd, 5) != 1)
            sl_fail("select: the server did not close within 5 s");
        ssize_t n = recv(fd, &byte, 1, 0);
        if (n == 0)
            break;
        if (n == -1 && errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)
            sl_fail_errno("recv");
        if (n == 1)
            sl_fail("recv: a byte from the server after its echo");
    }
    sl_narrate("recv(fd %d) -> 0: the server closed the connection", fd);
    close(fd);
    sl_narrate("close(fd %d)", fd);
}

/* Client A: served, and stays connected until B has come and gone. */
static _Noreturn void client_a(int port, int a_served, int b_done)
{
    char byte = 'x';
    sl_set_role("client A");
    int fd = connect_nonblocking("127.0.0.1", port, 5);
    demo_echo(fd, "hello from A\n");
    sl_narrate("staying connected while B comes and goes");
    if (write(a_served, &byte, 1) != 1)
        sl_fail_errno("write pipe");
    if (read(b_done, &byte, 1) != 1)
        sl_fail("B never finished");
    demo_echo(fd, "bye from A\n");
    leave(fd);
    exit(SL_EXIT_OK);
}

/* Client B: comes while A is connected, is served, and leaves. */
static _Noreturn void client_b(int port, int a_served, int b_done)
{
    char byte = 'x';
    sl_set_role("client B");
    if (read(a_served, &byte, 1) != 1)
        sl_fail("A was never served");
    int fd = connect_nonblocking("127.0.0.1", port, 5);
    demo_echo(fd, "hello from B\n");
    sl_narrate("served while A is still connected: one thread, two clients");
    leave(fd);
    if (write(b_done, &byte, 1) != 1)
        sl_fail_errno("write pipe");
    exit(SL_EXIT_OK);
}

/* With chapter 1's server B would wait for A to leave. */
static int demo_two_clients(int port)
{
    int a_served[2], b_done[2];
    if (pipe(a_served) == -1 || pipe(b_done) == -1)
        sl_fail_errno("pipe");
    /* Each child keeps only the pipe ends it uses: if one dies, the other
     * reads EOF and says so instead of waiting forever. */
    pid_t a = sl_fork();
    if (a == 0) {
        close(a_served[0]);
        close(b_done[1]);
        client_a(port, a_served[1], b_done[0]);
    }
    pid_t b = sl_fork();
    if (b == 0) {
        close(a_served[1]);
        close(b_done[0]);
        client_b(port, a_served[0], b_done[1]);
    }
    close(a_served[0]);
    close(a_served[1]);
    close(b_done[0]);
    close(b_done[1]);
    int status_b = sl_reap(b, "client B");
    int status_a = sl_reap(a, "client A");
    return status_a == 0 && status_b == 0;
}

/* The same 64M through the server, in a child named ROLE: its exit status. */
static int stream_64m(const char *role, int port, int blocking)
{
    pid_t pid = sl_fork();
    if (pid == 0) {
        sl_set_role(role);
        struct client_settings settings = { "127.0.0.1", port, NULL, 0, 64LL * 1024 * 1024,
                                            blocking, 0.3, 0, 5 };
        int fd = connect_nonblocking(settings.host, port, settings.connect_timeout);
        narrate_buffer_sizes(fd);
        run_stream(fd, &settings);
        exit(SL_EXIT_OK);
    }
    return sl_reap(pid, role);
}

static int demo_two(void)
{
    int port;
    sl_scene("One thread, two clients at once");
    pid_t server = start_demo_server(&port, 0);
    int ok = demo_two_clients(port);
    stop_demo_server(server);
    return ok;
}

static int demo_deadlock(void)
{
    int port;
    sl_scene("The deadlock: 64M sent before reading a byte");
    sl_narrate("the server is quiet from here (it would say thousands of lines)");
    pid_t server = start_demo_server(&port, 1);
    int naive = stream_64m("blocking client", port, 1);
    sl_narrate("the blocking client exited %d (%s)", naive,
               naive == EXIT_STALLED ? "stalled, as expected" : "unexpected");

    sl_scene("The cure: the same 64M, reading while it writes");
    int fixed = stream_64m("select client", port, 0);
    sl_narrate("the select client exited %d", fixed);
    stop_demo_server(server);
    return naive == EXIT_STALLED && fixed == 0;
}

int run_demo(int quiet, const char *scene)
{
    demo_quiet = quiet;
    if (scene != NULL && strcmp(scene, "two-clients") == 0)
        return demo_two() ? SL_EXIT_OK : SL_EXIT_RUNTIME;
    if (scene != NULL && strcmp(scene, "deadlock") == 0)
        return demo_deadlock() ? SL_EXIT_OK : SL_EXIT_RUNTIME;
    if (scene != NULL)
        sl_usage_error("unknown scene '%s' (one of: two-clients, deadlock)", scene);
    int ok = demo_two();
    ok &= demo_deadlock();
    return ok ? SL_EXIT_OK : SL_EXIT_RUNTIME;
}
