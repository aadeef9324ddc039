/* remedies.h: four ways a client bounds its wait on a peer that may be dead.
 *
 * Each remedy is one self-contained function, its contract below. Two are run
 * by the kernel, under any recv(): keepalive probes, and a user timeout on
 * unacknowledged data. Two are run by the program around its recv(): a
 * deadline on poll(), and PING/PONG heartbeats. client.c decides which to use;
 * nothing here knows about the command line.
 *
 * Usage: if (enable_keepalive(fd, 1, 1, 2) == -1) sl_fail_errno("setsockopt");
 *        int ready = wait_readable_until(fd, sl_now() + 1.5);
 * See also: remedies.c, client.c, tcp(7) (TCP_KEEPIDLE, TCP_USER_TIMEOUT),
 *           socket(7) (SO_KEEPALIVE), poll(2).
 */
#ifndef SOCKLAB_REMEDIES_H
#define SOCKLAB_REMEDIES_H

/* The remedies one client runs with; a zero turns that one off. */
struct remedies {
    double timeout;             /* --timeout: seconds the answer may take */
    int keep_idle;              /* --keepalive IDLE,INTERVAL,COUNT, in seconds */
    int keep_interval;
    int keep_count;
    int user_timeout_ms;        /* --user-timeout */
    double heartbeat;           /* --heartbeat: seconds of silence before a PING */
};

/* Keepalive: SO_KEEPALIVE on FD, so that the kernel probes the connection
 * after IDLE seconds of silence, then every INTERVAL seconds, and fails it
 * with ETIMEDOUT after COUNT probes go unanswered. Each setsockopt is
 * narrated. A system without the per-socket timings (they are not POSIX)
 * keeps its defaults, and it says so. 0, or -1 with errno set. */
int enable_keepalive(int fd, int idle, int interval, int count);

/* User timeout: the kernel fails the connection with ETIMEDOUT once data it
 * sent has stayed unacknowledged for MS milliseconds (TCP_USER_TIMEOUT, Linux
 * only). 0, or -1 with errno set: ENOPROTOOPT where the option does not exist. */
int set_user_timeout(int fd, int ms);

/* 1 where TCP_USER_TIMEOUT exists, 0 elsewhere (so --user-timeout is refused). */
int user_timeout_available(void);

/* Deadline: waits with poll() until FD is readable (data, EOF or an error to
 * collect) or the clock (sl_now()) reaches UNTIL, whichever comes first:
 * 1 readable, 0 the time is up (narrated), -1 with errno set. */
int wait_readable_until(int fd, double until);

/* Heartbeat: the peer must prove it is alive, answering PING with PONG, while
 * the client waits. PERIOD is the seconds of silence before a PING; the peer
 * is dead after three periods without a word. */
struct heartbeat {
    double period;
    double last_ping;           /* sl_now() when the last PING left */
};

/* Call whenever the wait wakes, with LAST_HEARD the sl_now() of the peer's
 * last sign of life: sends PING on FD (narrated) once a period has passed
 * since both LAST_HEARD and the last PING. Returns when it needs to be called
 * next (sl_now() seconds), or -1 with errno set: ETIMEDOUT after three
 * silent periods (the peer is dead), or the error of the PING's send. */
double heartbeat_check(int fd, struct heartbeat *beat, double last_heard);

#endif
