/* poll_loop.c: chapter 7, chapter 6's server waiting with poll().
 *
 * poll() takes an array of descriptors, each with the events wanted, and
 * fills in what happened: no FD_SETSIZE (any descriptor number will do), and
 * nothing to rebuild, since the array says what is wanted and the kernel
 * answers in a field of its own. What it keeps from select(): every call
 * passes the whole array into the kernel, which looks at every entry, and
 * the loop then looks at every entry again to find the few that are ready.
 * Its cost grows with the connections, ready or not. Diff this file with
 * epoll_loop.c: the same loop, the same hooks, the same handlers.
 *
 * Usage: 07-poll-epoll server --loop poll
 * See also: poll(2), epoll_loop.c, ../06-select/server.c (select),
 *           ../06-select/handlers.c (what the loop calls).
 */
#include "poll_epoll.h"

#include "narrate.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>

static void added(struct client *c);
static void interest_changed(struct client *c);
static void closing(struct client *c);
static int dispatch(int listener, int ready, const struct server_settings *settings, int *pause);
static void forget_closed(void);

static struct pollfd *watched;      /* entry 0 the listener, then a client per entry */
static int watched_count, holes, capacity;

/* The event loop: wait for whatever is ready, serve it, never wait on any
 * one client. Returns when --once's client is gone. */
void serve_with_poll(int listener, const struct server_settings *settings, int limit)
{
    const struct loop_hooks hooks = { added, interest_changed, closing };
    capacity = limit;
    watched = calloc((size_t)limit, sizeof *watched);
    if (watched == NULL || clients_init(settings, limit, &hooks) == -1)
        sl_fail_errno("calloc");
    watched[0] = (struct pollfd){ listener, POLLIN, 0 };
    watched_count = 1;
    int paused_at = -1;     /* out of descriptors: clients we had; the listener rests */
    while (listener != -1 || clients_count() > 0) {
        forget_closed();
        watched[0].events = paused_at == -1 ? POLLIN : 0;
        double seconds = wait_seconds(paused_at != -1);

        int ready = poll(watched, (nfds_t)watched_count, seconds < 0 ? -1 : (int)(seconds * 1000));
        if (ready == -1 && errno == EINTR)
            continue;
        if (ready == -1)
            sl_fail_errno("poll");
        sl_narrate("poll(%d fds) -> %d", watched_count, ready);

        int pause = 0;
        listener = dispatch(listener, ready, settings, &pause);
        if (pause)
            paused_at = clients_count();
        else if (paused_at != -1 && (ready == 0 || clients_count() < paused_at))
            paused_at = -1;     /* a descriptor may be free again: try */
        clients_end_turn();
    }
    free(watched);
}

/* Every entry is looked at to find the READY ones: the listener first, then
 * each client, writing before reading (sending frees room, and room lets it
 * read). Returns the listener, or -1 once --once has closed it. */
static int dispatch(int listener, int ready, const struct server_settings *settings, int *pause)
{
    int count = watched_count;      /* clients accepted now are looked at next time */
    if (watched[0].revents & POLLIN) {
        listener = accept_waiting(listener, settings, capacity, pause);
        watched[0].fd = listener;   /* -1 after --once: poll() skips it */
        ready--;
    }
    for (int i = 1; i < count && ready > 0; i++) {
        short events = watched[i].revents;
        struct client *c = client_at(watched[i].fd);
        if (events == 0 || c == NULL)
            continue;
        ready--;
        /* POLLERR and POLLHUP come unasked: the send or recv says what failed. */
        if ((events & (POLLOUT | POLLERR | POLLHUP)) && c->pending_length > 0 &&
            flush_pending(c) == -1)
            continue;
        if ((events & (POLLIN | POLLERR | POLLHUP)) && client_wants(c) & WANT_READ)
            handle_client_data(c);
    }
    return listener;
}

/* The interest changes: a new client's entry, and a client's events when it
 * starts or stops having output pending, or is held back. */
static short poll_events(int wants)
{
    return (short)((wants & WANT_READ ? POLLIN : 0) | (wants & WANT_WRITE ? POLLOUT : 0));
}

static void added(struct client *c)
{
    c->slot = watched_count++;
    c->watched = client_wants(c);
    watched[c->slot] = (struct pollfd){ c->fd, poll_events(c->watched), 0 };
}

static void interest_changed(struct client *c)
{
    c->watched = client_wants(c);
    watched[c->slot].events = poll_events(c->watched);
}

/* A closed client's entry is marked (poll() skips a negative fd) and taken
 * out before the next call, when nothing is looking at the array. */
static void closing(struct client *c)
{
    watched[c->slot].fd = -1;
    holes++;
}

static void forget_closed(void)
{
    for (int i = 1; holes > 0 && i < watched_count; i++) {
        while (i < watched_count && watched[i].fd == -1) {
            watched[i] = watched[--watched_count];  /* the last entry takes its place */
            holes--;
            struct client *moved = client_at(watched[i].fd);
            if (moved != NULL && i < watched_count)
                moved->slot = i;
        }
    }
    holes = 0;
}
