/* fixed_length.h: chapter 2's server, client and demo, as main.c calls them.
 *
 * The settings each role runs with, filled in by main.c from the command
 * line (or by demo.c), so the lesson files never see an option table; and
 * the pieces of server.c and client.c that demo.c drives one at a time.
 *
 * See also: message.h (the two loops), server.c, client.c, nagle.c, demo.c.
 */
#ifndef SOCKLAB_FIXED_LENGTH_H
#define SOCKLAB_FIXED_LENGTH_H

#include "message.h"

#include <stddef.h>

#define MAX_MSGLEN (1024 * 1024)

/* Exit status of a client whose --timeout expired (0, 1 and 2 are common). */
enum { EXIT_NO_ANSWER = 3 };

struct server_settings {
    const char *bind_address;   /* "127.0.0.1", "::1", "0.0.0.0" or "::" */
    int port;                   /* 0: the kernel picks a free one */
    int once;                   /* serve one client, then return */
    struct message_settings message;    /* recv_size: how far the server reads ahead */
    long long break_after;      /* >= 0: echo only this many bytes of each client's
                                   first message, then close; -1: never */
    int nodelay;                /* TCP_NODELAY on each client's socket */
};

struct client_settings {
    const char *host;
    int port;
    struct message_settings message;
    const char *const *messages;    /* texts to send instead of stdin's lines, or NULL */
    int message_count;
    long long break_after;      /* >= 0: send only this many bytes of the first
                                   message, then close; -1: never */
    int nodelay;
    double timeout;             /* seconds one send() or recv() may wait; 0: forever */
};

/* What the server keeps of one client between two recv()s. */
struct pending {
    size_t buffered;            /* bytes received and not yet echoed (< msglen) */
    unsigned long echoed;       /* messages echoed on this connection */
};

/* server.c */
int run_server(const struct server_settings *settings);
void serve(int listener, int count, const struct server_settings *settings);
int echo_round(int client, struct pending *pending, const struct server_settings *settings);

/* client.c */
int run_client(const struct client_settings *settings);
int open_connection(const struct client_settings *settings);
void exchange(int fd, const char *text, char *answer, const struct client_settings *settings);
void print_reply(const char *text, size_t msglen);

/* nagle.c */
void disable_nagle(int fd);

/* demo.c */
int run_demo(void);

#endif
