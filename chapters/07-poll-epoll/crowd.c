/* crowd.c: chapter 7, many idle connections and one that talks.
 *
 * A server with thousands of connections has few that are busy at any
 * moment. --connections N opens N connections that say nothing, then one
 * more does --rounds round trips and times them: what one round trip costs
 * the server with that crowd held open is what chapter 7 measures (select
 * and poll look at every idle connection on every call; epoll does not).
 *
 * Usage: 07-poll-epoll client --connections 10000 [--rounds 1000] [--size 32]
 * See also: ../06-select/connect.c (the active connection), limits.c,
 *           README.md ("What idle connections cost").
 */
#include "poll_epoll.h"

#include "../06-select/pattern.h"
#include "narrate.h"
#include "proc.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

static void wait_for(int fd, int writable, double timeout);

int run_crowd(const struct crowd_settings *settings)
{
    int limit = raise_descriptor_limit();
    if (settings->connections + 8 > limit)
        sl_fail("--connections %d: the descriptor limit is %d (ulimit -n)", settings->connections,
                limit);
    /* The one that talks first: its descriptor stays low, under FD_SETSIZE,
     * since it waits with select() (the others are never waited on). */
    int active = connect_nonblocking(settings->host, settings->port, 5);
    int *idle = open_idle_connections(settings->host, settings->port, settings->connections);
    double took = measure_round_trips(active, settings->rounds, settings->size, settings->timeout);
    printf("%s of %s in %.3f s: %.1f us each, with %s held\n",
           sl_plural(settings->rounds, "round trip"), sl_plural(settings->size, "byte"), took,
           took * 1e6 / settings->rounds, sl_plural(settings->connections, "idle connection"));
    fflush(stdout);
    for (int i = 0; i < settings->connections; i++)
        close(idle[i]);
    free(idle);
    close(active);
    return SL_EXIT_OK;
}

int *open_idle_connections(const char *host, int port, int count)
{
    struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM }, *found;
    char service[8];
    snprintf(service, sizeof service, "%d", port);
    int rc = getaddrinfo(host, service, &hints, &found);
    if (rc != 0)
        sl_fail("getaddrinfo %s: %s", host, gai_strerror(rc));
    int *fds = malloc(((size_t)count + 1) * sizeof *fds);
    if (fds == NULL)
        sl_fail_errno("malloc");
    for (int i = 0; i < count; i++) {
        fds[i] = socket(found->ai_family, found->ai_socktype, found->ai_protocol);
        if (fds[i] == -1)
            sl_fail("socket: %s after %d idle connections", sl_errno(errno), i);
        if (connect(fds[i], found->ai_addr, found->ai_addrlen) == -1)
            sl_fail("connect: %s after %d idle connections", sl_errno(errno), i);
    }
    freeaddrinfo(found);
    if (count > 0)
        sl_narrate("socket() and connect() x %d -> fds %d to %d: idle, they send nothing", count,
                   fds[0], fds[count - 1]);
    return fds;
}

/* ROUNDS times: SIZE bytes of chapter 6's pattern out, the same back, every
 * byte checked. The seconds it took; exits 3 when an echo takes TIMEOUT. */
double measure_round_trips(int fd, int rounds, int size, double timeout)
{
    static unsigned char buffer[PATTERN_CHUNK];
    double started = sl_now();
    for (int round = 0; round < rounds; round++) {
        long long offset = (long long)round * size;
        for (int sent = 0; sent < size;) {
            ssize_t n = send(fd, pattern_at(offset + sent), (size_t)(size - sent), 0);
            if (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                sl_fail_errno("send");
            if (n == -1)
                wait_for(fd, 1, timeout);
            else
                sent += (int)n;
        }
        for (int got = 0; got < size;) {
            ssize_t n = recv(fd, buffer + got, (size_t)(size - got), 0);
            if (n == 0)
                sl_fail("recv: the server closed after %d round trips", round);
            if (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                sl_fail_errno("recv");
            if (n == -1)
                wait_for(fd, 0, timeout);
            else
                got += (int)n;
        }
        long long where;
        unsigned value, wanted;
        if (pattern_check(offset, buffer, (size_t)size, &where, &value, &wanted) == -1)
            sl_fail_status(EXIT_MISMATCH, "byte %lld of the echo is %u, expected %u", where,
                           value, wanted);
    }
    return sl_now() - started;
}

static void wait_for(int fd, int writable, double timeout)
{
    fd_set set;
    FD_ZERO(&set);
    FD_SET(fd, &set);
    struct timeval limit = { (time_t)timeout, (suseconds_t)((timeout - (double)(time_t)timeout) * 1e6) };
    int ready = select(fd + 1, writable ? NULL : &set, writable ? &set : NULL, NULL, &limit);
    if (ready == -1 && errno != EINTR)
        sl_fail_errno("select");
    if (ready == 0)
        sl_fail_status(EXIT_STALLED, "%s: no %s within %g s (--timeout)",
                       writable ? "send" : "recv", writable ? "room" : "echo", timeout);
}
