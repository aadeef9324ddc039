/* limits.c: chapter 7, the next wall: how many descriptors a process may open.
 *
 * poll() and epoll take any descriptor, so the limit that remains is the
 * process's: RLIMIT_NOFILE (`ulimit -n`). Its soft limit is what open(),
 * socket() and accept() are held to (EMFILE past it), and often 1024, where
 * select() stopped anyway; its hard limit is how far an unprivileged process
 * may raise the soft one itself. A server meant for many connections raises
 * it at start, and says so. The system-wide cap (fs.file-max) and memory are
 * the walls after that.
 *
 * Usage: int limit = raise_descriptor_limit();
 * See also: getrlimit(2), setrlimit(2), bash(1) (ulimit -n, -Hn).
 */
#include "poll_epoll.h"

#include "narrate.h"

#include <errno.h>
#include <sys/resource.h>

/* The table of clients is sized by the limit: an "unlimited" hard limit is
 * taken as this many. */
#define LIMIT_CEILING (1 << 20)

int raise_descriptor_limit(void)
{
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) == -1)
        sl_fail_errno("getrlimit RLIMIT_NOFILE");
    rlim_t soft = limit.rlim_cur, hard = limit.rlim_max;
    rlim_t wanted = hard == RLIM_INFINITY || hard > LIMIT_CEILING ? LIMIT_CEILING : hard;
    if (soft != RLIM_INFINITY && soft >= wanted) {
        sl_narrate("getrlimit(RLIMIT_NOFILE) -> soft %llu, hard %llu: nothing to raise",
                   (unsigned long long)soft, (unsigned long long)hard);
        return soft > LIMIT_CEILING ? LIMIT_CEILING : (int)soft;
    }
    limit.rlim_cur = wanted;
    if (setrlimit(RLIMIT_NOFILE, &limit) == -1) {
        /* macOS refuses more than OPEN_MAX (10240) whatever the hard limit. */
        sl_narrate("setrlimit(RLIMIT_NOFILE, soft %llu) -> -1 %s: staying at %llu",
                   (unsigned long long)wanted, sl_errno(errno), (unsigned long long)soft);
        return (int)soft;
    }
    sl_narrate("setrlimit(RLIMIT_NOFILE, soft %llu) -> 0: raised from %llu to the hard limit",
               (unsigned long long)wanted, (unsigned long long)soft);
    return (int)wanted;
}
