/* fork.c: chapter 4, close() vs shutdown() on a socket two processes hold.
 *
 * A descriptor is a process's handle on a socket, not the socket itself.
 * fork() copies the handles: parent and child then hold one connection.
 * close() drops one handle, and the connection ends (the FIN goes out) only
 * when the last holder lets go; shutdown() acts on the socket, for every
 * holder at once. Three scenes show it, each on a connection of its own,
 * with its other end, the peer, watching what arrives. The child does one
 * step at a time when the parent tells it to, so that the narration comes
 * out in the order of the story.
 *
 * Usage: 04-shutdown demo fork
 * See also: demo.c (runs the scenes), ../01-blocking/sockets.c, fork(2),
 *           close(2), shutdown(2), poll(2).
 */
#include "shutdown.h"

#include "narrate.h"
#include "proc.h"
#include "../01-blocking/sockets.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

/* One scene's connection: held by the parent and a forked child. */
struct sharing {
    int listener;   /* the peer's listening socket, for this scene only */
    int fd;         /* the connected socket both processes hold (-1: closed) */
    int peer;       /* its other end */
    pid_t child;
    int orders;     /* the parent writes one letter per step */
    int answers;    /* the child answers when it has done it */
};

static void share_socket(struct sharing *sh);
static void tell_child(const struct sharing *sh, char order);
static void peer_looks(int peer);
static void receive_and_say(int fd, const char *at_eof);
static void peer_sends_twice(int peer);
static void end_sharing(struct sharing *sh);
static void order(const struct sharing *sh, char letter);
static void await(const struct sharing *sh, char answer);

void shared_close(void)
{
    struct sharing sh;
    share_socket(&sh);
    sl_set_role("parent");
    if (close(sh.fd) == -1)
        sl_fail_errno("close");
    sl_narrate("close(fd %d) -> 0: the parent lets go; the child still holds it", sh.fd);
    sh.fd = -1;
    peer_looks(sh.peer);        /* no FIN: another handle is still open */
    tell_child(&sh, 's');
    peer_looks(sh.peer);
    tell_child(&sh, 'c');       /* the last handle: now the FIN goes out */
    peer_looks(sh.peer);
    end_sharing(&sh);
}

void shared_shutdown_write(void)
{
    struct sharing sh;
    share_socket(&sh);
    sl_set_role("parent");
    if (shutdown(sh.fd, SHUT_WR) == -1)
        sl_fail_errno("shutdown");
    sl_narrate("shutdown(fd %d, SHUT_WR) -> 0: no more sending, whoever holds it", sh.fd);
    peer_looks(sh.peer);        /* the FIN went out at once */
    tell_child(&sh, 's');       /* the child can't send either */
    sl_set_role("peer");
    if (send_all(sh.peer, "still listening?", 16, "to the child") == -1)
        sl_fail_errno("send");
    tell_child(&sh, 'r');       /* but receiving still works */
    end_sharing(&sh);
}

void shared_shutdown_both(void)
{
    struct sharing sh;
    share_socket(&sh);
    order(&sh, 'r');
    await(&sh, 'r');            /* the child is about to block in recv() */
    sl_set_role("parent");
    sl_narrate("shutdown(fd %d, SHUT_RDWR) ... (while the child waits in recv)", sh.fd);
    if (shutdown(sh.fd, SHUT_RDWR) == -1)
        sl_fail_errno("shutdown");
    await(&sh, 'k');            /* its narration first: it woke while shutdown() returned */
    sl_narrate("shutdown(fd %d, SHUT_RDWR) -> 0: no more sending or receiving", sh.fd);
    peer_looks(sh.peer);
    peer_sends_twice(sh.peer);
    end_sharing(&sh);
}

/* ---- what the peer sees ----------------------------------------------------- */

/* Data, EOF, an error, or nothing within 0.2 s. */
static void peer_looks(int peer)
{
    sl_set_role("peer");
    if (wait_readable(peer, sl_now() + 0.2) == 0) {
        sl_narrate("poll(fd %d, 200 ms) -> 0: no data, no EOF: the connection is open", peer);
        return;
    }
    receive_and_say(peer, "EOF");
}

/* One recv() on FD, narrated: the bytes, AT_EOF when it returns 0, or the error. */
static void receive_and_say(int fd, const char *at_eof)
{
    char buffer[64];
    ssize_t n = recv(fd, buffer, sizeof buffer, 0);
    if (n == -1)
        sl_narrate("recv(fd %d) -> -1 %s", fd, sl_errno(errno));
    else if (n == 0)
        sl_narrate("recv(fd %d) -> 0: %s", fd, at_eof);
    else
        sl_narrate("recv(fd %d) -> %s '%.*s'", fd, sl_plural(n, "byte"), (int)n, buffer);
}

/* A socket shut down for reading (and writing) answers any data that comes
 * with a reset: the peer's first send() is taken by its own kernel and goes
 * out; the reset comes back; the next send() fails. */
static void peer_sends_twice(int peer)
{
    sl_set_role("peer");
    if (send_all(peer, "anyone there?", 13, "after the shutdown") == -1)
        return;
    /* No events asked for: poll() then reports only an error or a hang-up. */
    struct pollfd p = { peer, 0, 0 };
    int ready;
    while ((ready = poll(&p, 1, 2000)) == -1 && errno == EINTR)
        continue;
    if (ready == 1 && (p.revents & POLLERR))
        sl_narrate("poll(fd %d) -> POLLERR: the answer was a reset (RST)", peer);
    else
        sl_narrate("poll(fd %d, 2000 ms) -> %d: no reset came back", peer, ready);
    if (send_all(peer, "anyone there?", 13, "again") == 0)
        sl_narrate("the second send() went through too");
}

/* ---- one connection, two holders -------------------------------------------- */

/* The child: one step per letter from the parent ('s' send, 'r' recv,
 * 'c' close, 'q' quit), each answered with 'k' once done; before it blocks
 * in recv() it answers 'r', so the parent knows it is waiting. */
static void child_receives(int fd, int answers);

static _Noreturn void child_obeys(int fd, int orders, int answers)
{
    sl_set_role("child");
    char letter;
    while (read(orders, &letter, 1) == 1 && letter != 'q') {
        if (letter == 's')
            (void)send_all(fd, "hello from the child", 20, NULL);   /* narrated either way */
        if (letter == 'r')
            child_receives(fd, answers);
        if (letter == 'c') {
            if (close(fd) == -1)
                sl_narrate("close(fd %d) -> -1 %s", fd, sl_errno(errno));
            else
                sl_narrate("close(fd %d) -> 0: the last holder lets go", fd);
        }
        if (write(answers, "k", 1) != 1)
            break;
    }
    exit(SL_EXIT_OK);
}

static void child_receives(int fd, int answers)
{
    sl_narrate("recv(fd %d) ... (blocks until there is something)", fd);
    if (write(answers, "r", 1) != 1)
        exit(SL_EXIT_RUNTIME);
    receive_and_say(fd, "reading is shut down, for me too");
}

/* The peer listens on a free port; the parent connects and forks a child,
 * which inherits the connected socket; the peer accepts its end. */
static void share_socket(struct sharing *sh)
{
    char why[256];
    int orders[2], answers[2];
    sl_set_role("peer");
    if ((sh->listener = open_listener("127.0.0.1", 0, 8, 1, why, sizeof why)) == -1)
        sl_fail("%s", why);
    sl_set_role("parent");
    sh->fd = connect_to_server("127.0.0.1", local_port(sh->listener), why, sizeof why);
    if (sh->fd == -1)
        sl_fail("%s", why);
    if (pipe(orders) == -1 || pipe(answers) == -1)
        sl_fail_errno("pipe");
    sh->child = sl_fork();
    if (sh->child == 0) {
        close(sh->listener);
        close(orders[1]);
        close(answers[0]);
        child_obeys(sh->fd, orders[0], answers[1]);
    }
    close(orders[0]);
    close(answers[1]);
    sh->orders = orders[1];
    sh->answers = answers[0];
    sl_narrate("fork() -> child %ld: fd %d is now held by both processes", (long)sh->child,
               sh->fd);
    sl_set_role("peer");
    if ((sh->peer = accept_client(sh->listener)) == -1)
        sl_fail_errno("accept");
}

static void order(const struct sharing *sh, char letter)
{
    if (write(sh->orders, &letter, 1) != 1)
        sl_fail_errno("write to the child");
}

/* Reads the child's answers until ANSWER. */
static void await(const struct sharing *sh, char answer)
{
    char got = 0;
    while (got != answer) {
        if (read(sh->answers, &got, 1) != 1)
            sl_fail("the child is gone");
    }
}

/* One step, and wait until the child has done it. */
static void tell_child(const struct sharing *sh, char letter)
{
    order(sh, letter);
    await(sh, 'k');
}

/* The child quits and is reaped (its narration is all out), then every
 * descriptor of the scene is closed: the next scene starts from nothing. */
static void end_sharing(struct sharing *sh)
{
    order(sh, 'q');
    close(sh->orders);
    close(sh->answers);
    sl_reap(sh->child, "child");
    if (sh->fd != -1)
        close(sh->fd);
    close(sh->peer);
    close(sh->listener);
}
