/* blocking.h: chapter 1's server, client and demo, as main.c calls them.
 *
 * The settings each role runs with, filled in by main.c from the command
 * line (or by demo.c), so the lesson files never see an option table.
 *
 * See also: server.c, client.c, demo.c, sockets.h (the calls they share).
 */
#ifndef SOCKLAB_BLOCKING_H
#define SOCKLAB_BLOCKING_H

#include <stddef.h>

struct server_settings {
    const char *bind_address;   /* "127.0.0.1", "::1", "0.0.0.0" or "::" */
    int port;                   /* 0: the kernel picks a free one */
    int backlog;                /* finished connections the kernel may queue */
    int once;                   /* serve one client, then return */
    int reuse_address;          /* set SO_REUSEADDR before bind */
};

struct client_settings {
    const char *host;
    int port;
    const char *const *messages;    /* lines to send instead of stdin, or NULL */
    int message_count;
    double timeout;             /* seconds to wait for an echo; 0: as long as it takes */
};

/* The client's exit status when --timeout expires. */
enum { EXIT_NO_ANSWER = 3 };

/* server.c */
int run_server(const struct server_settings *settings);
void serve(int listener, int count);

/* client.c */
int run_client(const struct client_settings *settings);
int connect_or_exit(const char *host, int port);
void echo_line(int fd, const char *line, size_t length);
void read_echo(int fd, const char *sent, size_t length);

/* demo.c */
int run_demo(int backlog);

#endif
