/* loadgen.c: many concurrent echo clients, for chapter 6's tests and bench.
 *
 * Not a lesson: a tool. Opens --clients connections at once (non-blocking
 * connects, poll(), so it is not bound by FD_SETSIZE itself), then has every
 * client do round trips: send --size bytes, read them back, check every byte.
 * A client that gets anything but its echo before its first round trip is
 * done (EOF, a reset, or the server's "server full" notice) counts as
 * refused; one that fails later counts as failed. Every connection stays
 * open until all are done: the load is concurrent from start to end.
 * With --leave, each client closes as soon as its own rounds are done
 * instead: an iterative server (chapter 1), which serves one connection
 * until it closes, can then work through the queue.
 *
 * Each round trip's latency runs from its first send() to the last byte of
 * its echo, so a client waiting in a server's backlog counts that wait in
 * its first round trip.
 *
 * With --idle N, N more connections are opened first and held, silent, for
 * the whole run: what idle connections cost a server (chapter 7).
 *
 * Usage: loadgen --port N [--host ADDR] [--clients N] [--rounds N | --seconds S]
 *                [--size BYTES] [--leave] [--server-pid PID] [--idle N]
 * Prints one line: clients= connected= served= refused= told= failed=
 *   round_trips= (completed, every byte checked) seconds= rt_per_s=
 *   p50_us= p99_us= max_us= (latency percentiles) and, with --server-pid, the
 *   server's CPU time (user + system, from /proc/PID/stat, Linux only) from
 *   before the first connect to the end, per round trip: server_cpu_us_per_rt=.
 * Exit status: 0 when it ran (the caller judges the counts), 1 when it could
 * not (out of descriptors or memory), 2 bad usage.
 * See also: tests/06-select.bats, tests/bench/bench.sh, tests/bench/select-vs-epoll.sh.
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define NOTICE "server full"
#define MAX_SIZE 65536

enum state { CONNECTING, SENDING, RECEIVING, DONE_OK, REFUSED, FAILED };

struct client {
    int fd;
    enum state state;
    size_t done;            /* bytes of this round sent, or received */
    long rounds;
    int told;               /* got the server's notice */
    unsigned char seed;
    double round_started;   /* when this round's first send() went out */
};

/* Every round trip's latency in seconds, for the percentiles. */
static double *latencies;
static size_t latency_count, latency_capacity;

static void record_latency(double seconds)
{
    if (latency_count == latency_capacity) {
        size_t capacity = latency_capacity ? 2 * latency_capacity : 4096;
        double *grown = realloc(latencies, capacity * sizeof *grown);
        if (grown == NULL)
            return;     /* the percentiles will miss a few: better than stopping */
        latencies = grown;
        latency_capacity = capacity;
    }
    latencies[latency_count++] = seconds;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The P-th percentile (nearest rank) of the latencies, in microseconds; call after sorting. */
static double percentile_us(double p)
{
    if (latency_count == 0)
        return 0;
    size_t rank = (size_t)(p / 100.0 * (double)latency_count + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > latency_count)
        rank = latency_count;
    return latencies[rank - 1] * 1e6;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void usage(const char *why)
{
    fprintf(stderr, "loadgen: %s\nusage: loadgen --port N [--host ADDR] [--clients N] "
            "[--rounds N | --seconds S] [--size BYTES] [--leave] [--server-pid PID]\n", why);
    exit(2);
}

/* The server's CPU time (user + system) in seconds, or -1 (no /proc: not
 * Linux). /proc/PID/schedstat counts nanoseconds on the CPU (its main thread:
 * the servers measured are single-threaded); /proc/PID/stat only clock ticks
 * (10 ms), too coarse for a short run, so it is the fallback. */
static double cpu_seconds(long pid)
{
    char path[64], text[1024];
    snprintf(path, sizeof path, "/proc/%ld/schedstat", pid);
    FILE *f = fopen(path, "r");
    unsigned long long nanoseconds;
    if (f != NULL) {
        int got = fscanf(f, "%llu", &nanoseconds);
        fclose(f);
        if (got == 1)
            return (double)nanoseconds / 1e9;
    }
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    f = fopen(path, "r");
    if (f == NULL)
        return -1;
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    char *p = strrchr(text, ')');   /* the command name may hold spaces */
    if (p == NULL)
        return -1;
    unsigned long utime, stime;
    /* After ")": state, then fields 4..13, then utime (14) and stime (15). */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime,
               &stime) != 2)
        return -1;
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

/* How many descriptors PID has open (/proc/PID/fd), or -1. */
static long open_descriptors(long pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/fd", pid);
    DIR *dir = opendir(path);
    if (dir == NULL)
        return -1;
    long count = 0;
    while (readdir(dir) != NULL)
        count++;
    closedir(dir);
    return count - 2;   /* . and .. */
}

static unsigned char byte_of(const struct client *c, size_t i)
{
    return (unsigned char)(c->seed + (unsigned)c->rounds * 7u + (unsigned)i);
}

static void finish(struct client *c, enum state state)
{
    c->state = state;
    close(c->fd);
    c->fd = -1;
}

/* Something other than the echo arrived, or the connection ended. */
static void went_wrong(struct client *c, const unsigned char *data, size_t length)
{
    if (length >= strlen(NOTICE) && memcmp(data, NOTICE, strlen(NOTICE)) == 0)
        c->told = 1;
    finish(c, c->rounds == 0 ? REFUSED : FAILED);
}

static void do_send(struct client *c, size_t size)
{
    unsigned char buffer[MAX_SIZE];
    if (c->done == 0)
        c->round_started = now();
    for (size_t i = c->done; i < size; i++)
        buffer[i] = byte_of(c, i);
    ssize_t n = send(c->fd, buffer + c->done, size - c->done, 0);
    if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n == -1) {
        went_wrong(c, NULL, 0);
        return;
    }
    c->done += (size_t)n;
    if (c->done == size) {
        c->state = RECEIVING;
        c->done = 0;
    }
}

/* 1 when a round trip just completed. */
static int do_receive(struct client *c, size_t size)
{
    unsigned char buffer[MAX_SIZE];
    ssize_t n = recv(c->fd, buffer, size - c->done, 0);
    if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return 0;
    if (n <= 0) {
        went_wrong(c, NULL, 0);
        return 0;
    }
    for (ssize_t i = 0; i < n; i++) {
        if (buffer[i] != byte_of(c, c->done + (size_t)i)) {
            went_wrong(c, buffer, (size_t)n);
            return 0;
        }
    }
    c->done += (size_t)n;
    if (c->done < size)
        return 0;
    record_latency(now() - c->round_started);
    c->rounds++;
    c->done = 0;
    c->state = SENDING;
    return 1;
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1";
    long port = -1, clients_wanted = 100, rounds = 10, size = 64, server_pid = 0, idle = 0;
    double seconds = 0;
    int leave = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--leave") == 0) {
            leave = 1;
            continue;
        }
        if (i + 1 >= argc)
            usage("every option takes a value");
        const char *name = argv[i], *value = argv[++i];
        if (strcmp(name, "--host") == 0)
            host = value;
        else if (strcmp(name, "--port") == 0)
            port = atol(value);
        else if (strcmp(name, "--clients") == 0)
            clients_wanted = atol(value);
        else if (strcmp(name, "--rounds") == 0)
            rounds = atol(value);
        else if (strcmp(name, "--seconds") == 0)
            seconds = atof(value);
        else if (strcmp(name, "--size") == 0)
            size = atol(value);
        else if (strcmp(name, "--server-pid") == 0)
            server_pid = atol(value);
        else if (strcmp(name, "--idle") == 0)
            idle = atol(value);
        else
            usage("unknown option");
    }
    if (port <= 0 || port > 65535 || clients_wanted < 1 || clients_wanted > 100000 ||
        size < 1 || size > MAX_SIZE || rounds < 1 || idle < 0 || idle > 1000000)
        usage("a value is out of range");
    signal(SIGPIPE, SIG_IGN);

    struct sockaddr_in address;
    memset(&address, 0, sizeof address);
    address.sin_family = AF_INET;
    address.sin_port = htons((unsigned short)port);
    if (inet_pton(AF_INET, host, &address.sin_addr) != 1)
        usage("--host: an IPv4 address, please");

    /* Idle connections first, blocking connects (the server's backlog takes
     * them); they never send, and are closed at the end. */
    int *idle_fds = calloc((size_t)idle + 1, sizeof *idle_fds);
    if (idle_fds == NULL) {
        perror("loadgen: calloc");
        return 1;
    }
    for (long i = 0; i < idle; i++) {
        idle_fds[i] = socket(AF_INET, SOCK_STREAM, 0);
        if (idle_fds[i] == -1 ||
            connect(idle_fds[i], (struct sockaddr *)&address, sizeof address) == -1) {
            perror("loadgen: idle connection (raise ulimit -n?)");
            return 1;
        }
    }
    /* Then, with --server-pid, until the server holds them all (its open
     * descriptors, from /proc; bounded: 10 s), so accepting them is not
     * counted below. */
    for (int tries = 0; idle > 0 && server_pid && tries < 1000; tries++) {
        if (open_descriptors(server_pid) >= idle)
            break;
        struct timespec pause = { 0, 10 * 1000 * 1000 };
        nanosleep(&pause, NULL);
    }
    double cpu_before = server_pid ? cpu_seconds(server_pid) : -1;
    size_t count = (size_t)clients_wanted;
    struct client *clients = calloc(count, sizeof *clients);
    struct pollfd *polls = calloc(count, sizeof *polls);
    if (clients == NULL || polls == NULL) {
        perror("loadgen: calloc");
        return 1;
    }
    for (size_t i = 0; i < count; i++) {
        struct client *c = &clients[i];
        c->seed = (unsigned char)(i * 37u);
        c->fd = socket(AF_INET, SOCK_STREAM, 0);
        if (c->fd == -1) {
            perror("loadgen: socket (raise ulimit -n?)");
            return 1;
        }
        if (fcntl(c->fd, F_SETFL, O_NONBLOCK) == -1) {
            perror("loadgen: fcntl");
            return 1;
        }
        if (connect(c->fd, (struct sockaddr *)&address, sizeof address) == 0)
            c->state = SENDING;
        else if (errno == EINPROGRESS)
            c->state = CONNECTING;
        else
            finish(c, FAILED);
    }

    /* Every connection first: the load is concurrent, not one after another. */
    size_t connected = 0;
    for (;;) {
        size_t waiting = 0;
        for (size_t i = 0; i < count; i++) {
            polls[i].fd = clients[i].state == CONNECTING ? clients[i].fd : -1;
            polls[i].events = POLLOUT;
            waiting += clients[i].state == CONNECTING;
        }
        if (waiting == 0)
            break;
        if (poll(polls, count, 10000) <= 0) {
            fprintf(stderr, "loadgen: connects still pending after 10 s\n");
            return 1;
        }
        for (size_t i = 0; i < count; i++) {
            if (clients[i].state != CONNECTING || polls[i].revents == 0)
                continue;
            int error = 0;
            socklen_t length = sizeof error;
            getsockopt(clients[i].fd, SOL_SOCKET, SO_ERROR, &error, &length);
            if (error == 0)
                clients[i].state = SENDING;
            else
                finish(&clients[i], FAILED);
        }
    }
    for (size_t i = 0; i < count; i++)
        connected += clients[i].state == SENDING;

    double started = now();
    long round_trips = 0;
    for (;;) {
        int timed = seconds > 0;
        int time_up = timed && now() - started >= seconds;
        size_t active = 0;
        for (size_t i = 0; i < count; i++) {
            struct client *c = &clients[i];
            int busy = c->state == SENDING || c->state == RECEIVING;
            /* Timed runs stop between rounds; counted runs after --rounds. */
            /* A client that is done stays connected until every client is,
             * so that all of them hold a descriptor in the server at once. */
            if (c->state == SENDING && ((timed && time_up) || (!timed && c->rounds >= rounds))) {
                if (leave)
                    finish(c, DONE_OK);
                else
                    c->state = DONE_OK;
                busy = 0;
            }
            polls[i].fd = busy ? c->fd : -1;
            polls[i].events = c->state == SENDING ? POLLOUT : POLLIN;
            active += busy;
        }
        if (active == 0)
            break;
        int ready = poll(polls, count, 10000);
        if (ready == -1 && errno == EINTR)
            continue;
        if (ready <= 0) {
            fprintf(stderr, "loadgen: no progress for 10 s (%zu clients active)\n", active);
            break;
        }
        for (size_t i = 0; i < count; i++) {
            struct client *c = &clients[i];
            if (polls[i].fd == -1 || polls[i].revents == 0)
                continue;
            if (c->state == SENDING)
                do_send(c, (size_t)size);
            else if (c->state == RECEIVING)
                round_trips += do_receive(c, (size_t)size);
        }
    }
    double elapsed = now() - started;
    double cpu_after = server_pid ? cpu_seconds(server_pid) : -1;

    size_t served = 0, refused = 0, told = 0, failed = 0;
    for (size_t i = 0; i < count; i++) {
        struct client *c = &clients[i];
        if (c->state == DONE_OK && c->fd != -1)
            finish(c, DONE_OK);
        else if (c->fd != -1)
            finish(c, FAILED);      /* stuck: no progress for 10 s */
        served += c->state == DONE_OK;
        refused += c->state == REFUSED;
        failed += c->state == FAILED;
        told += c->told;
    }
    if (latency_count > 0)
        qsort(latencies, latency_count, sizeof *latencies, compare_doubles);
    printf("clients=%zu connected=%zu served=%zu refused=%zu told=%zu failed=%zu "
           "round_trips=%ld seconds=%.3f rt_per_s=%.0f p50_us=%.1f p99_us=%.1f max_us=%.1f", count,
           connected, served, refused, told, failed, round_trips, elapsed,
           elapsed > 0 ? (double)round_trips / elapsed : 0.0, percentile_us(50),
           percentile_us(99), percentile_us(100));
    if (cpu_before >= 0 && cpu_after >= 0 && round_trips > 0)
        printf(" server_cpu_s=%.4f server_cpu_us_per_rt=%.2f", cpu_after - cpu_before,
               (cpu_after - cpu_before) * 1e6 / (double)round_trips);
    printf("\n");
    for (long i = 0; i < idle; i++)
        close(idle_fds[i]);
    free(idle_fds);
    free(latencies);
    free(polls);
    free(clients);
    return 0;
}
