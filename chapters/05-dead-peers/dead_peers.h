/* dead_peers.h: chapter 5's server, client and demo, as main.c calls them.
 *
 * The settings each role runs with, filled in by main.c from the command
 * line (or by demo.c), so the lesson files never see an option table; and
 * the exit statuses this chapter adds to 0, 1 and 2.
 *
 * See also: server.c, client.c, remedies.h (the client's remedies),
 *           lines.h (the protocol), demo.c.
 */
#ifndef SOCKLAB_DEAD_PEERS_H
#define SOCKLAB_DEAD_PEERS_H

#include "remedies.h"

/* 3: the client declared its peer dead; 4: a demo scene can't run here. */
enum { EXIT_PEER_DEAD = 3, EXIT_CANNOT_RUN = 4 };

/* What the server does once it has the request. */
enum behaviour {
    BEHAVE_ANSWER,              /* answer it (after --delay) */
    BEHAVE_SILENT,              /* never answer, but answer PINGs */
    BEHAVE_EXIT,                /* close and exit, without answering */
    BEHAVE_DEAF                 /* never even read it */
};

/* The moments a demo waits for before it strikes (see notify below). */
enum server_event { SERVER_ACCEPTED, SERVER_HAS_REQUEST };

struct server_settings {
    const char *bind_address;   /* "127.0.0.1", "::1", "0.0.0.0" or "::" */
    int port;                   /* 0: the kernel picks a free one */
    int once;                   /* serve one client, then return */
    enum behaviour behave;
    double delay;               /* seconds before the answer leaves */
    double idle_limit;          /* drop a client that sends or reads nothing this long */
    void (*notify)(enum server_event event);   /* NULL, except in the demo */
};

struct client_settings {
    const char *host;
    int port;
    const char *message;        /* the request's text */
    struct remedies remedies;
    int probe;                  /* after EOF or a reset, send twice more */
};

/* server.c */
int run_server(const struct server_settings *settings);
void serve(int listener, const struct server_settings *settings);

/* client.c: run_client() is the three steps after it, in order. */
int run_client(const struct client_settings *settings);
int connect_with_remedies(const struct client_settings *settings);
void send_request(int fd, const char *text);
int await_answer(int fd, const struct client_settings *settings);

/* demo.c: SCENE is exit, crash, freeze, vanish, or NULL for all four. */
int run_demo(const char *scene);

#endif
