/* connect.c: chapter 6, connecting without blocking.
 *
 * connect() on a non-blocking socket starts the handshake and returns at
 * once, -1 with EINPROGRESS; the socket turns writable when the handshake is
 * over, one way or the other, and getsockopt(SO_ERROR) then says how it
 * ended. This is chapter 1's connect_to_server with that one step changed,
 * which is the lesson, so it is written out here rather than linked.
 *
 * Usage: int fd = connect_nonblocking("localhost", 9006, 5.0);
 *        (exits 1 with the last reason when no address answers)
 * See also: connect(2) (EINPROGRESS), socket(7) (SO_ERROR), select(2),
 *           chapters/01-blocking/sockets.c (connect_to_server, blocking).
 */
#include "nonblocking.h"

#include "narrate.h"
#include "proc.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static int wait_writable(int fd, double seconds);
static int handshake_result(int fd);
static int try_address(const struct addrinfo *ai, double timeout, const char **failed);

/* 0 connected, or -1 with errno set. */
static int connect_without_blocking(int fd, const struct addrinfo *ai, const char *text,
                                    double timeout)
{
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
        sl_narrate("connect(%s) -> 0 at once", text);
        return 0;
    }
    if (errno != EINPROGRESS) {
        sl_narrate("connect(%s) -> -1 %s", text, sl_errno(errno));
        return -1;
    }
    sl_narrate("connect(%s) -> -1 EINPROGRESS: the handshake goes on", text);
    int ready = wait_writable(fd, timeout);
    if (ready == -1) {
        sl_narrate("select(fd %d writable) -> -1 %s", fd, sl_errno(errno));
        return -1;
    }
    if (ready == 0) {
        sl_narrate("select(fd %d writable, timeout %g s) -> 0: no answer", fd, timeout);
        errno = ETIMEDOUT;
        return -1;
    }
    return handshake_result(fd);
}

/* Writable does not mean connected: a refused handshake is over too, and
 * SO_ERROR says how it ended. 0, or -1 with errno set to that error. */
static int handshake_result(int fd)
{
    int error = 0;
    socklen_t length = sizeof error;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == -1)
        return -1;
    if (error != 0) {
        sl_narrate("select(fd %d writable) -> 1, getsockopt(SO_ERROR) -> %s", fd,
                   sl_errno(error));
        errno = error;
        return -1;
    }
    char local[SL_ADDR_STRLEN] = "?";
    struct sockaddr_storage mine;
    socklen_t mine_length = sizeof mine;
    if (getsockname(fd, (struct sockaddr *)&mine, &mine_length) == 0)
        sl_format_address((struct sockaddr *)&mine, mine_length, local);
    sl_narrate("select(fd %d writable) -> 1, getsockopt(SO_ERROR) -> 0: connected from %s", fd,
               local);
    return 0;
}

/* Waits until FD is writable, at most SECONDS: 1 writable, 0 timed out, -1 error. */
static int wait_writable(int fd, double seconds)
{
    double deadline = sl_now() + seconds;
    for (;;) {
        fd_set writable;
        FD_ZERO(&writable);
        FD_SET(fd, &writable);
        double left = deadline - sl_now();
        if (left < 0)
            left = 0;
        struct timeval timeout = { (time_t)left, (suseconds_t)((left - (double)(time_t)left) * 1e6) };
        int ready = select(fd + 1, NULL, &writable, NULL, &timeout);
        if (ready == -1 && errno == EINTR)
            continue;
        return ready;
    }
}

/* A socket for AI, non-blocking, connected: the fd, or -1 with errno set and
 * *FAILED naming the call that failed. */
static int try_address(const struct addrinfo *ai, double timeout, const char **failed)
{
    char text[SL_ADDR_STRLEN];
    sl_format_address(ai->ai_addr, ai->ai_addrlen, text);
    int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd == -1) {
        *failed = "socket";
        return -1;
    }
    sl_narrate("socket(%s, SOCK_STREAM) -> fd %d",
               ai->ai_family == AF_INET6 ? "AF_INET6" : "AF_INET", fd);
    *failed = "connect";
    if (fd >= FD_SETSIZE) {         /* this client waits with select() too */
        errno = EMFILE;
        *failed = "socket (fd over FD_SETSIZE)";
    } else if (set_nonblocking(fd) == -1) {
        *failed = "fcntl O_NONBLOCK";
    } else if (connect_without_blocking(fd, ai, text, timeout) == 0) {
        return fd;
    }
    int saved_errno = errno;
    close(fd);
    errno = saved_errno;
    return -1;
}

/* Resolves HOST and tries every address it has until one connects: a
 * connected, non-blocking fd. Exits 1 with the last reason if none does. */
int connect_nonblocking(const char *host, int port, double timeout)
{
    struct addrinfo hints, *found;
    char service[8];
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    snprintf(service, sizeof service, "%d", port);
    int rc = getaddrinfo(host, service, &hints, &found);
    if (rc != 0)
        sl_fail("getaddrinfo %s: %s", host, rc == EAI_SYSTEM ? sl_errno(errno) : gai_strerror(rc));
    int fd = -1, saved_errno = 0;
    const char *failed_call = "connect";
    for (struct addrinfo *ai = found; ai != NULL && fd == -1; ai = ai->ai_next) {
        fd = try_address(ai, timeout, &failed_call);
        saved_errno = errno;
    }
    freeaddrinfo(found);
    if (fd == -1) {
        errno = saved_errno;
        sl_fail_errno(failed_call);
    }
    return fd;
}
