/* proc.h: processes and the clock, for demos and timing.
 *
 * One job: the process plumbing a demo needs around a lesson (fork with
 * flushed buffers, reaping a child and saying how it ended, waiting for a
 * socket of its own) and a clock that never jumps, for reporting how long
 * something took.
 *
 * Usage: pid_t pid = sl_fork(); if (pid == 0) { ...; exit(0); }
 *        int status = sl_reap(pid, "client");   // its exit status, or 128+signal
 * See also: fork(2), waitpid(2), clock_gettime(2).
 */
#ifndef SOCKLAB_PROC_H
#define SOCKLAB_PROC_H

#include <sys/types.h>

/* fork(), after flushing stdout and stderr (or the child would print the
 * parent's buffered output again): the child's pid, 0 in the child; exits 1
 * if fork fails. On Linux the child is killed when its parent ends, so a demo
 * ended by a signal (kill, a timeout) leaves none of its processes behind,
 * not even one it stopped with SIGSTOP. */
pid_t sl_fork(void);

/* Waits for child PID and returns how it ended as one number: its exit status
 * (0-255), or 128 + the signal that killed it, as a shell reports it; -1 with
 * errno set if waitpid fails. A signal is narrated, naming the child WHO. */
int sl_reap(pid_t pid, const char *who);

/* Seconds on a clock that never jumps, for measuring how long things took. */
double sl_now(void);

/* Sleeps SECONDS (fractions allowed), resuming after signals. */
void sl_sleep(double seconds);

/* A demo's wait for its own socket FD (below FD_SETSIZE): select() until it
 * is readable or SECONDS have passed, resuming after signals. 1 readable, 0
 * not in time, -1 with errno set. */
int sl_wait_readable(int fd, double seconds);

#endif
