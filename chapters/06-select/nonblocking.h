/* nonblocking.h: chapter 6's server, client and demo, as main.c calls them.
 *
 * The settings each role runs with, filled in by main.c from the command
 * line (or by demo.c), so the lesson files never see an option table; and
 * the pieces chapter 7 reuses: the listener, accepting a client, the
 * non-blocking connect and the client.
 *
 * See also: server.c, clients.h (the server's per-client state), connect.c,
 *           client.c, stream.c, demo.c.
 */
#ifndef SOCKLAB_NONBLOCKING_H
#define SOCKLAB_NONBLOCKING_H

#include "clients.h"

/* Exit statuses of this chapter, beyond 0, 1 and 2 (listed in --help). */
enum { EXIT_STALLED = 3, EXIT_MISMATCH = 4 };

struct client_settings {
    const char *host;
    int port;
    const char *const *messages;    /* lines to send instead of stdin, or NULL */
    int message_count;
    long long bytes;                /* --bytes N: stream N bytes of a pattern; -1: lines */
    int blocking;                   /* --bytes the naive way: send all, then read */
    double stall;                   /* --bytes: give up after this long without progress */
    double timeout;                 /* lines: once input is over, wait this long; 0: forever */
    double connect_timeout;         /* each address's handshake */
};

/* server.c */
int run_server(const struct server_settings *settings);
void serve_with_select(int listener, const struct server_settings *settings);
int get_listener(const char *address, int port, int backlog);
int set_nonblocking(int fd);
/* The listener is readable: accept_waiting takes a batch of connections
 * (handle_new_connection each); the listener, or -1 once --once closed it. */
int accept_waiting(int listener, const struct server_settings *settings, int fd_limit, int *pause);
/* How long a loop may wait, in seconds: until the next --idle drop, a second
 * while the listener rests (PAUSED), or -1: forever. */
double wait_seconds(int paused);
/* Accepts one waiting connection into the clients table, refusing a
 * descriptor at or over FD_LIMIT (the most the loop can watch): 0, or -1
 * when no one else is waiting (or no descriptor is left: *PAUSE is then set). */
int handle_new_connection(int listener, int fd_limit, int *pause);

/* connect.c */
int connect_nonblocking(const char *host, int port, double timeout);

/* client.c, stream.c */
int run_client(const struct client_settings *settings);
void run_line_session(int fd, const struct client_settings *settings);
void run_stream(int fd, const struct client_settings *settings);
void narrate_buffer_sizes(int fd);

/* demo.c */
int run_demo(int quiet, const char *scene);  /* QUIET: --quiet given; SCENE or NULL: all */

#endif
