/* nagle.c: chapter 2, why a message sent in small pieces waits.
 *
 * Nagle's algorithm (RFC 896) keeps a small piece back while an earlier one
 * is still unacknowledged, hoping to send one full segment instead of many
 * small ones. The receiver, for its part, delays its ACK (RFC 1122, about
 * 40 ms on Linux), hoping to send it along with a reply; but the echo can't
 * start before the whole message is in. So with pieces, each message waits
 * for that delayed ACK. TCP_NODELAY turns Nagle's algorithm off for one
 * socket: every piece goes out at once.
 *
 * Usage: disable_nagle(fd);   (the server's and the client's --nodelay)
 * See also: tcp(7) (TCP_NODELAY), README.md ("Small pieces wait").
 */
#include "fixed_length.h"

#include "narrate.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

void disable_nagle(int fd)
{
    int on = 1;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on) == -1)
        sl_fail_errno("setsockopt TCP_NODELAY");
    sl_narrate("setsockopt(fd %d, TCP_NODELAY, 1) -> 0: small pieces go out at once", fd);
}
