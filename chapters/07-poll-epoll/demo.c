/* demo.c: chapter 7's demo: 10,000 connections held by one thread, then what
 * idle connections cost each way of waiting; then edge-triggered epoll, one
 * recv() per event against recv() until a short read.
 *
 * Harness, not lesson: it raises the descriptor limit, runs a server (each
 * loop in turn) in a child process, and plays the crowd client from
 * crowd.c against it in this one, reading the server's CPU time around the
 * round trips from /proc (Linux; elsewhere it times the round trips). The
 * edge scenes fork a client that sends 40,000 bytes, and start the server
 * only once its kernel holds every one of them: a single edge, the same on
 * every run, which the lesson's picture (ladder.svg) relies on.
 *
 * Usage: 07-poll-epoll demo [crowd | edge] [--connections N]
 * See also: crowd.c, poll_loop.c, epoll_loop.c, README.md.
 */
#include "poll_epoll.h"

#include "../01-blocking/sockets.h"
#include "narrate.h"
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>
#ifdef __linux__
#include <linux/sockios.h>
#include <sys/ioctl.h>
#endif

static struct server_settings demo_server = { "127.0.0.1", 0, 4096, 0, 0, 64 * 1024, 0 };
static int demo_quiet;
static const char *const loop_names[] = { "select", "poll", "epoll" };

static void exit_quietly(int signal_number)
{
    (void)signal_number;
    _exit(SL_EXIT_OK);
}

/* A server waiting with LOOP, in a child process, on a free port. */
static pid_t start_server(enum loop_kind loop, int limit, int *port)
{
    sl_set_role("server");
    sl_set_quiet(1);
    int listener = get_listener(demo_server.bind_address, 0, demo_server.backlog);
    *port = local_port(listener);
    pid_t pid = sl_fork();
    if (pid == 0) {
        signal(SIGTERM, exit_quietly);
        if (loop == LOOP_POLL)
            serve_with_poll(listener, &demo_server, limit);
#ifdef __linux__
        else if (loop == LOOP_EPOLL)
            serve_with_epoll(listener, &demo_server, limit, LEVEL_TRIGGERED);
#endif
        else if (clients_init(&demo_server, FD_SETSIZE, NULL) == 0)
            serve_with_select(listener, &demo_server);
        exit(SL_EXIT_OK);
    }
    close(listener);
    sl_set_quiet(demo_quiet);
    sl_set_role("demo");
    return pid;
}

/* The process's CPU time so far, in seconds (Linux: /proc), or -1. */
static double cpu_seconds(pid_t pid)
{
    char path[64];
    unsigned long long nanoseconds;
    snprintf(path, sizeof path, "/proc/%ld/schedstat", (long)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    int got = fscanf(f, "%llu", &nanoseconds);
    fclose(f);
    return got == 1 ? (double)nanoseconds / 1e9 : -1;
}

#define ROUNDS 200

/* IDLE connections and ROUNDS round trips against a LOOP server:
 * microseconds of server CPU per round trip (of wall time, without /proc). */
static double cost_per_round_trip(enum loop_kind loop, int limit, int idle)
{
    int port;
    pid_t server = start_server(loop, limit, &port);
    sl_set_quiet(1);
    int active = connect_nonblocking("127.0.0.1", port, 5);
    int *fds = open_idle_connections("127.0.0.1", port, idle);
    /* Round trips until the server has accepted every idle one (64 a turn). */
    measure_round_trips(active, 50 + idle / 32, 32, 10);
    double before = cpu_seconds(server);
    double took = measure_round_trips(active, ROUNDS, 32, 10);
    double after = cpu_seconds(server);
    sl_set_quiet(demo_quiet);
    for (int i = 0; i < idle; i++)
        close(fds[i]);
    free(fds);
    close(active);
    kill(server, SIGTERM);
    sl_reap(server, "server");
    return (before >= 0 && after >= 0 ? after - before : took) * 1e6 / ROUNDS;
}

/* One thread holding N connections (epoll), N as the limit allows. */
static void hold_the_crowd(int limit, int wanted)
{
    int n = wanted;
    if (n > limit - 64) {
        n = limit - 64 > 0 ? limit - 64 : 0;
        sl_narrate("the limit allows %d descriptors: %d connections, not %d", limit, n, wanted);
    }
    sl_scene("One thread, and thousands of connections (epoll)");
    int port;
    pid_t server = start_server(LOOP_EPOLL, limit, &port);
    int active = connect_nonblocking("127.0.0.1", port, 5);
    int *fds = open_idle_connections("127.0.0.1", port, n);
    double took = measure_round_trips(active, 50 + n / 32, 32, 10);
    sl_narrate("the server holds %s in one thread; %d round trips on one more took %.1f ms",
               sl_plural(n + 1, "connection"), 50 + n / 32, took * 1e3);
    for (int i = 0; i < n; i++)
        close(fds[i]);
    free(fds);
    close(active);
    kill(server, SIGTERM);
    sl_reap(server, "server");
}

static void demo_crowd(int connections)
{
    sl_scene("The descriptor limit");
    sl_set_role("demo");
    int limit = raise_descriptor_limit();
    hold_the_crowd(limit, connections);

    sl_scene("What idle connections cost each loop");
    int most = connections < limit - 64 ? connections : limit - 64;
    int levels[] = { 0, 1000 < most ? 1000 : most, most };
    int count = most > 1000 ? 3 : 2;
    const char *unit = cpu_seconds(getpid()) >= 0 ? "server CPU" : "wall time";
    sl_narrate("%s per round trip, 1 client talking, %d round trips each:", unit, ROUNDS);
    sl_narrate("%16s %12s %12s %12s", "idle", loop_names[0], loop_names[1], loop_names[2]);
    for (int level = 0; level < count; level++) {
        char cells[3][16];
        for (int loop = LOOP_SELECT; loop <= LOOP_EPOLL; loop++) {
            if (loop == LOOP_SELECT && levels[level] + 8 > FD_SETSIZE)
                snprintf(cells[loop], sizeof cells[loop], "over 1024");
#ifndef __linux__
            else if (loop == LOOP_EPOLL)
                snprintf(cells[loop], sizeof cells[loop], "(kqueue)");
#endif
            else
                snprintf(cells[loop], sizeof cells[loop], "%.1f us",
                         cost_per_round_trip((enum loop_kind)loop, limit, levels[level]));
        }
        sl_narrate("%16d %12s %12s %12s", levels[level], cells[0], cells[1], cells[2]);
    }
}


/* ---- edge-triggered epoll, as a picture ------------------------------------ */

#ifdef __linux__
/* Two of chapter 6's helpings (16K a recv) and a rest: read once per event,
 * 23616 of them stay in the server's socket. */
#define EDGE_BYTES 40000

static void tell(int fd, char event)
{
    if (write(fd, &event, 1) != 1)
        sl_fail_errno("write to the demo");
}

static void await_event(int fd, char event, const char *who)
{
    char got = 0;
    while (got != event) {
        if (read(fd, &got, 1) != 1)
            sl_fail("%s stopped before the demo could go on", who);
    }
}

/* Waits (5 s at most) until PID sleeps in epoll_wait (state S in
 * /proc/PID/stat, and a wait channel naming epoll where the kernel gives
 * one). A stalled server has nothing left to do but that: once it sleeps
 * there, every line of its turn is out, and a SIGTERM cuts none of them. */
static void wait_until_in_epoll_wait(pid_t pid)
{
    char path[64], text[256];
    for (double until = sl_now() + 5; sl_now() < until; sl_sleep(0.002)) {
        snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
        FILE *f = fopen(path, "r");
        size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
        if (f)
            fclose(f);
        text[n] = '\0';
        const char *state = strrchr(text, ')');
        if (state == NULL || strncmp(state, ") S", 3) != 0)
            continue;
        snprintf(path, sizeof path, "/proc/%ld/wchan", (long)pid);
        f = fopen(path, "r");
        n = f ? fread(text, 1, sizeof text - 1, f) : 0;
        if (f)
            fclose(f);
        text[n] = '\0';
        if (n == 0 || strcmp(text, "0") == 0 || strstr(text, "epoll") != NULL)
            return;
    }
}

/* Until FD has no byte the peer's kernel has not acknowledged: then all of
 * them wait in the server's socket, whenever the server looks. */
static void wait_until_acknowledged(int fd)
{
    int unacked = -1;
    for (double until = sl_now() + 5; sl_now() < until; sl_sleep(0.001)) {
        if (ioctl(fd, SIOCOUTQ, &unacked) == -1)
            sl_fail_errno("ioctl SIOCOUTQ");
        if (unacked == 0)
            break;
    }
    if (unacked != 0)
        sl_fail("ioctl(SIOCOUTQ): %d bytes still unacknowledged after 5 s", unacked);
    sl_narrate("ioctl(fd %d, SIOCOUTQ) -> 0 unacknowledged: all in the server's kernel", fd);
}

/* Reads the echo into BACK until all EDGE_BYTES are there, or none came for
 * half a second: how many came. */
static int read_echo(int fd, char *back)
{
    int got = 0;
    while (got < EDGE_BYTES) {
        int ready = sl_wait_readable(fd, 0.5);
        if (ready == -1)
            sl_fail_errno("select");
        if (ready == 0) {
            sl_narrate("select(fd %d readable, timeout 0.5 s) -> 0: %d of %d bytes back", fd,
                       got, EDGE_BYTES);
            break;
        }
        ssize_t n = recv(fd, back + got, (size_t)(EDGE_BYTES - got), 0);
        if (n <= 0)
            sl_fail("recv: the echo ended after %d of %d bytes", got, EDGE_BYTES);
        got += (int)n;
        sl_narrate("recv(fd %d) -> %zd bytes (%d of %d back)", fd, n, got, EDGE_BYTES);
    }
    return got;
}

/* --edge-bug: the rest never comes back. The demo stops the server, and its
 * kernel closes a socket it had not read to the end: that is a reset. */
static int await_reset(int fd, int events, int got)
{
    tell(events, 's');
    char byte;
    if (sl_wait_readable(fd, 5) != 1)
        sl_fail("select: no reset from the stopped server within 5 s");
    if (recv(fd, &byte, 1, 0) != -1 || errno != ECONNRESET)
        sl_fail("recv: the stopped server's kernel did not reset the connection");
    sl_narrate("recv(fd %d) -> -1 %s: the server is gone, and with it the %d bytes it "
               "never read", fd, sl_errno(errno), EDGE_BYTES - got);
    close(fd);
    sl_narrate("close(fd %d)", fd);
    return got < EDGE_BYTES;
}

/* --edge: all of it came back. Half-closes, and waits for the server's close:
 * its FIN leaves only after it has said so, so that the demo stops a server
 * with nothing left to say. */
static int leave(int fd, int got)
{
    if (shutdown(fd, SHUT_WR) == -1)
        sl_fail_errno("shutdown");
    sl_narrate("shutdown(fd %d, SHUT_WR) -> 0: no more from us", fd);
    char byte;
    ssize_t n;
    while ((n = recv(fd, &byte, 1, 0)) == -1 && errno == EINTR)
        continue;
    if (n != 0)
        sl_fail("recv: no close from the server, after the whole echo");
    sl_narrate("recv(fd %d) -> 0: the server closed the connection", fd);
    close(fd);
    sl_narrate("close(fd %d)", fd);
    return got == EDGE_BYTES;
}

/* The scenes' client: 40,000 bytes in one send(), then the echo. Its exit
 * status is 0 when the scene showed what it is there to show. */
static _Noreturn void edge_client(int port, int events, enum epoll_mode mode)
{
    static char sent[EDGE_BYTES], back[EDGE_BYTES];
    sl_set_role("client");
    for (int i = 0; i < EDGE_BYTES; i++)
        sent[i] = (char)('a' + i % 26);
    int fd = connect_nonblocking("127.0.0.1", port, 5);
    /* Blocking from here: one send() takes all of it, on every run, and a
     * recv() waits (5 s at most) for what select() has not promised. */
    struct timeval limit = { 5, 0 };
    int flags = fcntl(fd, F_GETFL);
    if (flags == -1 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) == -1 ||
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit) == -1)
        sl_fail_errno("fcntl, setsockopt SO_RCVTIMEO");
    ssize_t n = send(fd, sent, sizeof sent, 0);
    if (n != (ssize_t)sizeof sent)
        sl_fail_errno("send");
    sl_narrate("send(fd %d, %d bytes) -> %zd", fd, EDGE_BYTES, n);
    wait_until_acknowledged(fd);
    tell(events, 'w');
    int got = read_echo(fd, back);
    if (memcmp(sent, back, (size_t)got) != 0)
        sl_fail("the echo differs from what was sent");
    int shown = mode == EDGE_BUG ? await_reset(fd, events, got) : leave(fd, got);
    exit(shown ? SL_EXIT_OK : SL_EXIT_RUNTIME);
}

/* A server looping with epoll (MODE) on LISTENER, in a child process. */
static pid_t start_edge_server(int listener, int events, enum epoll_mode mode)
{
    pid_t pid = sl_fork();
    if (pid == 0) {
        close(events);
        signal(SIGTERM, exit_quietly);
        sl_set_role("server");
        /* One client: a table for descriptors below FD_SETSIZE is plenty. */
        serve_with_epoll(listener, &demo_server, FD_SETSIZE, mode);
        exit(SL_EXIT_OK);
    }
    return pid;
}

/* One edge scene. The server starts only once the client's kernel has had
 * every byte acknowledged: they are all in the server's socket before it
 * looks, so they make one edge however TCP cut them into segments. */
static int demo_edge(enum epoll_mode mode)
{
    sl_scene(mode == EDGE_BUG ? "Edge-triggered, one recv() per event (--edge-bug)"
                              : "Edge-triggered, recv() again until one comes up short (--edge)");
    sl_set_role("server");
    int listener = get_listener(demo_server.bind_address, 0, demo_server.backlog);
    int port = local_port(listener), events[2];
    sl_set_role("demo");
    if (pipe(events) == -1)
        sl_fail_errno("pipe");
    pid_t client = sl_fork();
    if (client == 0) {
        close(listener);
        close(events[0]);
        edge_client(port, events[1], mode);
    }
    close(events[1]);
    await_event(events[0], 'w', "the client");
    pid_t server = start_edge_server(listener, events[0], mode);
    close(listener);
    if (mode == EDGE_BUG) {
        await_event(events[0], 's', "the client");
        wait_until_in_epoll_wait(server);
        kill(server, SIGTERM);
        sl_reap(server, "server");
    }
    int status = sl_reap(client, "client");
    if (mode != EDGE_BUG) {
        kill(server, SIGTERM);
        sl_reap(server, "server");
    }
    close(events[0]);
    return status == 0;
}
#endif

int run_loops_demo(int quiet, int connections, const char *scene)
{
    demo_quiet = quiet;
    int crowd = scene == NULL || strcmp(scene, "crowd") == 0;
    int edge = scene == NULL || strcmp(scene, "edge") == 0;
    if (!crowd && !edge)
        sl_usage_error("unknown scene '%s' (one of: crowd, edge)", scene);
    if (crowd)
        demo_crowd(connections);
    if (!edge)
        return SL_EXIT_OK;
#ifdef __linux__
    int ok = demo_edge(EDGE_BUG);
    ok &= demo_edge(EDGE_TRIGGERED);
    return ok ? SL_EXIT_OK : SL_EXIT_RUNTIME;
#else
    sl_scene("Edge-triggered epoll");
    sl_set_role("demo");
    sl_narrate("epoll is Linux's (kqueue is its counterpart here, not built): nothing to show");
    return SL_EXIT_OK;
#endif
}
