/* proc.c: fork, reap, the clock.
 *
 * See also: common/proc.h for each function's contract.
 */
#include "proc.h"

#include "narrate.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

pid_t sl_fork(void)
{
    fflush(stdout);
    fflush(stderr);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == -1)
        sl_fail_errno("fork");
#ifdef __linux__
    /* The parent may already be gone when the child asks: then it goes too. */
    if (pid == 0 && prctl(PR_SET_PDEATHSIG, SIGKILL) == 0 && getppid() != parent)
        _exit(1);
#else
    (void)parent;
#endif
    return pid;
}

int sl_reap(pid_t pid, const char *who)
{
    int status;
    while (waitpid(pid, &status, 0) == -1) {
        if (errno != EINTR)
            return -1;
    }
    if (WIFSIGNALED(status)) {
        sl_narrate("waitpid(%s) -> killed by signal %d (%s)", who, WTERMSIG(status),
                   strsignal(WTERMSIG(status)));
        return 128 + WTERMSIG(status);
    }
    return WEXITSTATUS(status);
}

double sl_now(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

void sl_sleep(double seconds)
{
    struct timespec left;
    left.tv_sec = (time_t)seconds;
    left.tv_nsec = (long)((seconds - (double)left.tv_sec) * 1e9);
    while (nanosleep(&left, &left) == -1 && errno == EINTR)
        continue;
}

int sl_wait_readable(int fd, double seconds)
{
    for (double until = sl_now() + seconds;;) {
        double left = until - sl_now();
        if (left < 0)
            left = 0;
        fd_set readable;
        FD_ZERO(&readable);
        FD_SET(fd, &readable);
        struct timeval timeout = { (time_t)left, (suseconds_t)((left - (double)(time_t)left) * 1e6) };
        int ready = select(fd + 1, &readable, NULL, NULL, &timeout);
        if (ready != -1 || errno != EINTR)
            return ready;
    }
}
