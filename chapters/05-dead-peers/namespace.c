/* namespace.c: a network of the demo's own, and its loopback taken down.
 *
 * Harness, not lesson: unshare(CLONE_NEWUSER | CLONE_NEWNET) gives the
 * process a user namespace (so no root is needed, where the system allows
 * unprivileged ones) and a network namespace whose only interface is a
 * loopback, down until we bring it up. Taking it down later cuts every
 * connection inside without a FIN or a reset: the vanished host. Linux only.
 *
 * Usage: see namespace.h; demo.c's vanish scene calls it.
 * See also: unshare(2), user_namespaces(7), network_namespaces(7),
 *           netdevice(7) (SIOCGIFFLAGS, SIOCSIFFLAGS).
 */

/* unshare() and CLONE_NEWNET need the GNU names; before any system header. */
#if defined(__linux__)
#define _GNU_SOURCE
#endif

#include "namespace.h"

#include "dead_peers.h"
#include "narrate.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#if defined(__linux__)
#include <sched.h>
#endif

static _Noreturn void cannot_run(const char *why)
{
    sl_fail_status(EXIT_CANNOT_RUN, "demo vanish cannot run here: %s", why);
}

#if defined(__linux__)

int set_loopback(int up)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd == -1)
        return -1;
    struct ifreq request;
    memset(&request, 0, sizeof request);
    snprintf(request.ifr_name, sizeof request.ifr_name, "lo");
    int rc = ioctl(fd, SIOCGIFFLAGS, &request);
    if (rc == 0) {
        if (up)
            request.ifr_flags |= IFF_UP;
        else
            request.ifr_flags &= ~IFF_UP;
        rc = ioctl(fd, SIOCSIFFLAGS, &request);
    }
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

void enter_private_network(void)
{
    char why[160];
    if (unshare(CLONE_NEWUSER | CLONE_NEWNET) == -1) {
        snprintf(why, sizeof why, "unshare(CLONE_NEWUSER | CLONE_NEWNET) -> -1 %s",
                 sl_errno(errno));
        cannot_run(why);
    }
    sl_narrate("unshare(CLONE_NEWUSER | CLONE_NEWNET) -> 0: a network of our own");
    if (set_loopback(1) == -1) {
        snprintf(why, sizeof why, "ioctl(SIOCSIFFLAGS, lo up) -> -1 %s", sl_errno(errno));
        cannot_run(why);
    }
    sl_narrate("ioctl(SIOCSIFFLAGS, lo up) -> 0");
}

/* The SYN of a new connection goes nowhere: connect() neither completes nor
 * fails (the SYN would be retried for minutes), so 300 ms without an answer
 * is the sign. A system whose loopback works while down shows nothing. */
void check_line_is_cut(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int flags = fd == -1 ? -1 : fcntl(fd, F_GETFL);
    if (flags == -1 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1)
        sl_fail_errno("check: socket or fcntl O_NONBLOCK");
    struct sockaddr_in to;
    memset(&to, 0, sizeof to);
    to.sin_family = AF_INET;
    to.sin_port = htons((unsigned short)port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int rc = connect(fd, (struct sockaddr *)&to, sizeof to);
    int connected = rc == 0;
    if (rc == -1 && errno == EINPROGRESS) {
        struct pollfd p = { fd, POLLOUT, 0 };
        int error = 0;
        socklen_t length = sizeof error;
        connected = poll(&p, 1, 300) == 1 &&
                    getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0 && error == 0;
    }
    close(fd);
    sl_narrate("check: connect(127.0.0.1:%d) -> %s", port,
               connected ? "0: connected, lo down or not!" : "no answer in 300 ms: the line is cut");
    if (connected)
        cannot_run("taking lo down does not cut loopback traffic on this system");
}

#else

void enter_private_network(void)
{
    cannot_run("it needs Linux network namespaces");
}

int set_loopback(int up)
{
    (void)up;
    errno = ENOSYS;
    return -1;
}

void check_line_is_cut(int port)
{
    (void)port;
    cannot_run("it needs Linux network namespaces");
}

#endif
