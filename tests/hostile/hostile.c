/* hostile.c
 *
 * A misbehaving TCP peer, for the hardening tests (tests/hostile.bats): the
 * ways a client can torment a server, and one way a server can torment a
 * client. Each mode is bounded in time (--hold), so no test can hang on it.
 *
 * Usage: hostile [--host ADDR] [--port N] [--interval SEC] [--hold SEC]
 *                [--no-read] [--reset] MODE [N]
 *   reset          connect, then close with SO_LINGER 0: the server sees a RST
 *   silent         connect, say so, send nothing, stay --hold seconds (default 1)
 *   trickle [N]    send N bytes (default 3), one every --interval (default 0.3 s)
 *   garbage N      send N bytes of garbage, reading replies meanwhile (or not,
 *                  with --no-read), for at most --hold seconds (default 5)
 *   burst N        send N bytes in one blocking send(), close at once without
 *                  reading: the server's echo then meets a closed peer (EPIPE)
 *   halfclose      send 4 bytes, shutdown(SHUT_WR), read to EOF (at most --hold)
 *   flood N        open N connections at once (non-blocking), wait at most
 *                  --hold seconds for them, then close them all (--reset: RST)
 *   bound          bind ADDR:0 and never listen, print "bound to ADDR:PORT", stay
 *                  --hold seconds (default 60): a port where every connect is
 *                  refused, and that no other program can take meanwhile
 *   serve-garbage N  the other side: listen on ADDR:0, print "listening on
 *                  ADDR:PORT", accept one client, send it N bytes of garbage
 *                  (as garbage N does), close
 *   accept-close   the other side: listen on ADDR:0, print "listening on
 *                  ADDR:PORT", accept one connection (waiting 10 s at most),
 *                  keep it --hold seconds (default 0) without reading, close it
 * Says what happened on stdout, a line per step; exit 0, 1 on a failure.
 *
 * See also: tests/hostile.bats, tests/bad-input.bats, COURSE.md (a server
 * survives any one client misbehaving).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char *host = "127.0.0.1";
static int port = -1;
static double interval = 0.3, hold = -1;
static int no_read, reset_on_close;

static void die(const char *call)
{
    fprintf(stderr, "hostile: %s: %s\n", call, strerror(errno));
    exit(1);
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void nap(double seconds)
{
    struct timespec t = { (time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9) };
    while (nanosleep(&t, &t) == -1 && errno == EINTR)
        ;
}

static struct sockaddr_in address(void)
{
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)port);
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1) {
        fprintf(stderr, "hostile: --host %s: not an IPv4 address\n", host);
        exit(1);
    }
    return a;
}

static int connected_socket(void)
{
    struct sockaddr_in a = address();
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd == -1)
        die("socket");
    if (connect(fd, (struct sockaddr *)&a, sizeof a) == -1)
        die("connect");
    return fd;
}

/* close(), or with --reset (or always, for mode reset) a RST instead of a FIN. */
static void hang_up(int fd, int with_reset)
{
    if (with_reset) {
        struct linger l = { 1, 0 };
        if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l) == -1)
            die("setsockopt SO_LINGER");
    }
    close(fd);
}

/* Reads whatever is there without waiting; returns -1 once EOF or an error came. */
static long drain(int fd)
{
    char buf[65536];
    long total = 0;
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n > 0) {
            total += n;
            continue;
        }
        if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return total;
        return -1;
    }
}

/* Sends count bytes of garbage on fd, reading replies meanwhile (unless
 * --no-read), for at most --hold seconds (default 5); then closes it. */
static void garbage_on(int fd, long count)
{
    char buf[16384];
    unsigned state = 2463534242u;
    long sent = 0, received = 0;
    double deadline = now() + (hold < 0 ? 5 : hold);
    int peer_gone = 0;

    while (sent < count && now() < deadline && !peer_gone) {
        struct pollfd p = { fd, (short)(POLLOUT | (no_read ? 0 : POLLIN)), 0 };
        if (poll(&p, 1, 50) == -1)
            die("poll");
        if (!no_read && (p.revents & (POLLIN | POLLHUP | POLLERR))) {
            long got = drain(fd);
            if (got < 0)
                peer_gone = 1;
            else
                received += got;
        }
        if (!peer_gone && (p.revents & POLLOUT)) {
            size_t want = sizeof buf;
            if ((long)want > count - sent)
                want = (size_t)(count - sent);
            for (size_t i = 0; i < want; i++) {
                state ^= state << 13, state ^= state >> 17, state ^= state << 5;
                buf[i] = (char)(state & 0xff);
            }
            ssize_t n = send(fd, buf, want, MSG_DONTWAIT | MSG_NOSIGNAL);
            if (n > 0)
                sent += n;
            else if (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK)
                peer_gone = 1;
        }
    }
    printf("garbage: sent %ld of %ld bytes, read %ld%s\n", sent, count, received,
           peer_gone ? ", then the server hung up" : "");
    hang_up(fd, reset_on_close);
}

static void garbage(long count)
{
    garbage_on(connected_socket(), count);
}

static void burst(long count)
{
    int fd = connected_socket();
    char *buf = calloc(1, (size_t)count + 1);
    if (buf == NULL)
        die("calloc");
    memset(buf, 'b', (size_t)count);
    ssize_t n = send(fd, buf, (size_t)count, MSG_NOSIGNAL);
    hang_up(fd, reset_on_close);
    printf("burst: sent %zd of %ld bytes, closed without reading\n", n, count);
    free(buf);
}

static void trickle(long count)
{
    int fd = connected_socket();
    long sent = 0;
    printf("trickle: connected\n");
    fflush(stdout);
    for (long i = 0; i < count; i++) {
        if (i > 0)
            nap(interval);
        if (send(fd, "x", 1, MSG_NOSIGNAL) != 1)
            break;
        sent++;
    }
    printf("trickle: sent %ld of %ld bytes, %.2f s apart\n", sent, count, interval);
    hang_up(fd, reset_on_close);
}

static void halfclose(void)
{
    int fd = connected_socket();
    if (send(fd, "half", 4, MSG_NOSIGNAL) != 4)
        die("send");
    if (shutdown(fd, SHUT_WR) == -1)
        die("shutdown");
    double deadline = now() + (hold < 0 ? 2 : hold);
    long received = 0;
    int eof = 0;
    while (!eof && now() < deadline) {
        struct pollfd p = { fd, POLLIN, 0 };
        if (poll(&p, 1, 50) > 0) {
            long got = drain(fd);
            if (got < 0)
                eof = 1;
            else
                received += got;
        }
    }
    printf("halfclose: read %ld bytes, %s\n", received, eof ? "then EOF" : "no EOF in time");
    hang_up(fd, reset_on_close);
}

static void flood(long count)
{
    struct sockaddr_in a = address();
    int *fds = calloc((size_t)count, sizeof *fds);
    struct pollfd *polls = calloc((size_t)count, sizeof *polls);
    if (fds == NULL || polls == NULL)
        die("calloc");
    long opened = 0, connected = 0;
    for (long i = 0; i < count; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd == -1)
            break;
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        if (connect(fd, (struct sockaddr *)&a, sizeof a) == -1 && errno != EINPROGRESS) {
            close(fd);
            continue;
        }
        fds[opened++] = fd;
    }
    /* Wait until every handshake finished, or --hold ran out: a full backlog
     * leaves some in SYN_SENT, and those are dropped unfinished. */
    for (long i = 0; i < opened; i++) {
        polls[i].fd = fds[i];
        polls[i].events = POLLOUT;
    }
    double deadline = now() + (hold < 0 ? 1 : hold);
    for (;;) {
        if (poll(polls, (nfds_t)opened, 20) == -1)
            die("poll");
        long waiting = 0;
        connected = 0;
        for (long i = 0; i < opened; i++) {
            if (polls[i].revents == 0)
                waiting++;
            else if (!(polls[i].revents & (POLLERR | POLLHUP)))
                connected++;
        }
        if (waiting == 0 || now() >= deadline)
            break;
    }
    for (long i = 0; i < opened; i++)
        hang_up(fds[i], reset_on_close);
    printf("flood: %ld opened, %ld connected, all closed%s\n", opened, connected,
           reset_on_close ? " with RST" : "");
    free(fds);
    free(polls);
}

/* Listens on ADDR:0, prints "listening on ADDR:PORT", and returns the first
 * connection accepted (within 10 s), or -1. */
static int accepted_socket(void)
{
    struct sockaddr_in a = address();
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    if (listener == -1)
        die("socket");
    if (bind(listener, (struct sockaddr *)&a, sizeof a) == -1)
        die("bind");
    if (listen(listener, 8) == -1)
        die("listen");
    socklen_t length = sizeof a;
    if (getsockname(listener, (struct sockaddr *)&a, &length) == -1)
        die("getsockname");
    printf("listening on %s:%u\n", host, (unsigned)ntohs(a.sin_port));
    fflush(stdout);
    struct pollfd p = { listener, POLLIN, 0 };
    if (poll(&p, 1, 10000) != 1) {
        printf("nobody came\n");
        return -1;
    }
    int fd = accept(listener, NULL, NULL);
    if (fd == -1)
        die("accept");
    close(listener);
    return fd;
}

static void accept_close(void)
{
    int fd = accepted_socket();
    if (fd == -1)
        return;
    printf("accept-close: accepted; closing in %.2f s\n", hold < 0 ? 0 : hold);
    fflush(stdout);
    if (hold > 0)
        nap(hold);
    hang_up(fd, reset_on_close);
    printf("accept-close: closed\n");
}

static void bound(void)
{
    struct sockaddr_in a = address();
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd == -1)
        die("socket");
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == -1)
        die("bind");
    socklen_t length = sizeof a;
    if (getsockname(fd, (struct sockaddr *)&a, &length) == -1)
        die("getsockname");
    printf("bound to %s:%u\n", host, (unsigned)ntohs(a.sin_port));
    fflush(stdout);
    nap(hold < 0 ? 60 : hold);
}

static long number(const char *text)
{
    char *end;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (errno != 0 || *end != '\0' || value < 0 || value > 1L << 30) {
        fprintf(stderr, "hostile: '%s' is not a count\n", text);
        exit(2);
    }
    return value;
}

int main(int argc, char **argv)
{
    int i = 1;
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        if (strcmp(argv[i], "--no-read") == 0)
            no_read = 1;
        else if (strcmp(argv[i], "--reset") == 0)
            reset_on_close = 1;
        else if (i + 1 < argc && strcmp(argv[i], "--host") == 0)
            host = argv[++i];
        else if (i + 1 < argc && strcmp(argv[i], "--port") == 0)
            port = (int)number(argv[++i]);
        else if (i + 1 < argc && strcmp(argv[i], "--interval") == 0)
            interval = atof(argv[++i]);
        else if (i + 1 < argc && strcmp(argv[i], "--hold") == 0)
            hold = atof(argv[++i]);
        else
            break;
    }
    if (i >= argc) {
        fprintf(stderr, "usage: hostile [--host A] [--port N] [--interval S] [--hold S] "
                        "[--no-read] [--reset] MODE [N]\n");
        return 2;
    }
    const char *mode = argv[i];
    long n = (i + 1 < argc) ? number(argv[i + 1]) : -1;
    int listens = strcmp(mode, "accept-close") == 0 || strcmp(mode, "bound") == 0 ||
                  strcmp(mode, "serve-garbage") == 0;
    if (port < 0 && !listens) {
        fprintf(stderr, "hostile: --port is needed\n");
        return 2;
    }
    if (port < 0)
        port = 0;
    if (strcmp(mode, "reset") == 0) {
        hang_up(connected_socket(), 1);
        printf("reset: connected, then RST\n");
    } else if (strcmp(mode, "silent") == 0) {
        int fd = connected_socket();
        printf("silent: connected, sending nothing for %.2f s\n", hold < 0 ? 1 : hold);
        fflush(stdout);
        nap(hold < 0 ? 1 : hold);
        hang_up(fd, reset_on_close);
        printf("silent: closed\n");
    } else if (strcmp(mode, "trickle") == 0) {
        trickle(n < 0 ? 3 : n);
    } else if (strcmp(mode, "garbage") == 0 && n >= 0) {
        garbage(n);
    } else if (strcmp(mode, "burst") == 0 && n >= 0) {
        burst(n);
    } else if (strcmp(mode, "halfclose") == 0) {
        halfclose();
    } else if (strcmp(mode, "flood") == 0 && n >= 0) {
        flood(n);
    } else if (strcmp(mode, "accept-close") == 0) {
        accept_close();
    } else if (strcmp(mode, "serve-garbage") == 0 && n >= 0) {
        int fd = accepted_socket();
        if (fd != -1)
            garbage_on(fd, n);
    } else if (strcmp(mode, "bound") == 0) {
        bound();
    } else {
        fprintf(stderr, "hostile: unknown mode '%s' (or its N is missing)\n", mode);
        return 2;
    }
    return 0;
}
