/* chatflood.c: a chat room under a flood, and how long a good line takes.
 *
 * Not a lesson: a tool for chapter 6's fairness test (issue: chat
 * amplification). Against a --chat server it connects a good pair, A and B,
 * and --flooders clients that each send --lines short lines at once and
 * never read a byte. While the server is at work on the flood, A sends
 * --probes lines one after another, and B reads everything it is sent and
 * times each probe from A's send() to its arrival at B. B goes on reading
 * until no flood line has come for --quiet-ms, which is how long the flood
 * kept the server busy (as B saw it).
 *
 * Usage: chatflood --port N [--flooders 200] [--lines 1000] [--probes 10]
 *                  [--quiet-ms 300]
 * Prints one line: flooders= lines= probes= (that arrived) p50_ms= max_ms=
 *   flood_lines_seen= (by B) seen_after_first_probe= (flood lines B saw after
 *   the first probe: the probes ran while the flood did) flood_ms= (from the
 *   first flood send to the last flood line B saw).
 * Exit status: 0 when it ran (the caller judges the numbers), 1 when it could
 * not (a connect failed, a probe never came within 10 s), 2 bad usage.
 * See also: tests/06-select.bats, tests/07-poll-epoll.bats, loadgen.c.
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static struct sockaddr_in server;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "chatflood: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* A blocking connect (loopback: at once), with a small receive buffer when
 * SMALL, so that a flooder's unread lines cost the kernel little. */
static int connect_one(int small)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd == -1)
        die("socket (raise ulimit -n?)");
    int size = 4096;
    if (small && setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size) == -1)
        die("setsockopt SO_RCVBUF");
    if (connect(fd, (struct sockaddr *)&server, sizeof server) == -1)
        die("connect");
    return fd;
}

static void send_all(int fd, const char *data, size_t length)
{
    while (length > 0) {
        ssize_t n = send(fd, data, length, 0);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1)
            die("send");
        data += n;
        length -= (size_t)n;
    }
}

/* B's side: everything that arrives, line by line. */
static char pending[1 << 16];
static size_t pending_length;
static long flood_seen, flood_after_first_probe, probes_arrived;
static double last_flood;

/* Reads what is there on B (waiting up to TIMEOUT_MS); returns 1 when the
 * line "probe K" arrived, 0 otherwise. */
static int read_b(int b, long probe, int timeout_ms)
{
    struct pollfd p = { b, POLLIN, 0 };
    int ready = poll(&p, 1, timeout_ms);
    if (ready <= 0)
        return 0;
    ssize_t n = recv(b, pending + pending_length, sizeof pending - pending_length, 0);
    if (n <= 0)
        die(n == 0 ? "B: the server closed" : "B: recv");
    pending_length += (size_t)n;
    int found = 0;
    char *start = pending, *end;
    while ((end = memchr(start, '\n', pending_length - (size_t)(start - pending))) != NULL) {
        *end = '\0';
        char wanted[32];
        snprintf(wanted, sizeof wanted, ": probe %ld", probe);
        if (strstr(start, ": flood ") != NULL) {
            flood_seen++;
            flood_after_first_probe += probes_arrived > 0;
            last_flood = now();
        } else if (probe != -2 && strstr(start, wanted) != NULL) {
            found = 1;
        }
        start = end + 1;
    }
    pending_length -= (size_t)(start - pending);
    memmove(pending, start, pending_length);
    if (pending_length == sizeof pending)
        pending_length = 0;     /* a line longer than 64K: not one of ours */
    return found;
}

static int compare(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

int main(int argc, char **argv)
{
    long port = 0, flooders = 200, lines = 1000, probes = 10, quiet_ms = 300;
    for (int i = 1; i + 1 < argc; i += 2) {
        long value = atol(argv[i + 1]);
        if (strcmp(argv[i], "--port") == 0) port = value;
        else if (strcmp(argv[i], "--flooders") == 0) flooders = value;
        else if (strcmp(argv[i], "--lines") == 0) lines = value;
        else if (strcmp(argv[i], "--probes") == 0) probes = value;
        else if (strcmp(argv[i], "--quiet-ms") == 0) quiet_ms = value;
        else { fprintf(stderr, "chatflood: unknown option %s\n", argv[i]); return 2; }
    }
    if (port <= 0 || port > 65535 || flooders < 0 || lines < 1 || probes < 1 || probes > 1000) {
        fprintf(stderr, "usage: chatflood --port N [--flooders N] [--lines N] [--probes N]\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    server.sin_family = AF_INET;
    server.sin_port = htons((unsigned short)port);
    server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

    int a = connect_one(0), b = connect_one(0);
    /* A's probes are small writes that no reply acknowledges: without this,
     * Nagle's algorithm holds each one until the server's delayed ACK of the
     * last (40 ms on Linux), and that is what would be measured. */
    int on = 1;
    if (setsockopt(a, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on) == -1)
        die("setsockopt TCP_NODELAY");
    /* B hears A: both are in the room. */
    send_all(a, "probe -1\n", 9);
    double deadline = now() + 10;
    while (!read_b(b, -1, 100) && now() < deadline)
        ;
    int *flood = calloc((size_t)flooders, sizeof *flood);
    size_t text_size = (size_t)lines * 12;
    char *text = malloc(text_size + 1);
    if (flood == NULL || text == NULL)
        die("malloc");
    for (long i = 0; i < flooders; i++)
        flood[i] = connect_one(1);
    size_t length = 0;
    for (long i = 0; i < lines; i++)
        length += (size_t)snprintf(text + length, text_size + 1 - length, "flood %05ld\n",
                                   i % 100000);
    double flood_started = now();
    for (long i = 0; i < flooders; i++)
        send_all(flood[i], text, length);   /* 12 KB each: the kernel takes it at once */

    double *latency = calloc((size_t)probes, sizeof *latency);
    if (latency == NULL)
        die("malloc");
    for (long k = 0; k < probes; k++) {
        char line[32];
        int n = snprintf(line, sizeof line, "probe %ld\n", k);
        double sent = now();
        send_all(a, line, (size_t)n);
        while (!read_b(b, k, 100)) {
            if (now() - sent > 10) {
                fprintf(stderr, "chatflood: probe %ld never arrived within 10 s\n", k);
                return 1;
            }
        }
        latency[k] = (now() - sent) * 1000;
        probes_arrived++;
    }
    while (read_b(b, -2, (int)quiet_ms) || now() - last_flood < (double)quiet_ms / 1000)
        ;
    qsort(latency, (size_t)probes, sizeof *latency, compare);
    printf("flooders=%ld lines=%ld probes=%ld p50_ms=%.1f max_ms=%.1f flood_lines_seen=%ld "
           "seen_after_first_probe=%ld flood_ms=%.0f\n", flooders, lines, probes,
           latency[(probes - 1) / 2], latency[probes - 1], flood_seen, flood_after_first_probe,
           flood_seen ? (last_flood - flood_started) * 1000 : 0.0);
    return 0;
}
