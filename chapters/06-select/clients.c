/* clients.c: chapter 6, the table of clients a one-thread server keeps.
 *
 * One entry per descriptor, and a dense list of the connected ones (the chat
 * fan-out and --idle go through that, never through the whole table). The
 * handlers (handlers.c) touch a client when they give it something to send
 * or change what it wants; at the end of each turn of the loop every touched
 * client gets one send(), and a loop that keeps its interest in the kernel
 * (poll, epoll) is told what changed. Nothing here knows how the loop waits.
 *
 * Usage: see clients.h; server.c (select) calls everything here.
 * See also: handlers.c, chat.c, chapters/07-poll-epoll/ (the same table).
 */
#include "clients.h"

#include "proc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct server_settings *config;  /* as clients_init was given it */
static struct loop_hooks hooks;
static struct client *table;        /* indexed by descriptor */
static int capacity;
static int *members;                /* the connected descriptors, for the chat fan-out */
static int member_count;
static struct client *touched;      /* clients to look at at the end of this turn */

void client_touch(struct client *c)
{
    if (!c->touched) {
        c->touched = 1;
        c->next_touched = touched;
        touched = c;
    }
}

void clients_end_turn(void)
{
    while (touched != NULL) {
        struct client *c = touched;
        touched = c->next_touched;
        /* One send() per client per turn, whatever it was given this turn. */
        if (c->fd != -1 && c->pending_length > 0 && !c->blocked)
            flush_pending(c);
        if (c->fd != -1 && c->eof && c->pending_length == 0)
            close_client(c, "it sent EOF and has all its replies");
        if (c->fd != -1 && hooks.interest_changed != NULL && client_wants(c) != c->watched)
            hooks.interest_changed(c);
        c->touched = 0;     /* only now: what the lines above touched is this turn's */
    }
    touched = NULL;
    if (config->idle > 0) {
        double now = sl_now();
        for (int i = member_count - 1; i >= 0; i--) {
            struct client *c = &table[members[i]];
            /* A held-back client is one we stopped reading: it may be talking. */
            if (!c->held_back && now - c->last_heard >= config->idle) {
                char why[96];
                snprintf(why, sizeof why, "silent for %.1f s (--idle %g)", now - c->last_heard,
                         config->idle);
                close_client(c, why);
            }
        }
    }
}

double clients_next_deadline(void)
{
    double first = -1;
    for (int i = 0; config->idle > 0 && i < member_count; i++) {
        const struct client *c = &table[members[i]];
        if (!c->held_back && (first < 0 || c->last_heard + config->idle < first))
            first = c->last_heard + config->idle;
    }
    return first < 0 ? -1 : first - sl_now() > 0 ? first - sl_now() : 0;
}

void close_client(struct client *c, const char *why)
{
    if (c->missed > 0)
        sl_narrate("fd %d missed %s while its buffer was full", c->fd,
                   sl_plural(c->missed, "line"));
    sl_narrate("close(fd %d): %s (%s left)", c->fd, why, sl_plural(member_count - 1, "client"));
    if (hooks.closing != NULL)
        hooks.closing(c);
    close(c->fd);
    free(c->pending);
    free(c->line);
    c->pending = NULL;
    c->line = NULL;
    /* Out of the members' array: the last one takes its place. */
    int moved = members[--member_count];
    members[c->member] = moved;
    table[moved].member = c->member;
    c->fd = -1;
}

struct client *client_add(int fd, const char *address)
{
    if (fd < 0 || fd >= capacity || client_at(fd) != NULL)
        return NULL;
    struct client *c = &table[fd];
    int touched_already = c->touched;   /* a closed client's slot may still be listed */
    struct client *next = c->next_touched;
    memset(c, 0, sizeof *c);
    c->touched = touched_already;
    c->next_touched = next;
    if (config->chat && (c->line = malloc(CHAT_LINE_MAX)) == NULL)
        return NULL;
    c->fd = fd;
    snprintf(c->address, sizeof c->address, "%s", address);
    c->last_heard = sl_now();
    c->member = member_count;
    members[member_count++] = fd;
    if (hooks.added != NULL)
        hooks.added(c);
    return c;
}

struct client *client_at(int fd)
{
    return fd > 0 && fd < capacity && table[fd].fd == fd ? &table[fd] : NULL;
}

int clients_count(void)
{
    return member_count;
}

struct client *client_by_rank(int rank)
{
    return &table[members[rank]];
}

const struct server_settings *clients_settings(void)
{
    return config;
}

int clients_init(const struct server_settings *server, int size, const struct loop_hooks *loop)
{
    free(table);        /* a demo may start a second server */
    free(members);
    config = server;
    capacity = size;
    hooks = loop ? *loop : (struct loop_hooks){ NULL, NULL, NULL };
    /* calloc: a table for every descriptor the process may have costs only
     * the pages that clients use. An entry never used has fd 0 (stdin, never
     * a client); a closed one has fd -1. */
    table = calloc((size_t)size, sizeof *table);
    members = calloc((size_t)size, sizeof *members);
    if (table == NULL || members == NULL)
        return -1;
    member_count = 0;
    touched = NULL;
    return 0;
}
