/* server.c: chapter 7's server: chapter 6's, past FD_SETSIZE.
 *
 * The same listener (chapter 1's open_listener, made non-blocking), the same
 * table of clients and handlers; only the loop changes: select() as in
 * chapter 6, poll() or epoll. Before any of them, the descriptor limit is
 * raised as far as the system lets this process, since that is the wall a
 * server meets once FD_SETSIZE is gone.
 *
 * Usage: 07-poll-epoll server [--loop select|poll|epoll] [--edge | --edge-bug]
 *                             [chapter 6's server options]
 * See also: poll_loop.c, epoll_loop.c, limits.c, ../06-select/server.c.
 */
#include "poll_epoll.h"

#include "../01-blocking/sockets.h"
#include "narrate.h"

#include <sys/select.h>

int run_loop_server(const struct server_settings *settings, enum loop_kind loop,
                    enum epoll_mode mode)
{
    int limit = raise_descriptor_limit();
    int listener = get_listener(settings->bind_address, settings->port, settings->backlog);
    if (announce_listening(listener) == -1)
        sl_fail_errno("getsockname");
    if (loop == LOOP_POLL) {
        serve_with_poll(listener, settings, limit);
        return SL_EXIT_OK;
    }
#ifdef __linux__
    if (loop == LOOP_EPOLL) {
        serve_with_epoll(listener, settings, limit, mode);
        return SL_EXIT_OK;
    }
#else
    (void)mode;     /* main.c refuses --loop epoll here: kqueue is the counterpart */
#endif
    /* select(): chapter 6's loop, and its FD_SETSIZE wall, as it was. */
    if (clients_init(settings, FD_SETSIZE, NULL) == -1)
        sl_fail_errno("calloc");
    serve_with_select(listener, settings);
    return SL_EXIT_OK;
}
