/* demo.c: chapter 1's demo, a server and two clients in one terminal.
 *
 * Harness, not lesson: it forks two clients against serve() from server.c
 * and orders them with pipes, so that the narration shows client B connected
 * (in the backlog) while the server is still busy with client A.
 *
 * Usage: 01-blocking demo
 * See also: server.c, client.c, README.md ("Two clients at once").
 */
#include "blocking.h"

#include "narrate.h"
#include "proc.h"
#include "sockets.h"

#include <stdlib.h>
#include <unistd.h>

/* Client A: connected and served; it stays until B tells it B has connected. */
static _Noreturn void demo_client_a(int port, int a_was_served, int b_has_connected)
{
    sl_set_role("client A");
    int fd = connect_or_exit("127.0.0.1", port);
    echo_line(fd, "hello from A\n", 13);
    /* Each line is narrated before the step that lets the others go on, so
     * the narration on screen is in the order things really happened. */
    sl_narrate("waiting until B has connected, to show B waits for the server");
    if (write(a_was_served, "x", 1) != 1)
        sl_fail_errno("write to pipe");
    char byte;
    if (read(b_has_connected, &byte, 1) != 1)
        sl_fail("B never connected");
    echo_line(fd, "bye from A\n", 11);
    sl_narrate("close(fd %d): now the server can accept B", fd);
    close(fd);
    exit(SL_EXIT_OK);
}

/* Client B: connects while A is being served; its connect succeeds at once
 * (the kernel queues it), and so does its send (the kernel takes the bytes),
 * but its echo waits until the server is done with A. */
static _Noreturn void demo_client_b(int port, int a_was_served, int b_has_connected)
{
    sl_set_role("client B");
    char byte;
    if (read(a_was_served, &byte, 1) != 1)
        sl_fail("A was never served");
    /* B starts both scenes it is in: at each, everyone else is waiting (A
     * on a pipe, the server in recv), so each scene's lines are complete. */
    sl_scene("client B connects while the server is busy with A");
    int fd = connect_or_exit("127.0.0.1", port);
    sl_narrate("connected, though the server has not accepted me: I am in its backlog");
    /* Sent before A leaves, so that it is always the server's kernel, not
     * the server, that takes B's line. */
    if (send_all(fd, "hello from B\n", 13, NULL) == -1)
        sl_fail_errno("send");
    sl_scene("A says bye and leaves: only then does the server accept B");
    if (write(b_has_connected, "x", 1) != 1)
        sl_fail_errno("write to pipe");
    read_echo(fd, "hello from B\n", 13);
    close(fd);
    sl_narrate("close(fd %d)", fd);
    exit(SL_EXIT_OK);
}

int run_demo(int backlog)
{
    /* The listener first, so its descriptor (3) is the one a hand run gets. */
    sl_scene("a server, and client A, whom it serves");
    sl_set_role("server");
    char why[256];
    int listener = open_listener("127.0.0.1", 0, backlog, 1, why, sizeof why);
    if (listener == -1)
        sl_fail("%s", why);
    if (announce_listening(listener) == -1)
        sl_fail_errno("getsockname");
    int port = local_port(listener);

    int a_was_served[2], b_has_connected[2];
    if (pipe(a_was_served) == -1 || pipe(b_has_connected) == -1)
        sl_fail_errno("pipe");
    /* Each process keeps only the pipe ends it uses: then if one dies, the
     * other reads EOF and says so, instead of waiting forever. */
    pid_t a = sl_fork();
    if (a == 0) {
        close(listener);
        close(a_was_served[0]);
        close(b_has_connected[1]);
        demo_client_a(port, a_was_served[1], b_has_connected[0]);
    }
    pid_t b = sl_fork();
    if (b == 0) {
        close(listener);
        close(a_was_served[1]);
        close(b_has_connected[0]);
        demo_client_b(port, a_was_served[0], b_has_connected[1]);
    }
    close(a_was_served[0]);
    close(a_was_served[1]);
    close(b_has_connected[0]);
    close(b_has_connected[1]);
    serve(listener, 2);
    close(listener);

    int status_a = sl_reap(a, "client A"), status_b = sl_reap(b, "client B");
    return status_a == 0 && status_b == 0 ? SL_EXIT_OK : SL_EXIT_RUNTIME;
}
