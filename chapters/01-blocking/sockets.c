/* sockets.c: chapter 1, the calls that make a TCP connection.
 *
 * A server asks for a listening socket: socket(), bind() to an address,
 * listen(). That socket never carries a byte of data; accept() hands out a
 * new, connected socket for each client that arrives. A client makes one
 * socket and connect()s it. From then on both ends send() and recv() on
 * their connected sockets, and send() may take fewer bytes than it was
 * given, so send_all() loops.
 *
 * Every chapter after this one links this file for these steps.
 *
 * Usage: see sockets.h; server.c and client.c call everything here.
 * See also: getaddrinfo(3), socket(2), bind(2), listen(2), accept(2),
 *           connect(2), send(2), getsockname(2), socket(7), tcp(7).
 */
#include "sockets.h"

#include "narrate.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <unistd.h>

static struct addrinfo *resolve(const char *host, int port, int flags, char *why, size_t size);
static const char *family_name(int family);
static void note_failure(const char *call, const char *what, char *why, size_t size);

/* SO_REUSEADDR, bind and listen on a fresh socket: 0, or -1 with WHY set. */
static int bind_and_listen(int fd, const struct addrinfo *ai, int backlog, int reuse_address,
                           char *why, size_t why_size)
{
    char text[SL_ADDR_STRLEN];
    sl_format_address(ai->ai_addr, ai->ai_addrlen, text);

    /* Connections this port served before may linger (TIME_WAIT: about a
     * minute on Linux) after the server stops. Without SO_REUSEADDR the
     * kernel refuses to bind the port until they are gone. */
    int on = 1;
    if (reuse_address) {
        if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) == -1) {
            note_failure("setsockopt", "SO_REUSEADDR, 1", why, why_size);
            return -1;
        }
        sl_narrate("setsockopt(SO_REUSEADDR, 1) -> 0");
    }
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) == -1) {
        note_failure("bind", text, why, why_size);
        return -1;
    }
    sl_narrate("bind(%s) -> 0", text);
    /* From here the kernel completes handshakes on its own and queues up to
     * BACKLOG finished connections until the program accept()s them. */
    if (listen(fd, backlog) == -1) {
        snprintf(text, sizeof text, "fd %d, backlog %d", fd, backlog);
        note_failure("listen", text, why, why_size);
        return -1;
    }
    sl_narrate("listen(fd %d, backlog %d) -> 0", fd, backlog);
    return 0;
}

int open_listener(const char *address, int port, int backlog, int reuse_address, char *why,
                  size_t why_size)
{
    /* AI_PASSIVE: an address to listen on, not one to reach. */
    struct addrinfo *found = resolve(address, port, AI_PASSIVE, why, why_size);
    if (found == NULL)
        return -1;
    int listener = -1;
    for (struct addrinfo *ai = found; ai != NULL && listener == -1; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd == -1) {
            note_failure("socket", family_name(ai->ai_family), why, why_size);
            continue;
        }
        sl_narrate("socket(%s, SOCK_STREAM) -> fd %d", family_name(ai->ai_family), fd);
        if (bind_and_listen(fd, ai, backlog, reuse_address, why, why_size) == 0)
            listener = fd;
        else
            close(fd);
    }
    freeaddrinfo(found);
    return listener;
}

int start_listening(const char *address, int port, int backlog)
{
    char why[256];
    int listener = open_listener(address, port, backlog, 1, why, sizeof why);
    if (listener == -1)
        sl_fail("%s", why);
    if (announce_listening(listener) == -1)
        sl_fail_errno("getsockname");
    return listener;
}

/* accept() waits until the kernel has a finished connection in the backlog,
 * then returns a new socket for it; the listener stays as it was. */
int accept_client(int listener)
{
    struct sockaddr_storage peer;
    socklen_t peer_length;
    int client;
    sl_narrate("accept(fd %d) ... (blocks until a client is in the backlog)", listener);
    do {
        peer_length = sizeof peer;
        client = accept(listener, (struct sockaddr *)&peer, &peer_length);
    } while (client == -1 && errno == EINTR);
    if (client == -1) {
        sl_narrate("accept(fd %d) -> -1 %s", listener, sl_errno(errno));
        return -1;
    }
    char text[SL_ADDR_STRLEN];
    sl_narrate("accept(fd %d) -> fd %d from %s", listener, client,
               sl_format_address((struct sockaddr *)&peer, peer_length, text));
    return client;
}

int accept_or_exit(int listener)
{
    for (;;) {
        int client = accept_client(listener);
        if (client != -1)
            return client;
        /* The client gave up between its handshake and our accept(): not
         * ours to mend, the next one may be fine. */
        if (errno == ECONNABORTED)
            continue;
        int err = errno;
        close(listener);    /* one descriptor back, for whatever exit() needs */
        errno = err;
        if (errno == EMFILE || errno == ENFILE)
            sl_fail("accept: %s: no descriptor is left for a client, and this server "
                    "holds none it could close (raise `ulimit -n`)", sl_errno(errno));
        sl_fail_errno("accept");
    }
}

int connect_to_server(const char *host, int port, char *why, size_t why_size)
{
    struct addrinfo *found = resolve(host, port, 0, why, why_size);
    if (found == NULL)
        return -1;
    int fd = -1;
    for (struct addrinfo *ai = found; ai != NULL && fd == -1; ai = ai->ai_next) {
        char text[SL_ADDR_STRLEN];
        sl_format_address(ai->ai_addr, ai->ai_addrlen, text);
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd == -1) {
            note_failure("socket", family_name(ai->ai_family), why, why_size);
            continue;
        }
        sl_narrate("socket(%s, SOCK_STREAM) -> fd %d", family_name(ai->ai_family), fd);
        /* connect() blocks for the handshake (SYN out, SYN-ACK back). It
         * returns once the connection sits in the server's backlog, whether
         * or not the server program has called accept() yet. */
        sl_narrate("connect(%s) ... (blocks for the handshake)", text);
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == -1) {
            note_failure("connect", text, why, why_size);
            close(fd);
            fd = -1;
            continue;
        }
        struct sockaddr_storage local;
        socklen_t length = sizeof local;
        char mine[SL_ADDR_STRLEN] = "?";
        if (getsockname(fd, (struct sockaddr *)&local, &length) == 0)
            sl_format_address((struct sockaddr *)&local, length, mine);
        sl_narrate("connect(%s) -> 0, from %s", text, mine);
    }
    freeaddrinfo(found);
    return fd;
}

/* One send() may take only part of the buffer (the socket's send buffer is
 * full): the rest must be offered again until every byte is gone. */
int send_all(int fd, const void *data, size_t length, const char *what)
{
    const char *bytes = data;
    const char *separator = what ? ": " : "";
    if (what == NULL)
        what = "";
    size_t sent = 0;
    while (sent < length) {
        ssize_t n = send(fd, bytes + sent, length - sent, 0);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1) {
            sl_narrate("send(fd %d, %s%s%s) -> -1 %s", fd,
                       sl_plural((long long)(length - sent), "byte"), separator, what,
                       sl_errno(errno));
            return -1;
        }
        sl_narrate("send(fd %d, %s%s%s) -> %zd", fd, sl_plural((long long)(length - sent), "byte"),
                   separator, what, n);
        sent += (size_t)n;
    }
    return 0;
}

/* A blocking call waits as long as it takes; these options bound the wait
 * for each recv() and send() (on Linux, connect() too: SO_SNDTIMEO). */
int set_timeouts(int fd, double seconds)
{
    struct timeval limit;
    limit.tv_sec = (time_t)seconds;
    limit.tv_usec = (suseconds_t)((seconds - (double)limit.tv_sec) * 1e6);
    if (limit.tv_sec == 0 && limit.tv_usec == 0)
        limit.tv_usec = 1;      /* 0 would mean "no limit", the opposite */
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit) == -1 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit) == -1) {
        sl_narrate("setsockopt(SO_RCVTIMEO/SO_SNDTIMEO, %g s) -> -1 %s", seconds,
                   sl_errno(errno));
        return -1;
    }
    sl_narrate("setsockopt(SO_RCVTIMEO and SO_SNDTIMEO, %g s) -> 0", seconds);
    return 0;
}

/* The getsockname() a server needs after binding port 0: the real port. */
int announce_listening(int listener)
{
    struct sockaddr_storage address;
    socklen_t length = sizeof address;
    char text[SL_ADDR_STRLEN];
    if (getsockname(listener, (struct sockaddr *)&address, &length) == -1)
        return -1;
    printf("listening on %s\n", sl_format_address((struct sockaddr *)&address, length, text));
    fflush(stdout);
    return 0;
}

int local_port(int fd)
{
    struct sockaddr_storage address;
    socklen_t length = sizeof address;
    if (getsockname(fd, (struct sockaddr *)&address, &length) == -1)
        return -1;
    if (address.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&address)->sin6_port);
    return ntohs(((struct sockaddr_in *)&address)->sin_port);
}

/* ---- helpers ---------------------------------------------------------------- */

/* getaddrinfo() turns a name or a numeric address into socket addresses,
 * IPv6 and IPv4 alike; it reports failure through its return value, not
 * errno, so its text comes from gai_strerror(). */
static struct addrinfo *resolve(const char *host, int port, int flags, char *why, size_t size)
{
    struct addrinfo hints, *found = NULL;
    char service[8];
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;        /* IPv4 or IPv6, whatever HOST is */
    hints.ai_socktype = SOCK_STREAM;    /* TCP */
    hints.ai_flags = flags;
    snprintf(service, sizeof service, "%d", port);
    int rc = getaddrinfo(host, service, &hints, &found);
    if (rc != 0) {
        snprintf(why, size, "getaddrinfo %s: %s", host,
                 rc == EAI_SYSTEM ? sl_errno(errno) : gai_strerror(rc));
        return NULL;
    }
    return found;
}

static const char *family_name(int family)
{
    return family == AF_INET6 ? "AF_INET6" : family == AF_INET ? "AF_INET" : "AF_?";
}

/* Narrates CALL(WHAT) -> -1 and keeps the reason for the caller's message. */
static void note_failure(const char *call, const char *what, char *why, size_t size)
{
    snprintf(why, size, "%s: %s", call, sl_errno(errno));
    sl_narrate("%s(%s) -> -1 %s", call, what, sl_errno(errno));
}
