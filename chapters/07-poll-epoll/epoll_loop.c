/* epoll_loop.c: chapter 7, chapter 6's server waiting with epoll (Linux).
 *
 * epoll keeps the interest list in the kernel: epoll_ctl() adds a socket
 * once and changes it when what it wants changes, and epoll_wait() returns
 * only the ready ones. A call costs what is ready, not what is connected, so
 * 10,000 idle connections cost nothing until they speak. Level-triggered
 * (the default) it reports a socket for as long as it is ready, as poll()
 * does. Edge-triggered (EPOLLET) it reports a socket when it becomes ready:
 * a handler must then read until recv() says EAGAIN, or the rest waits for
 * an edge that never comes (--edge-bug shows it). Diff this file with
 * poll_loop.c: the same loop, the same hooks, the same handlers.
 *
 * Usage: 07-poll-epoll server --loop epoll [--edge | --edge-bug]
 * See also: epoll(7), epoll_ctl(2), epoll_wait(2), poll_loop.c; the BSDs'
 *           and macOS's counterpart is kqueue(2), not built here.
 */
#include "poll_epoll.h"

#ifdef __linux__
#include "narrate.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>

static void added(struct client *c);
static void interest_changed(struct client *c);
static void closing(struct client *c);
static int dispatch(int listener, int ready, const struct server_settings *settings, int *pause);
static void serve_again(void);
static struct epoll_event watch_listener(int listener);
static void come_back(struct client *c, int more, int rdhup);

#define MAX_EVENTS 1024
static struct epoll_event events[MAX_EVENTS];  /* what epoll_wait says is ready */
static int epoll_fd, capacity;
static enum epoll_mode mode;
static int *again, again_count;     /* edge-triggered: read until EAGAIN, a turn at a time */
enum { AGAIN = 1, PEER_DONE = 2 };  /* a client's slot, here: on the list; half-closed */

/* The event loop: wait for whatever is ready, serve it, never wait on any
 * one client. Returns when --once's client is gone. */
void serve_with_epoll(int listener, const struct server_settings *settings, int limit,
                      enum epoll_mode how)
{
    const struct loop_hooks hooks = { added, interest_changed, closing };
    capacity = limit;
    mode = how;
    again = calloc((size_t)limit, sizeof *again);
    if (again == NULL || clients_init(settings, limit, &hooks) == -1)
        sl_fail_errno("calloc");
    struct epoll_event event = watch_listener(listener);
    int paused_at = -1;     /* out of descriptors: clients we had; the listener rests */
    while (listener != -1 || clients_count() > 0) {
        double wait = again_count > 0 ? 0 : wait_seconds(paused_at != -1);
        int ready = epoll_wait(epoll_fd, events, MAX_EVENTS, wait < 0 ? -1 : (int)(wait * 1e3));
        if (ready == -1 && errno == EINTR)
            continue;
        if (ready == -1)
            sl_fail_errno("epoll_wait");
        sl_narrate("epoll_wait(fd %d, %d watched) -> %d", epoll_fd, clients_count() + 1, ready);
        int pause = 0;
        listener = dispatch(listener, ready, settings, &pause);
        if (pause && listener != -1) {
            paused_at = clients_count();
            epoll_ctl(epoll_fd, EPOLL_CTL_DEL, listener, NULL);
        } else if (paused_at != -1 && (ready == 0 || clients_count() < paused_at)) {
            paused_at = -1;     /* a descriptor may be free again: try */
            if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, listener, &event) == -1)
                sl_fail_errno("epoll_ctl ADD listener");
        }
        serve_again();
        clients_end_turn();
    }
}

/* The interest list, in the kernel, and the listener in it. The listener
 * stays level-triggered whatever MODE is: a batch of accepts may leave
 * connections waiting, and it is told again. */
static struct epoll_event watch_listener(int listener)
{
    epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd == -1)
        sl_fail_errno("epoll_create1");
    struct epoll_event event = { .events = EPOLLIN, .data.fd = listener };
    if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, listener, &event) == -1)
        sl_fail_errno("epoll_ctl ADD listener");
    sl_narrate("epoll_create1() -> fd %d; epoll_ctl(ADD, fd %d, EPOLLIN) -> 0", epoll_fd,
               listener);
    return event;
}

/* Only the READY ones are looked at: the listener, or a client, writing
 * before reading (sending frees room, and room lets it read). Returns the
 * listener, or -1 once --once has closed it. */
static int dispatch(int listener, int ready, const struct server_settings *settings, int *pause)
{
    for (int i = 0; i < ready; i++) {
        int fd = events[i].data.fd;
        unsigned happened = events[i].events;
        if (fd == listener) {
            listener = accept_waiting(listener, settings, capacity, pause);
            continue;
        }
        struct client *c = client_at(fd);
        if (c == NULL)
            continue;   /* closed earlier in this turn */
        if (happened & EPOLLRDHUP)
            sl_narrate("fd %d: EPOLLRDHUP: the client closed its side; what it sent is "
                       "still to be read, then recv() says 0", fd);
        /* EPOLLERR and EPOLLHUP come unasked: the send or recv says what failed. */
        if ((happened & (EPOLLOUT | EPOLLERR | EPOLLHUP)) && c->pending_length > 0 &&
            flush_pending(c) == -1)
            continue;
        if (!(happened & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP)) ||
            !(client_wants(c) & WANT_READ))
            continue;
        int more = handle_client_data(c);
        if (mode == LEVEL_TRIGGERED || client_at(fd) != c)
            continue;   /* level-triggered: epoll says so again while it is readable */
        if (mode == EDGE_BUG && more)
            sl_narrate("fd %d: more may be waiting, and --edge-bug reads once per event: "
                       "the rest waits for an edge that will not come", fd);
        if (mode == EDGE_TRIGGERED)
            come_back(c, more, happened & EPOLLRDHUP);
    }
    return listener;
}

/* Edge-triggered: epoll will not say again what it said once. A client
 * whose last recv() filled all it was given (MORE) may have more; one whose
 * peer half-closed (RDHUP) has an EOF to read even after a short read. It
 * comes back for one more helping each turn (never all at once: the others
 * wait meanwhile) until recv() says EAGAIN, or 0. */
static void come_back(struct client *c, int more, int rdhup)
{
    if (rdhup)
        c->slot |= PEER_DONE;
    if (!(more || (c->slot & PEER_DONE)) || c->eof || (c->slot & AGAIN))
        return;
    c->slot |= AGAIN;
    again[again_count++] = c->fd;
}

static void serve_again(void)
{
    int count = again_count;
    again_count = 0;
    for (int i = 0; i < count; i++) {
        struct client *c = client_at(again[i]);
        if (c == NULL || !(c->slot & AGAIN))
            continue;
        c->slot &= ~AGAIN;
        if (client_wants(c) & WANT_READ) {
            int more = handle_client_data(c);
            if (client_at(again[i]) == c)
                come_back(c, more, 0);
        }
    }
}

/* The interest changes: a new client is added once, and changed when it
 * starts or stops having output pending, or is held back. */
static unsigned epoll_events(int wants)
{
    return (wants & WANT_READ ? EPOLLIN | EPOLLRDHUP : 0u) | (wants & WANT_WRITE ? EPOLLOUT : 0u) |
           (mode == LEVEL_TRIGGERED ? 0u : (unsigned)EPOLLET);
}

static void added(struct client *c)
{
    c->watched = client_wants(c);
    struct epoll_event event = { .events = epoll_events(c->watched), .data.fd = c->fd };
    if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, c->fd, &event) == -1)
        sl_fail_errno("epoll_ctl ADD");
}

/* EPOLL_CTL_MOD also looks at the socket again: if it is ready for what is
 * now wanted, the next epoll_wait says so, edge-triggered or not. */
static void interest_changed(struct client *c)
{
    c->watched = client_wants(c);
    struct epoll_event event = { .events = epoll_events(c->watched), .data.fd = c->fd };
    if (epoll_ctl(epoll_fd, EPOLL_CTL_MOD, c->fd, &event) == -1)
        sl_fail_errno("epoll_ctl MOD");
}

/* close() takes a descriptor out of every interest list it is in (when no
 * other descriptor refers to the same socket): nothing to tell the kernel. */
static void closing(struct client *c)
{
    c->slot = 0;
}
#endif
