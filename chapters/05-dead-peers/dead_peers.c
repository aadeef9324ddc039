/* dead_peers.c: chapter 5, when the other side dies.
 *
 * A client sends a request and waits for the answer. The server can die in
 * four ways: it exits, it is killed, it is frozen, or its whole host vanishes.
 * The first two reach the client (the dead process's kernel closes for it);
 * the last two send nothing at all, and a blocking recv() waits forever. The
 * client's remedies each put a bound on that wait, and when one fires the
 * client says how the peer was declared dead and how long after its last
 * sign of life:
 *   --timeout SEC        an application deadline (poll)
 *   --keepalive I,N,C    TCP keepalive probes (SO_KEEPALIVE, TCP_KEEPIDLE...)
 *   --user-timeout MS    a bound on unacknowledged data (TCP_USER_TIMEOUT)
 *   --heartbeat SEC      PING/PONG lines that both sides speak
 *
 * Usage: 05-dead-peers server [--behave answer|silent|exit|deaf] [--delay SEC]
 *        05-dead-peers client [--timeout SEC] [--keepalive I,N,C]
 *                             [--user-timeout MS] [--heartbeat SEC]
 *        05-dead-peers demo [exit|crash|freeze|vanish]
 * See also: chapters/05-dead-peers/README.md (the lesson), tcp(7), socket(7),
 *           poll(2), unshare(2), netdevice(7), signal(7) (SIGPIPE).
 */

/* Linux-only calls below (unshare, TCP_USER_TIMEOUT...) need the GNU names;
 * macOS hides TCP_KEEPALIVE under strict POSIX. Both must come before any
 * system header. */
#if defined(__linux__)
#define _GNU_SOURCE
#elif defined(__APPLE__)
#define _DARWIN_C_SOURCE
#endif

#include "cli.h"
#include "narrate.h"
#include "proc.h"
#include "../01-blocking/sockets.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#if defined(__linux__)
#include <sched.h>
#endif

#define DEFAULT_PORT 9005

/* Exit statuses of this chapter, listed in --help. */
/* Temporary, until this chapter's layout is redone: open_listener or exit 1. */
static int listen_or_exit(const char *address, int port, int backlog)
{
    char why[256];
    int fd = open_listener(address, port, backlog, 1, why, sizeof why);
    if (fd == -1)
        sl_fail("%s", why);
    return fd;
}

/* Temporary, until this chapter's layout is redone: connect_to_server or exit 1. */
static int connect_or_exit(const char *host, int port)
{
    char why[256];
    int fd = connect_to_server(host, port, why, sizeof why);
    if (fd == -1)
        sl_fail("%s", why);
    return fd;
}

enum { EXIT_PEER_DEAD = 3, EXIT_CANNOT_RUN = 4 };

/* A server drops a client that has said nothing for this long: its own
 * bound on waiting for a peer that may be dead. */
#define SERVER_IDLE_LIMIT 30.0

/* Longest line either side accepts: nothing a peer sends grows a buffer. */
#define LINE_MAX_BYTES 256

static struct {
    const char *bind_address;
    const char *host;
    int port;
    int once;
    const char *behave;
    double delay;
    const char *message;
    double timeout;
    const char *keepalive;
    int user_timeout;
    double heartbeat;
    int probe;
    int no_sigpipe_ignore;
} opt = { "127.0.0.1", "localhost", DEFAULT_PORT, 0, "answer", 0, "hello", 0, NULL, 0, 0, 0, 0 };

/* --keepalive I,N,C, once parsed. */
static int keep_idle, keep_interval, keep_count;

static const struct sl_option options[] = {
    { "--bind", SL_TEXT, &opt.bind_address, 0, 0, "server", "ADDR",
      "address to listen on: 127.0.0.1 (default), ::1, 0.0.0.0 or ::" },
    { "--port", SL_INT, &opt.port, 0, 65535, "server client", "N",
      "TCP port (default 9005; server: 0 picks a free one)" },
    { "--once", SL_FLAG, &opt.once, 0, 0, "server", NULL, "serve one client, then exit" },
    { "--behave", SL_TEXT, &opt.behave, 0, 0, "server", "MODE",
      "after the request: answer (default), silent (never answer), exit (close and exit), "
      "deaf (never even read it)" },
    { "--delay", SL_SECONDS, &opt.delay, 0, 3600, "server", "SEC",
      "answer SEC seconds late (a slow peer, not a dead one); PINGs are answered meanwhile" },
    { "--host", SL_TEXT, &opt.host, 0, 0, "client", "H", "server name or address (default localhost)" },
    { "--message", SL_TEXT, &opt.message, 0, 0, "client", "TEXT", "the request (default hello)" },
    { "--timeout", SL_SECONDS, &opt.timeout, 0.01, 86400, "client", "SEC",
      "declare the peer dead if no answer comes within SEC seconds (poll)" },
    { "--keepalive", SL_TEXT, &opt.keepalive, 0, 0, "client", "I,N,C",
      "TCP keepalive: first probe after I s idle, then every N s, dead after C unanswered" },
    { "--user-timeout", SL_INT, &opt.user_timeout, 1, 3600000, "client", "MS",
      "TCP_USER_TIMEOUT (Linux): dead when sent data stays unacknowledged MS milliseconds" },
    { "--heartbeat", SL_SECONDS, &opt.heartbeat, 0.05, 3600, "client", "SEC",
      "send PING after SEC s of silence; dead after 3 x SEC with nothing from the peer" },
    { "--probe", SL_FLAG, &opt.probe, 0, 0, "client", NULL,
      "after EOF or a reset, send twice more, to see what the dead peer's kernel answers" },
    { "--no-sigpipe-ignore", SL_FLAG, &opt.no_sigpipe_ignore, 0, 0, "client", NULL,
      "leave SIGPIPE at its default: a send on a reset connection kills the client" },
    { NULL, SL_FLAG, NULL, 0, 0, NULL, NULL, NULL }
};

static const struct sl_role roles[] = {
    { "server", NULL, 0, "Reads one request line per client and behaves as --behave says; "
      "answers PING with PONG." },
    { "client", NULL, 0, "Sends a request and waits for the answer: blocking, or bounded by a remedy." },
    { "demo", "[SCENARIO]", 1, "One way of dying, played out: exit, crash, freeze or vanish "
      "(default: all four in turn)." },
    { NULL, NULL, 0, NULL }
};

static const struct sl_program program = {
    "05-dead-peers", "when the other side dies: EOF, reset, silence, and the remedies for silence",
    roles, options,
    "also 3: the client declared the peer dead (how, and how long after its last sign\n"
    "of life, on stderr); 4: a demo scenario cannot run on this system (it says why).\n"
    "A demo exits 0 when every client did what the lesson says, 1 when one did not.\n"
};

/* ---- lines: the little protocol both sides speak -------------------------- */

/* Sends TEXT and a newline: 0, or -1 with errno set (EMSGSIZE, narrated,
 * for a line longer than the protocol's LINE_MAX_BYTES: the peer would
 * refuse it anyway). */
static int send_line(int fd, const char *text)
{
    char line[LINE_MAX_BYTES + 2];
    int length = snprintf(line, sizeof line, "%s\n", text);
    if (length < 0 || (size_t)length >= sizeof line) {
        sl_narrate("a line of %zu bytes is over this protocol's %d: not sent", strlen(text),
                   LINE_MAX_BYTES);
        errno = EMSGSIZE;
        return -1;
    }
    return send_all(fd, line, (size_t)length, NULL);
}

/* Bytes received but not yet cut into lines. */
struct line_buffer {
    char bytes[LINE_MAX_BYTES + 1];
    size_t used;
};

/* Takes the first complete line out of BUF into LINE (without its newline):
 * 1 when there was one, 0 when not yet, -1 when a line is too long. */
static int take_line(struct line_buffer *buf, char *line)
{
    char *newline = memchr(buf->bytes, '\n', buf->used);
    if (newline == NULL)
        return buf->used >= LINE_MAX_BYTES ? -1 : 0;
    size_t length = (size_t)(newline - buf->bytes);
    memcpy(line, buf->bytes, length);
    line[length] = '\0';
    if (length > 0 && line[length - 1] == '\r')
        line[length - 1] = '\0';
    buf->used -= length + 1;
    memmove(buf->bytes, newline + 1, buf->used);
    return 1;
}

/* poll() for FD to be readable, at most SECONDS (< 0: no limit). */
static int wait_readable(int fd, double seconds)
{
    struct pollfd p = { fd, POLLIN, 0 };
    int ms = seconds < 0 ? -1 : (int)ceil(seconds * 1000);
    int n;
    do
        n = poll(&p, 1, ms);
    while (n == -1 && errno == EINTR);
    return n;
}

/* ---- the server ------------------------------------------------------------ */

/* In the demo only: a pipe on which this server reports its progress, so the
 * demo strikes at the right moment: 'a' accepted, 'r' the request is here. */
static int demo_report_fd = -1;

static void report_to_demo(char event)
{
    if (demo_report_fd != -1 && write(demo_report_fd, &event, 1) != 1)
        sl_fail_errno("write to the demo's pipe");
}

/* A deaf server never reads: it waits (poll) until the request is in its
 * receive buffer, then sits on it until the idle limit. Killed meanwhile,
 * its kernel finds unread data and answers with a reset instead of a FIN. */
static void ignore_client(int fd)
{
    if (wait_readable(fd, SERVER_IDLE_LIMIT) == 1) {
        sl_narrate("poll(fd %d) -> readable: the request is in my receive buffer; I never read it",
                   fd);
        report_to_demo('r');
        struct pollfd nothing = { fd, 0, 0 };
        poll(&nothing, 1, (int)(SERVER_IDLE_LIMIT * 1000));
    }
    sl_narrate("giving up on fd %d", fd);
}

/* Reads lines until the client leaves, answering PING with PONG at once and
 * the request as --behave says. Returns when the connection is over. */
static void serve_client(int fd)
{
    struct line_buffer buf = { { 0 }, 0 };
    char line[LINE_MAX_BYTES + 1];
    char request[LINE_MAX_BYTES + 1] = "";
    double answer_at = -1;      /* when the pending answer is due; -1: none */
    double last_heard = sl_now();

    for (;;) {
        int got;
        while ((got = take_line(&buf, line)) == 1) {
            if (strcmp(line, "PING") == 0) {
                sl_narrate("PING from the client: answering PONG");
                if (send_line(fd, "PONG") == -1)
                    return;
                continue;
            }
            sl_narrate("request: '%s'", line);
            if (strcmp(opt.behave, "exit") == 0) {
                close(fd);
                sl_narrate("close(fd %d), exit(0): a clean exit, without answering", fd);
                exit(SL_EXIT_OK);
            }
            if (strcmp(opt.behave, "answer") == 0) {
                memcpy(request, line, sizeof request);
                answer_at = sl_now() + opt.delay;
                if (opt.delay > 0)
                    sl_narrate("answering in %.2f s", opt.delay);
            } else {
                sl_narrate("staying silent (pid %ld: kill -STOP %ld to freeze me, kill -9 %ld to crash me)",
                           (long)getpid(), (long)getpid(), (long)getpid());
            }
            report_to_demo('r');
        }
        if (got == -1) {
            sl_narrate("a line longer than %d bytes: closing", LINE_MAX_BYTES);
            return;
        }
        if (answer_at >= 0 && sl_now() >= answer_at) {
            char answer[LINE_MAX_BYTES + 16];
            snprintf(answer, sizeof answer, "answer: %s", request);
            if (send_line(fd, answer) == -1)
                return;
            answer_at = -1;
        }

        double wait = SERVER_IDLE_LIMIT - (sl_now() - last_heard);
        if (answer_at >= 0 && answer_at - sl_now() < wait)
            wait = answer_at - sl_now();
        if (wait < 0)
            wait = 0;
        int ready = wait_readable(fd, wait);
        if (ready == -1)
            sl_fail_errno("poll");
        if (ready == 0) {
            if (sl_now() - last_heard >= SERVER_IDLE_LIMIT) {
                sl_narrate("nothing from the client for %.0f s: giving up on it", SERVER_IDLE_LIMIT);
                return;
            }
            continue;
        }
        ssize_t n = recv(fd, buf.bytes + buf.used, LINE_MAX_BYTES - buf.used, 0);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1) {
            sl_narrate("recv(fd %d) -> -1 (%s)", fd, strerror(errno));
            return;
        }
        if (n == 0) {
            sl_narrate("recv(fd %d) -> 0: the client closed its side", fd);
            return;
        }
        sl_narrate("recv(fd %d) -> %zd bytes", fd, n);
        buf.used += (size_t)n;
        last_heard = sl_now();
    }
}

/* Accepts the next client and tells the demo (if any) that it did. */
static int accept_and_report(int listener)
{
    int fd = accept_client(listener);
    if (fd != -1)
        report_to_demo('a');
    return fd;
}

static void serve(int listener)
{
    for (int served = 0; !opt.once || served < 1;) {
        int fd = accept_and_report(listener);
        if (fd == -1) {
            if (errno == ECONNABORTED)
                continue;
            sl_fail_errno("accept");
        }
        if (strcmp(opt.behave, "deaf") == 0)
            ignore_client(fd);
        else
            serve_client(fd);
        close(fd);
        sl_narrate("close(fd %d)", fd);
        served++;
    }
}

static int run_server(int listener)
{
    /* The pid, so a teacher can freeze or kill this very process by hand. */
    sl_narrate("pid %ld, behaving: %s", (long)getpid(), opt.behave);
    if (announce_listening(listener) == -1)
        sl_fail_errno("getsockname");
    serve(listener);
    close(listener);
    return SL_EXIT_OK;
}

/* ---- the client: the remedies ---------------------------------------------- */

/* SO_KEEPALIVE makes the kernel probe a connection that has been idle, and
 * fail it (ETIMEDOUT) when the probes go unanswered. The three timings are
 * per socket on Linux and most BSDs; without them the system defaults apply:
 * 2 hours idle on Linux, far too long to notice anything. */
static void enable_keepalive(int fd)
{
    int on = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on) == -1)
        sl_fail_errno("setsockopt SO_KEEPALIVE");
    sl_narrate("setsockopt(SO_KEEPALIVE, 1) -> 0");
#if defined(TCP_KEEPIDLE)
    if (setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &keep_idle, sizeof keep_idle) == -1)
        sl_fail_errno("setsockopt TCP_KEEPIDLE");
    sl_narrate("setsockopt(TCP_KEEPIDLE, %d) -> 0: first probe after %d s of silence", keep_idle,
               keep_idle);
#elif defined(TCP_KEEPALIVE)
    /* macOS names the idle time TCP_KEEPALIVE. */
    if (setsockopt(fd, IPPROTO_TCP, TCP_KEEPALIVE, &keep_idle, sizeof keep_idle) == -1)
        sl_fail_errno("setsockopt TCP_KEEPALIVE");
    sl_narrate("setsockopt(TCP_KEEPALIVE, %d) -> 0: first probe after %d s of silence", keep_idle,
               keep_idle);
#else
    sl_narrate("no per-socket keepalive idle time here: the system default applies");
#endif
#if defined(TCP_KEEPINTVL) && defined(TCP_KEEPCNT)
    if (setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &keep_interval, sizeof keep_interval) == -1)
        sl_fail_errno("setsockopt TCP_KEEPINTVL");
    sl_narrate("setsockopt(TCP_KEEPINTVL, %d) -> 0: then one probe every %d s", keep_interval,
               keep_interval);
    if (setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &keep_count, sizeof keep_count) == -1)
        sl_fail_errno("setsockopt TCP_KEEPCNT");
    sl_narrate("setsockopt(TCP_KEEPCNT, %d) -> 0: dead after %d unanswered probes", keep_count,
               keep_count);
#else
    sl_narrate("no per-socket probe interval or count here: the system defaults apply");
#endif
}

/* TCP_USER_TIMEOUT (Linux 2.6.37+) bounds how long sent data may stay
 * unacknowledged before the kernel gives up on the connection (ETIMEDOUT),
 * instead of retransmitting for about 15 minutes. It needs something sent. */
static void set_user_timeout(int fd)
{
#if defined(TCP_USER_TIMEOUT)
    unsigned int ms = (unsigned int)opt.user_timeout;
    if (setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ms, sizeof ms) == -1)
        sl_fail_errno("setsockopt TCP_USER_TIMEOUT");
    sl_narrate("setsockopt(TCP_USER_TIMEOUT, %u ms) -> 0", ms);
#else
    (void)fd;
    sl_fail("--user-timeout: this system has no TCP_USER_TIMEOUT (it is Linux-only)");
#endif
}

/* ---- the client: waiting for the answer ------------------------------------ */

/* What the client knows about its peer: when it last heard from it. The
 * handshake counts; so does every byte received. */
static double last_sign_of_life;

/* How the verdict line starts: the program's name, or in the demo the
 * client's role, so the reader can tell the demo's clients apart. */
static char verdict_prefix[80] = "05-dead-peers: ";

/* Says how the peer was found dead, ELAPSED seconds after its last sign of
 * life, and exits 3. */
static _Noreturn void declare_dead_after(double elapsed, const char *how, const char *reason)
{
    char line[512];
    int length = snprintf(line, sizeof line, "%speer declared dead after %.2f s (%s): %s\n",
                          verdict_prefix, elapsed, how, reason);
    fflush(stdout);
    if (length > 0 && write(STDERR_FILENO, line, strlen(line)) < 0)
        exit(EXIT_PEER_DEAD);
    exit(EXIT_PEER_DEAD);
}

static _Noreturn void declare_dead(const char *how, const char *reason)
{
    declare_dead_after(sl_now() - last_sign_of_life, how, reason);
}

/* Which remedy made the kernel fail the connection with ETIMEDOUT. */
static const char *kernel_remedy(void)
{
    if (opt.keepalive != NULL && opt.user_timeout > 0)
        return "keepalive + user-timeout";
    if (opt.keepalive != NULL)
        return "keepalive";
    if (opt.user_timeout > 0)
        return "user-timeout";
    return "retransmission timeout";
}

/* After EOF: is the peer's process gone, or did it only close its side?
 * Sending finds out. The first send is accepted by our kernel and goes out;
 * the peer's kernel, with no program left to read it, answers with a reset
 * (RST). The next send reports it (Linux says EPIPE, having seen the FIN
 * first), and so does every send after it. A program that does not ignore
 * SIGPIPE dies on that send. */
static void probe_dead_peer(int fd)
{
    sl_narrate("sending anyway, to see what answers");
    ssize_t n = send(fd, "PING\n", 5, 0);
    sl_narrate("send(fd %d, 5 bytes) -> %zd%s%s%s", fd, n, n == -1 ? " (" : "",
               n == -1 ? strerror(errno) : "", n == -1 ? ")" : ": accepted by my kernel");
    /* The reset takes a round trip to come back. It arrives as an error on
     * the socket, which poll() reports whatever events are asked for: wait
     * for it (2 s at most: a peer whose host is gone sends no reset). */
    struct pollfd reset = { fd, 0, 0 };
    if (poll(&reset, 1, 2000) == -1)
        sl_narrate("poll(fd %d) -> -1 (%s)", fd, strerror(errno));
    n = send(fd, "PING\n", 5, 0);
    sl_narrate("send(fd %d, 5 bytes) -> %zd%s%s%s", fd, n, n == -1 ? " (" : "",
               n == -1 ? strerror(errno) : "", n == -1 ? ")" : "");
}

/* How long the next wait may last: until the answer's deadline, or the next
 * heartbeat to send or to miss; -1 when no remedy bounds it. */
static double next_wait(double deadline, double last_ping)
{
    double now = sl_now(), wait = -1;
    if (opt.timeout > 0)
        wait = deadline - now;
    if (opt.heartbeat > 0) {
        double beat = last_ping + opt.heartbeat - now;
        double dead = last_sign_of_life + 3 * opt.heartbeat - now;
        double soonest = beat < dead ? beat : dead;
        if (wait < 0 || soonest < wait)
            wait = soonest;
    }
    return wait < 0 && (opt.timeout > 0 || opt.heartbeat > 0) ? 0 : wait;
}

/* Waits for the answer line and prints it. Without --timeout or --heartbeat
 * this is one plain blocking recv(), like the naive client of the seeds: only
 * the kernel (a FIN, a reset, or keepalive and user timeout) can end it. */
static void wait_for_answer(int fd)
{
    struct line_buffer buf = { { 0 }, 0 };
    char line[LINE_MAX_BYTES + 1];
    double deadline = sl_now() + opt.timeout;
    double last_ping = sl_now();
    int bounded = opt.timeout > 0 || opt.heartbeat > 0;

    for (;;) {
        double now = sl_now();
        if (opt.timeout > 0 && now >= deadline) {
            char reason[64];
            snprintf(reason, sizeof reason, "no answer within %g s", opt.timeout);
            declare_dead("timeout", reason);
        }
        if (opt.heartbeat > 0 && now - last_sign_of_life >= 3 * opt.heartbeat)
            declare_dead("heartbeat", "three heartbeat periods without a word from the peer");
        if (opt.heartbeat > 0 && now - last_ping >= opt.heartbeat) {
            sl_narrate("%.2f s without a word from the server: PING", now - last_sign_of_life);
            if (send_line(fd, "PING") == -1)
                declare_dead("heartbeat", strerror(errno));
            last_ping = now;
        }

        if (bounded) {
            double wait = next_wait(deadline, last_ping);
            int ready = wait_readable(fd, wait);
            if (ready == -1)
                sl_fail_errno("poll");
            if (ready == 0) {
                sl_narrate("poll(fd %d, %.0f ms) -> 0: nothing yet", fd, ceil(wait * 1000));
                continue;
            }
        } else {
            sl_narrate("recv(fd %d) ... (blocks until the answer, an EOF or an error)", fd);
        }
        ssize_t n = recv(fd, buf.bytes + buf.used, LINE_MAX_BYTES - buf.used, 0);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1) {
            int error = errno;
            sl_narrate("recv(fd %d) -> -1 (%s)", fd, strerror(error));
            if (error == ETIMEDOUT)
                declare_dead(kernel_remedy(), strerror(error));
            if (error == ECONNRESET) {
                double elapsed = sl_now() - last_sign_of_life;
                if (opt.probe)
                    probe_dead_peer(fd);
                declare_dead_after(elapsed, "reset", strerror(error));
            }
            errno = error;
            sl_fail_errno("recv");
        }
        if (n == 0) {
            sl_narrate("recv(fd %d) -> 0: EOF, the peer closed the connection", fd);
            double elapsed = sl_now() - last_sign_of_life;
            if (opt.probe)
                probe_dead_peer(fd);
            declare_dead_after(elapsed, "EOF", "the peer closed the connection without answering");
        }
        sl_narrate("recv(fd %d) -> %zd bytes", fd, n);
        last_sign_of_life = sl_now();
        buf.used += (size_t)n;
        int got;
        while ((got = take_line(&buf, line)) == 1) {
            if (strcmp(line, "PONG") == 0) {
                sl_narrate("PONG: the server is alive, just not done");
                continue;
            }
            printf("%s\n", line);
            fflush(stdout);
            return;
        }
        if (got == -1)
            sl_fail("the server sent a line longer than %d bytes", LINE_MAX_BYTES);
    }
}

/* In the demo only: a pipe the client waits on between connecting and
 * sending, so the demo can make the host vanish in between. */
static int demo_go_fd = -1;

static int run_client(void)
{
    int fd = connect_or_exit(opt.host, opt.port);
    if (opt.keepalive != NULL)
        enable_keepalive(fd);
    if (opt.user_timeout > 0)
        set_user_timeout(fd);
    if (demo_go_fd != -1) {
        char go;
        if (read(demo_go_fd, &go, 1) != 1)
            sl_fail("the demo never said go");
    }
    /* The handshake just now was the peer's last sign of life (in the demo,
     * the wait for the go above does not count: it is the demo's, not TCP's). */
    last_sign_of_life = sl_now();
    if (send_line(fd, opt.message) == -1)
        sl_fail_errno("send");
    wait_for_answer(fd);
    close(fd);
    sl_narrate("close(fd %d)", fd);
    return SL_EXIT_OK;
}

/* I,N,C: three whole numbers of seconds, each at least 1. */
static void parse_keepalive(const char *text)
{
    long long values[3];
    char copy[64];
    snprintf(copy, sizeof copy, "%s", text);
    char *rest = copy;
    for (int i = 0; i < 3; i++) {
        char *comma = strchr(rest, ',');
        if ((comma == NULL) != (i == 2))
            sl_usage_error("--keepalive: '%s' is not IDLE,INTERVAL,COUNT (like 1,1,2)", text);
        if (comma != NULL)
            *comma = '\0';
        if (sl_parse_integer(rest, 1, 32767, &values[i]) == -1)
            sl_usage_error("--keepalive: '%s' is not IDLE,INTERVAL,COUNT, each 1 to 32767", text);
        rest = comma != NULL ? comma + 1 : rest;
    }
    keep_idle = (int)values[0];
    keep_interval = (int)values[1];
    keep_count = (int)values[2];
}

/* ---- the demo: one process per server and per client ---------------------- */

/* One server and its one client, as the demo runs them. */
struct pair {
    const char *label;          /* the client's remedy, as on its command line */
    pid_t server, client;
    int reports;                /* read end of the server's report pipe */
    int go;                     /* write end of the client's go pipe, or -1 */
    int port;                   /* the server's */
    int status;                 /* the client's wait status, once it ended */
    int ended;
    double ended_at;
};

/* Starts a server that behaves as BEHAVE on a free port: its port. */
static int start_server(struct pair *p, const char *behave)
{
    int report[2];
    if (pipe(report) == -1)
        sl_fail_errno("pipe");
    sl_set_role("server");
    int listener = listen_or_exit("127.0.0.1", 0, 8);
    int port = local_port(listener);
    sl_set_role("demo");
    p->server = sl_fork();
    if (p->server == 0) {
        close(report[0]);
        sl_set_role("server");
        opt.behave = behave;
        opt.once = 1;
        demo_report_fd = report[1];
        sl_narrate("pid %ld, behaving: %s", (long)getpid(), behave);
        serve(listener);
        exit(SL_EXIT_OK);
    }
    close(listener);
    close(report[1]);
    p->reports = report[0];
    p->port = port;
    return port;
}

/* Starts the client of pair P with the options in LABEL already set in opt. */
static void start_client(struct pair *p, int port, int wait_for_go)
{
    int go[2] = { -1, -1 };
    if (wait_for_go && pipe(go) == -1)
        sl_fail_errno("pipe");
    p->client = sl_fork();
    if (p->client == 0) {
        close(p->reports);
        if (wait_for_go)
            close(go[1]);
        /* The demo ignores SIGPIPE; this client shows its default on purpose:
         * a send on a connection the peer reset kills the process. */
        if (opt.no_sigpipe_ignore)
            signal(SIGPIPE, SIG_DFL);
        static char role[64];
        snprintf(role, sizeof role, "client %s", p->label);
        sl_set_role(role);
        snprintf(verdict_prefix, sizeof verdict_prefix, "[%s] ", role);
        opt.host = "127.0.0.1";
        opt.port = port;
        demo_go_fd = go[0];
        exit(run_client());
    }
    if (wait_for_go)
        close(go[0]);
    p->go = go[1];
}

/* Sets opt's client remedies from a label like "--keepalive 1,1,2". */
static void choose_remedy(const char *label)
{
    opt.timeout = 0;
    opt.keepalive = NULL;
    opt.user_timeout = 0;
    opt.heartbeat = 0;
    if (strncmp(label, "--timeout ", 10) == 0)
        sl_parse_seconds(label + 10, 0.01, 86400, &opt.timeout);
    else if (strncmp(label, "--heartbeat ", 12) == 0)
        sl_parse_seconds(label + 12, 0.05, 3600, &opt.heartbeat);
    else if (strncmp(label, "--user-timeout ", 15) == 0)
        opt.user_timeout = atoi(label + 15);
    else if (strncmp(label, "--keepalive ", 12) == 0) {
        opt.keepalive = label + 12;
        parse_keepalive(opt.keepalive);
    }
}

/* Waits until the server of P has reported EVENT ('a' or 'r'). */
static void await_report(struct pair *p, char event)
{
    char got;
    do {
        if (read(p->reports, &got, 1) != 1)
            sl_fail("the server (pid %ld) stopped before the demo could go on", (long)p->server);
    } while (got != event);
}

/* What the demo did to the servers, for "... s after the kill". */
static const char *strike = "the strike";

static void note_end(struct pair *p, int status, double since)
{
    p->ended = 1;
    p->status = status;
    p->ended_at = sl_now() - since;
    if (WIFEXITED(status))
        sl_narrate("client %s exited with status %d, %.2f s after %s", p->label,
                   WEXITSTATUS(status), p->ended_at, strike);
    else if (WIFSIGNALED(status))
        sl_narrate("client %s was killed by signal %d (%s), %.2f s after %s", p->label,
                   WTERMSIG(status), WTERMSIG(status) == SIGPIPE ? "SIGPIPE" : "?", p->ended_at, strike);
}

/* Reaps the clients that end, until only MAY_REMAIN of them are left
 * running or the clock (sl_now) reaches UNTIL, whichever comes first. */
static void reap_clients_until(struct pair *pairs, int count, int may_remain, double until,
                               double since)
{
    for (;;) {
        int running = 0;
        for (int i = 0; i < count; i++) {
            if (pairs[i].ended)
                continue;
            int status;
            pid_t pid = waitpid(pairs[i].client, &status, WNOHANG);
            if (pid == pairs[i].client)
                note_end(&pairs[i], status, since);
            else
                running++;
        }
        if (running <= may_remain || sl_now() >= until)
            return;
        struct timespec pause = { 0, 20 * 1000 * 1000 };
        nanosleep(&pause, NULL);
    }
}

/* Ends every client still waiting (saying so) and every server. */
static void end_everything(struct pair *pairs, int count, double since)
{
    for (int i = 0; i < count; i++) {
        if (!pairs[i].ended) {
            sl_narrate("client %s is still waiting, %.2f s after %s: the demo ends it",
                       pairs[i].label, sl_now() - since, strike);
            kill(pairs[i].client, SIGKILL);
            waitpid(pairs[i].client, NULL, 0);
        }
        kill(pairs[i].server, SIGKILL);
        kill(pairs[i].server, SIGCONT);     /* a stopped process dies of SIGKILL too; be sure */
        waitpid(pairs[i].server, NULL, 0);
        close(pairs[i].reports);
        if (pairs[i].go != -1)
            close(pairs[i].go);
    }
}

static int exited_with(const struct pair *p, int code)
{
    return p->ended && WIFEXITED(p->status) && WEXITSTATUS(p->status) == code;
}

/* The lesson's claim about one client: it ended with CODE (or, with CODE
 * -1, was still waiting at the end). Says so when it did not. */
static int as_expected(const struct pair *p, int code)
{
    int ok = code == -1 ? !p->ended : exited_with(p, code);
    if (!ok)
        sl_narrate("UNEXPECTED: client %s did not %s", p->label,
                   code == -1 ? "keep waiting" : "declare the peer dead");
    return ok;
}

/* exit: the server reads the request, closes and exits. The client's recv
 * returns 0 (EOF) at once. */
static int demo_exit(void)
{
    strike = "the server's exit";
    struct pair p = { "(no remedy)", 0, 0, -1, -1, 0, 0, 0, 0 };
    sl_set_role("demo");
    sl_narrate("scenario exit: the server closes the connection and exits");
    choose_remedy(p.label);
    start_client(&p, start_server(&p, "exit"), 0);
    double since = sl_now();
    reap_clients_until(&p, 1, 0, since + 10, since);
    end_everything(&p, 1, since);
    return as_expected(&p, EXIT_PEER_DEAD) ? SL_EXIT_OK : SL_EXIT_RUNTIME;
}

/* One round of the crash scenario: a server that behaves as BEHAVE gets the
 * request, then SIGKILL. */
static int crash_round(const char *behave, int ignore_sigpipe, const char *what)
{
    struct pair p = { "--probe", 0, 0, -1, -1, 0, 0, 0, 0 };
    strike = "the kill";
    sl_set_role("demo");
    sl_narrate("%s", what);
    choose_remedy(p.label);
    opt.probe = 1;
    opt.no_sigpipe_ignore = !ignore_sigpipe;
    if (!ignore_sigpipe)
        p.label = "--probe --no-sigpipe-ignore";
    start_client(&p, start_server(&p, behave), 0);
    await_report(&p, 'r');
    sl_narrate("kill(%ld, SIGKILL): the server process dies; its kernel cleans up its socket",
               (long)p.server);
    if (kill(p.server, SIGKILL) == -1)
        sl_fail_errno("kill");
    double since = sl_now();
    reap_clients_until(&p, 1, 0, since + 10, since);
    end_everything(&p, 1, since);
    if (!ignore_sigpipe)
        return p.ended && WIFSIGNALED(p.status) && WTERMSIG(p.status) == SIGPIPE;
    return as_expected(&p, EXIT_PEER_DEAD);
}

/* crash: killed with nothing unread, the server's kernel sends a FIN (EOF),
 * then resets the client's next send; killed with the request unread, it
 * sends a reset straight away. */
static int demo_crash(void)
{
    int ok = crash_round("silent", 1,
                         "scenario crash, 1: the server reads the request, then is killed");
    ok &= crash_round("silent", 0,
                      "scenario crash, 2: the same, with a client that does not ignore SIGPIPE");
    ok &= crash_round("deaf", 1,
                      "scenario crash, 3: the server is killed with the request still unread");
    return ok ? SL_EXIT_OK : SL_EXIT_RUNTIME;
}

#define REMEDIES 5
static const char *const remedy_labels[REMEDIES] = {
    "(no remedy)", "--timeout 1", "--keepalive 1,1,2", "--user-timeout 1000", "--heartbeat 0.8"
};

/* Starts a silent server and a client for each remedy. VANISH: the
 * user-timeout client waits for a go after connecting, so that its request
 * leaves after the host vanished (a user timeout needs unacknowledged data;
 * keepalive, on the contrary, only probes a connection with nothing in flight).
 * The timeout client waits for the go too, so that its deadline counts from
 * the moment the host vanished, not from however long the setup took. */
static void start_remedy_pairs(struct pair *pairs, int vanish)
{
    for (int i = 0; i < REMEDIES; i++) {
        struct pair *p = &pairs[i];
        memset(p, 0, sizeof *p);
        p->label = remedy_labels[i];
        p->go = -1;
        choose_remedy(p->label);
        int late_request = vanish && (opt.user_timeout > 0 || opt.timeout > 0);
        start_client(p, start_server(p, "silent"), late_request);
        await_report(p, late_request ? 'a' : 'r');
    }
}

/* freeze: SIGSTOP. The frozen process's kernel is alive: it acknowledges
 * data and keepalive probes. Only the application remedies notice. */
static int demo_freeze(void)
{
    struct pair pairs[REMEDIES];
    strike = "the freeze";
    sl_set_role("demo");
    sl_narrate("scenario freeze: each server gets its request, then SIGSTOP");
    start_remedy_pairs(pairs, 0);
    for (int i = 0; i < REMEDIES; i++) {
        if (kill(pairs[i].server, SIGSTOP) == -1)
            sl_fail_errno("kill");
        sl_narrate("kill(%ld, SIGSTOP): the server of client %s is frozen", (long)pairs[i].server,
                   pairs[i].label);
    }
    double since = sl_now();
    /* Keepalive 1,1,2 would give up 3 s into the silence if its probes went
     * unanswered; at 4 s, it is clear they are answered. */
    reap_clients_until(pairs, REMEDIES, 0, since + 4, since);
    int ok = as_expected(&pairs[0], -1) & as_expected(&pairs[1], EXIT_PEER_DEAD) &
             as_expected(&pairs[2], -1) & as_expected(&pairs[3], -1) &
             as_expected(&pairs[4], EXIT_PEER_DEAD);
    end_everything(pairs, REMEDIES, since);
    return ok ? SL_EXIT_OK : SL_EXIT_RUNTIME;
}

#if defined(__linux__)
/* Brings the loopback interface up or down: the ioctl behind `ip link set lo
 * up`. SIOCGIFFLAGS reads the flags, SIOCSIFFLAGS writes them back. */
static int set_loopback(int up)
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

static _Noreturn void cannot_run(const char *why)
{
    fflush(stdout);
    fprintf(stderr, "05-dead-peers: demo vanish cannot run here: %s\n", why);
    exit(EXIT_CANNOT_RUN);
}

/* A private network of our own: a new user namespace (so no root is needed,
 * where the system allows it) and a new network namespace, whose only
 * interface is a loopback that is down until we bring it up. */
static void enter_private_network(void)
{
    char why[160];
    if (unshare(CLONE_NEWUSER | CLONE_NEWNET) == -1) {
        snprintf(why, sizeof why, "unshare(CLONE_NEWUSER | CLONE_NEWNET): %s", strerror(errno));
        cannot_run(why);
    }
    sl_narrate("unshare(CLONE_NEWUSER | CLONE_NEWNET) -> 0: a network of our own");
    if (set_loopback(1) == -1) {
        snprintf(why, sizeof why, "ioctl(SIOCSIFFLAGS, lo up): %s", strerror(errno));
        cannot_run(why);
    }
    sl_narrate("ioctl(SIOCSIFFLAGS, lo up) -> 0");
}

/* After lo went down, a new connection to 127.0.0.1 must not complete: if it
 * does, this system's network stack ignores the interface's state and the
 * scenario would show nothing. It does not fail either: the SYN just goes
 * unanswered and would be retried for minutes, so 300 ms of no answer is the
 * sign we look for. */
static void check_line_is_cut(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd == -1)
        sl_fail_errno("socket");
    int flags = fcntl(fd, F_GETFL);
    if (flags == -1 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1)
        sl_fail_errno("fcntl O_NONBLOCK");
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
    sl_narrate("check: connect(127.0.0.1:%d) with lo down -> %s", port,
               connected ? "connected!" : "no handshake within 300 ms (SYN unanswered), as it should");
    close(fd);
    if (connected)
        cannot_run("taking lo down does not cut loopback traffic on this system");
}
#endif

/* vanish: the server's host disappears. Both ends live in a private network
 * namespace; taking its loopback down once the connections are up leaves
 * them with no FIN, no RST, nothing: just silence. */
static int demo_vanish(void)
{
    sl_set_role("demo");
#if defined(__linux__)
    sl_narrate("scenario vanish: each server gets its request, then the host is gone");
    enter_private_network();
    struct pair pairs[REMEDIES];
    strike = "lo went down";
    start_remedy_pairs(pairs, 1);
    if (set_loopback(0) == -1)
        sl_fail_errno("ioctl SIOCSIFFLAGS lo down");
    double since = sl_now();
    sl_narrate("ioctl(SIOCSIFFLAGS, lo down) -> 0: the servers' host has vanished");
    check_line_is_cut(pairs[0].port);
    for (int i = 0; i < REMEDIES; i++) {
        if (pairs[i].go != -1) {
            sl_narrate("go, client %s: send your request now", pairs[i].label);
            if (write(pairs[i].go, "g", 1) != 1)
                sl_fail_errno("write to a client's pipe");
        }
    }
    /* Every remedy has a bound under 4 s; the blocking client has none. */
    reap_clients_until(pairs, REMEDIES, 1, since + 6, since);
    if (sl_now() - since < 2) {
        struct timespec pause = { 2, 0 };
        nanosleep(&pause, NULL);
    }
    int ok = as_expected(&pairs[0], -1);
    for (int i = 1; i < REMEDIES; i++)
        ok &= as_expected(&pairs[i], EXIT_PEER_DEAD);
    end_everything(pairs, REMEDIES, since);
    return ok ? SL_EXIT_OK : SL_EXIT_RUNTIME;
#else
    fprintf(stderr, "05-dead-peers: demo vanish cannot run here: it needs Linux namespaces\n");
    return EXIT_CANNOT_RUN;
#endif
}

static int run_demo(const char *scenario)
{
    if (scenario == NULL) {
        int ok = demo_exit() == SL_EXIT_OK;
        ok &= demo_crash() == SL_EXIT_OK;
        ok &= demo_freeze() == SL_EXIT_OK;
        /* Last, in a child: it moves into a namespace of its own. */
        pid_t pid = sl_fork();
        if (pid == 0)
            exit(demo_vanish());
        int status;
        if (waitpid(pid, &status, 0) == -1)
            sl_fail_errno("waitpid");
        ok &= WIFEXITED(status) &&
              (WEXITSTATUS(status) == SL_EXIT_OK || WEXITSTATUS(status) == EXIT_CANNOT_RUN);
        return ok ? SL_EXIT_OK : SL_EXIT_RUNTIME;
    }
    if (strcmp(scenario, "exit") == 0)
        return demo_exit();
    if (strcmp(scenario, "crash") == 0)
        return demo_crash();
    if (strcmp(scenario, "freeze") == 0)
        return demo_freeze();
    if (strcmp(scenario, "vanish") == 0)
        return demo_vanish();
    sl_usage_error("unknown scenario '%s' (one of: exit, crash, freeze, vanish)", scenario);
}

int main(int argc, char **argv)
{
    struct sl_args args = sl_parse_command_line(&program, argc, argv);
    static const char *const behaviours[] = { "answer", "silent", "exit", "deaf" };
    int known = 0;
    for (size_t i = 0; i < sizeof behaviours / sizeof behaviours[0]; i++)
        known |= strcmp(opt.behave, behaviours[i]) == 0;
    if (!known)
        sl_usage_error("--behave: '%s' is not one of answer, silent, exit, deaf", opt.behave);
    if (opt.keepalive != NULL)
        parse_keepalive(opt.keepalive);
    /* The answer, "answer: " and the request, must fit in one line. */
    if (strlen(opt.message) > 200 || strchr(opt.message, '\n') != NULL)
        sl_usage_error("--message: at most 200 bytes, on one line");
#if !defined(TCP_USER_TIMEOUT)
    if (opt.user_timeout > 0)
        sl_usage_error("--user-timeout: this system has no TCP_USER_TIMEOUT (it is Linux-only)");
#endif

    /* A peer that is gone should cost a send an EPIPE error, not our life;
     * --no-sigpipe-ignore keeps the default, to show that death on purpose. */
    if (!opt.no_sigpipe_ignore)
        signal(SIGPIPE, SIG_IGN);

    if (strcmp(args.role, "server") == 0)
        return run_server(listen_or_exit(opt.bind_address, opt.port, 8));
    if (strcmp(args.role, "client") == 0)
        return run_client();
    return run_demo(args.argc > 0 ? args.argv[0] : NULL);
}
