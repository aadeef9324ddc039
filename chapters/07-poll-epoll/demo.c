/* demo.c: chapter 7's demo: 10,000 connections held by one thread, then what
 * idle connections cost each way of waiting.
 *
 * Harness, not lesson: it raises the descriptor limit, runs a server (each
 * loop in turn) in a child process, and plays the crowd client from
 * crowd.c against it in this one, reading the server's CPU time around the
 * round trips from /proc (Linux; elsewhere it times the round trips).
 *
 * Usage: 07-poll-epoll demo [--connections N]
 * See also: crowd.c, poll_loop.c, epoll_loop.c, README.md.
 */
#include "poll_epoll.h"

#include "../01-blocking/sockets.h"
#include "narrate.h"
#include "proc.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/select.h>
#include <unistd.h>

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

int run_loops_demo(int quiet, int connections)
{
    demo_quiet = quiet;
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
    return SL_EXIT_OK;
}
