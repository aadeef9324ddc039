/* clients.h: what a one-thread server keeps for each client, whatever way it
 * waits.
 *
 * The per-client state (a bounded output buffer, a chat line buffer, EOF and
 * backpressure), and the handlers a server's loop calls when a client is
 * ready: handle_client_data() when it is readable, flush_pending() when it is
 * writable. Chapter 6's loop waits with select(); chapter 7's with poll() and
 * epoll, on these same handlers, so that the only thing that changes between
 * them is how the server waits. A loop that keeps its interest in the kernel
 * (poll's array, epoll's interest list) gives hooks, and is told when a
 * client's interest changes and before its descriptor is closed.
 *
 * Usage: clients_init(&settings, FD_SETSIZE, NULL);
 *        client_add(fd, "127.0.0.1:5000");
 *        ... when fd is readable: handle_client_data(client_at(fd));
 *        ... at the end of each turn of the loop: clients_end_turn();
 * See also: clients.c, server.c (select), chapters/07-poll-epoll/ (poll, epoll).
 */
#ifndef SOCKLAB_CLIENTS_H
#define SOCKLAB_CLIENTS_H

#include "narrate.h"

#include <stddef.h>

/* The server's settings, filled in by main.c (or demo.c). */
struct server_settings {
    const char *bind_address;   /* "127.0.0.1", "::1", "0.0.0.0" or "::" */
    int port;                   /* 0: the kernel picks a free one */
    int backlog;
    int once;                   /* take one connection, exit once it is gone */
    int chat;                   /* send each line to every other client, not back */
    long long max_pending;      /* output buffered per client before it is held back */
    double idle;                /* drop a client silent this long; 0: never */
};

/* A chat line longer than this is sent in pieces of this size. */
#define CHAT_LINE_MAX 1024
/* --chat reads at most this much of one client per turn of the loop: each
 * line costs the server a copy per listener, so this bounds what one
 * client's input can cost everyone else before they get their turn. */
#define CHAT_TURN_BYTES 64
/* --chat: each client's kernel send buffer (Linux doubles it). */
#define CHAT_SNDBUF 32768

/* What a client wants from the loop: to be read, to be written, or both. */
enum { WANT_READ = 1, WANT_WRITE = 2 };

struct client {
    int fd;                         /* -1: this slot is free */
    char address[SL_ADDR_STRLEN];
    char *pending;                  /* bytes owed to it, --max-pending of room, or NULL */
    size_t pending_start;           /* the first byte not yet sent */
    size_t pending_length;          /* how many bytes from there on */
    char *line;                     /* --chat: CHAT_LINE_MAX bytes, the start of a line */
    size_t line_length;
    int eof;                        /* recv returned 0: it sends no more */
    int held_back;                  /* its buffer is full: not read until it drains */
    int blocked;                    /* its last send met EAGAIN: wait for writable */
    long long missed;               /* --chat lines it missed while its buffer was full */
    double last_heard;              /* sl_now() when it last sent a byte, for --idle */
    int watched;                    /* the loop's: what it last asked the kernel for */
    int slot;                       /* the loop's: e.g. its entry in poll's array */
    int member;                     /* its place in the list of connected clients */
    int touched;                    /* on the list of clients to look at this turn */
    struct client *next_touched;
};

/* What a loop that keeps its interest in the kernel wants to be told. Any
 * pointer may be NULL (select builds its sets anew each time: it needs none). */
struct loop_hooks {
    void (*added)(struct client *c);                /* a new client, to watch */
    void (*interest_changed)(struct client *c);     /* client_wants(c) != c->watched */
    void (*closing)(struct client *c);              /* c->fd is about to be closed */
};

/* A table for descriptors 0 .. CAPACITY-1 (NULL hooks: none): 0, or -1 (no memory). */
int clients_init(const struct server_settings *settings, int capacity,
                 const struct loop_hooks *hooks);

/* Takes FD (connected, non-blocking) as a new client: the client, or NULL
 * when FD is over the table's capacity or there is no memory for its chat
 * line (FD is left open). */
struct client *client_add(int fd, const char *address);

/* The client on FD, or NULL. */
struct client *client_at(int fd);

/* How many clients are connected. */
int clients_count(void);

/* WANT_READ and/or WANT_WRITE: what this client should be watched for now. */
int client_wants(const struct client *c);

/* One bounded helping of input: one recv() at most. 1 when the recv filled
 * all the room it was given (more may be waiting: a loop that won't be told
 * again, edge-triggered epoll, must come back), else 0. */
int handle_client_data(struct client *c);

/* Sends what is pending, as much as the socket takes now: 0, or -1 once the
 * client is closed. */
int flush_pending(struct client *c);

/* Appends to the client's output buffer (allocated when first needed), to go
 * out at the end of the turn: 0, or -1 when it has no room for all of it
 * (then nothing is appended). */
int queue_output(struct client *c, const char *data, size_t length);

/* The RANK-th connected client, RANK from 0 to clients_count() - 1. */
struct client *client_by_rank(int rank);

/* The settings clients_init was given. */
const struct server_settings *clients_settings(void);

/* Puts the client on this turn's list: clients_end_turn will send what it
 * was given and tell the loop if what it wants changed. */
void client_touch(struct client *c);

/* chat.c: --chat's handling of a client's line buffer, after a recv() and at EOF. */
void chat_take_lines(struct client *c);
void chat_take_rest(struct client *c);

/* Closes the client, saying WHY. */
void close_client(struct client *c, const char *why);

/* The end of a turn of the loop: every client that was given output this
 * turn gets one send(), loops are told of interest changes, and silent
 * clients are dropped (--idle). */
void clients_end_turn(void);

/* --idle: seconds until the next silent client is due to be dropped, or -1
 * when none is. */
double clients_next_deadline(void);

#endif
