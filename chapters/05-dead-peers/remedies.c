/* remedies.c: chapter 5, bounding the wait on a peer that may be dead.
 *
 * A blocking recv() on a connection whose peer froze or vanished waits for
 * ever: nothing will arrive, not even an error. Each function here is one
 * remedy, a bound on that wait. The kernel's two (keepalive, user timeout)
 * are socket options set once; they only see TCP, which a frozen process's
 * kernel keeps alive. The program's two (a deadline, a heartbeat) run around
 * poll(); they see whether the peer's program answers.
 *
 * TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT and TCP_USER_TIMEOUT are not
 * POSIX: each is used under #ifdef, and where one is missing the lesson's
 * narration says what applies instead (macOS names the idle time
 * TCP_KEEPALIVE; TCP_USER_TIMEOUT is Linux only).
 *
 * Usage: see remedies.h; client.c calls each of them.
 * See also: tcp(7), socket(7), poll(2), RFC 1122 section 4.2.3.6 (keepalive),
 *           RFC 5482 (the user timeout).
 */

/* The options above need the GNU names on Linux; macOS hides TCP_KEEPALIVE
 * under strict POSIX. Both must come before any system header. */
#if defined(__linux__)
#define _GNU_SOURCE
#elif defined(__APPLE__)
#define _DARWIN_C_SOURCE
#endif

#include "remedies.h"

#include "lines.h"
#include "narrate.h"
#include "proc.h"

#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

/* Narrates a failed setsockopt as strace would, keeping errno: -1. */
static int refused(const char *option, int value)
{
    sl_narrate("setsockopt(%s, %d) -> -1 %s", option, value, sl_errno(errno));
    return -1;
}

/* SO_KEEPALIVE alone would wait the system's 2 hours before the first probe
 * (Linux: /proc/sys/net/ipv4/tcp_keepalive_time); the timings make it ours. */
int enable_keepalive(int fd, int idle, int interval, int count)
{
    int on = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on) == -1)
        return refused("SO_KEEPALIVE", on);
    sl_narrate("setsockopt(SO_KEEPALIVE, 1) -> 0");
#if defined(TCP_KEEPIDLE)
    if (setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle) == -1)
        return refused("TCP_KEEPIDLE", idle);
    sl_narrate("setsockopt(TCP_KEEPIDLE, %d) -> 0: first probe after %d s idle", idle, idle);
#elif defined(TCP_KEEPALIVE)
    if (setsockopt(fd, IPPROTO_TCP, TCP_KEEPALIVE, &idle, sizeof idle) == -1)
        return refused("TCP_KEEPALIVE", idle);
    sl_narrate("setsockopt(TCP_KEEPALIVE, %d) -> 0: first probe after %d s idle", idle, idle);
#else
    sl_narrate("no per-socket idle time here: the system's default applies");
#endif
#if defined(TCP_KEEPINTVL) && defined(TCP_KEEPCNT)
    if (setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval) == -1)
        return refused("TCP_KEEPINTVL", interval);
    sl_narrate("setsockopt(TCP_KEEPINTVL, %d) -> 0: then one every %d s", interval, interval);
    if (setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count) == -1)
        return refused("TCP_KEEPCNT", count);
    sl_narrate("setsockopt(TCP_KEEPCNT, %d) -> 0: %s unanswered: dead", count,
               sl_plural(count, "probe"));
#else
    (void)interval, (void)count;
    sl_narrate("no per-socket probe interval or count here: the system's defaults apply");
#endif
    return 0;
}

/* Without it, data that is never acknowledged is retransmitted for about 15
 * minutes (Linux: /proc/sys/net/ipv4/tcp_retries2) before the kernel gives
 * up. It needs something sent: an idle connection has nothing to time. */
int set_user_timeout(int fd, int ms)
{
#if defined(TCP_USER_TIMEOUT)
    unsigned int value = (unsigned int)ms;
    if (setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &value, sizeof value) == -1)
        return refused("TCP_USER_TIMEOUT", ms);
    sl_narrate("setsockopt(TCP_USER_TIMEOUT, %d ms) -> 0", ms);
    return 0;
#else
    (void)fd, (void)ms;
    errno = ENOPROTOOPT;
    return -1;
#endif
}

int user_timeout_available(void)
{
#if defined(TCP_USER_TIMEOUT)
    return 1;
#else
    return 0;
#endif
}

/* poll() rather than SO_RCVTIMEO: the socket option bounds each recv() on its
 * own, so every PONG or piece of an answer would start it again; one
 * deadline, and the milliseconds left recomputed before each poll(), bound
 * the whole wait. sl_now() is CLOCK_MONOTONIC: a clock set back does not
 * stretch the deadline. */
int wait_readable_until(int fd, double until)
{
    for (;;) {
        double left = until - sl_now();
        int ms = left > 0 ? (int)ceil(left * 1000) : 0;
        struct pollfd p = { fd, POLLIN, 0 };
        int ready = poll(&p, 1, ms);
        if (ready == -1 && errno == EINTR)
            continue;
        if (ready == 0)
            sl_narrate("poll(fd %d, %d ms) -> 0: nothing yet", fd, ms);
        return ready;
    }
}

/* The peer's program must answer, not just its kernel: that is what makes a
 * heartbeat see a frozen process, which keepalive cannot. */
double heartbeat_check(int fd, struct heartbeat *beat, double last_heard)
{
    double now = sl_now();
    if (now - last_heard >= 3 * beat->period) {
        errno = ETIMEDOUT;
        return -1;
    }
    double quiet_since = fmax(beat->last_ping, last_heard);
    if (now - quiet_since >= beat->period) {
        sl_narrate("%.2f s without a word from the server: PING", now - last_heard);
        if (send_line(fd, "PING") == -1)
            return -1;
        beat->last_ping = quiet_since = now;
    }
    return fmin(quiet_since + beat->period, last_heard + 3 * beat->period);
}
