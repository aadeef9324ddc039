/* server.c: chapter 1, an iterative echo server.
 *
 * One client at a time: accept() a connection, echo what it sends until it
 * closes its side, close, accept the next. While one client is served, the
 * others' connections are already complete: the kernel finished their
 * handshakes and keeps them in the listener's backlog until accept() takes
 * them. A second client can connect, and send, and get no answer yet.
 *
 * Usage: 01-blocking server [--bind ADDR] [--port N] [--once] [--backlog N]
 * See also: sockets.c (open_listener, accept_client, send_all), client.c,
 *           accept(2), recv(2).
 */
#include "blocking.h"

#include "narrate.h"
#include "sockets.h"

#include <errno.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

static void echo_until_eof(int client);

int run_server(const struct server_settings *settings)
{
    char why[256];
    int listener = open_listener(settings->bind_address, settings->port, settings->backlog,
                                 settings->reuse_address, why, sizeof why);
    if (listener == -1)
        sl_fail("%s", why);
    if (announce_listening(listener) == -1)
        sl_fail_errno("getsockname");
    serve(listener, settings->once ? 1 : 0);
    close(listener);
    return SL_EXIT_OK;
}

/* Serves clients one after another, COUNT of them (0: forever). Between two
 * clients it holds only the listener: out of descriptors, accept_or_exit()
 * stops the server and says why (sockets.c). */
void serve(int listener, int count)
{
    for (int served = 0; count == 0 || served < count;) {
        int client = accept_or_exit(listener);
        echo_until_eof(client);
        close(client);
        sl_narrate("close(fd %d)", client);
        served++;
    }
}

/* Echoes whatever arrives on CLIENT until the client closes its side (recv
 * returns 0) or the connection fails. recv blocks until at least one byte is
 * there: this is where the server spends its life. */
static void echo_until_eof(int client)
{
    char buffer[4096];
    for (;;) {
        ssize_t n = recv(client, buffer, sizeof buffer, 0);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1) {
            sl_narrate("recv(fd %d) -> -1 %s", client, sl_errno(errno));
            return;
        }
        if (n == 0) {
            sl_narrate("recv(fd %d) -> 0: the client closed its side", client);
            return;
        }
        sl_narrate("recv(fd %d) -> %s", client, sl_plural(n, "byte"));
        if (send_all(client, buffer, (size_t)n, NULL) == -1)
            return;
    }
}
