/* poll_epoll.h: chapter 7's server loops, client and demo, as main.c calls
 * them.
 *
 * Chapter 6's server (its clients table and handlers, its protocol, its
 * bounded buffers) waiting three ways: select() (chapter 6's loop), poll()
 * and epoll; the descriptor limit those two run into next; and a client that
 * holds many idle connections while one more measures round trips.
 *
 * See also: poll_loop.c, epoll_loop.c, limits.c, crowd.c, demo.c,
 *           ../06-select/clients.h (what every loop shares).
 */
#ifndef SOCKLAB_POLL_EPOLL_H
#define SOCKLAB_POLL_EPOLL_H

#include "../06-select/clients.h"
#include "../06-select/nonblocking.h"

/* How the server waits; and, for epoll, how it is told. */
enum loop_kind { LOOP_SELECT, LOOP_POLL, LOOP_EPOLL };
enum epoll_mode {
    LEVEL_TRIGGERED,    /* told while a socket is ready (select's and poll's way) */
    EDGE_TRIGGERED,     /* told when it becomes ready: read until EAGAIN */
    EDGE_BUG            /* edge-triggered, read once per event: the classic bug */
};

struct crowd_settings {
    const char *host;
    int port;
    int connections;    /* idle connections to hold open */
    int rounds;         /* round trips for the one active connection */
    int size;           /* bytes per round trip */
    double timeout;     /* give up waiting for an echo after this long */
};

/* limits.c: raises RLIMIT_NOFILE's soft limit to the hard limit (or as near
 * as the system allows), saying so: the soft limit now. */
int raise_descriptor_limit(void);

/* poll_loop.c, epoll_loop.c: run until --once's client is gone (or forever).
 * LIMIT: the most descriptors the process may have. */
void serve_with_poll(int listener, const struct server_settings *settings, int limit);
#ifdef __linux__
void serve_with_epoll(int listener, const struct server_settings *settings, int limit,
                      enum epoll_mode mode);
#endif

/* server7.c: listens, then waits the way LOOP says. */
int run_loop_server(const struct server_settings *settings, enum loop_kind loop,
                    enum epoll_mode mode);

/* crowd.c: CONNECTIONS idle connections, then ROUNDS round trips on one more. */
int run_crowd(const struct crowd_settings *settings);
/* COUNT blocking connects to HOST:PORT, narrated as one line: the
 * descriptors (free() them), or exits 1 saying how many it got. */
int *open_idle_connections(const char *host, int port, int count);
/* The round trips alone, on a connected non-blocking FD: seconds they took. */
double measure_round_trips(int fd, int rounds, int size, double timeout);

/* demo.c: SCENE "crowd", "edge", or NULL: both. */
int run_loops_demo(int quiet, int connections, const char *scene);

#endif
