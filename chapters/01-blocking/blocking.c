/* blocking.c: chapter 1, blocking sockets and one client at a time.
 *
 * An iterative echo server and a line client, both blocking: every call
 * below waits until the kernel can finish it. The server's listening socket
 * never carries data; it only hands out connected sockets, one per client,
 * and this server talks to one of them at a time while the others queue.
 *
 * Usage: 01-blocking server [--bind ADDR] [--port N] [--once]
 *        01-blocking client [--host H] [--port N] [--message TEXT]...
 *        01-blocking demo
 * See also: chapters/01-blocking/README.md (the lesson), getaddrinfo(3),
 *           socket(2), bind(2), listen(2), accept(2), connect(2), socket(7).
 */
#include "socklab.h"

#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define DEFAULT_PORT 9001

static struct {
    const char *bind_address;
    const char *host;
    int port;
    int backlog;
    int once;
    int no_reuseaddr;
    struct sl_list messages;
} opt = { "127.0.0.1", "localhost", DEFAULT_PORT, 8, 0, 0, { { NULL }, 0 } };

static const struct sl_option options[] = {
    { "--bind", SL_TEXT, &opt.bind_address, 0, 0, "server", "ADDR",
      "address to listen on: 127.0.0.1 (default), ::1, 0.0.0.0 or ::" },
    { "--port", SL_INT, &opt.port, 0, 65535, NULL, "N",
      "TCP port (default 9001; server: 0 picks a free one)" },
    { "--once", SL_FLAG, &opt.once, 0, 0, "server", NULL, "serve one client, then exit" },
    { "--backlog", SL_INT, &opt.backlog, 1, 4096, "server", "N",
      "connections the kernel may queue before accept (default 8)" },
    { "--no-reuseaddr", SL_FLAG, &opt.no_reuseaddr, 0, 0, "server", NULL,
      "skip SO_REUSEADDR, to see a restart fail with 'Address already in use'" },
    { "--host", SL_TEXT, &opt.host, 0, 0, "client", "H", "server name or address (default localhost)" },
    { "--message", SL_LIST, &opt.messages, 0, 0, "client", "TEXT",
      "send TEXT as a line instead of reading stdin (repeatable)" },
    { NULL, SL_FLAG, NULL, 0, 0, NULL, NULL, NULL }
};

static const struct sl_role roles[] = {
    { "server", NULL, 0, "An iterative echo server: accepts one client, echoes until it leaves, then the next." },
    { "client", NULL, 0, "Sends each line of stdin (or each --message) and prints each echo on stdout." },
    { "demo", NULL, 0, "Server and two clients on a free port: the second waits in the backlog." },
    { NULL, NULL, 0, NULL }
};

static const struct sl_program program = {
    "01-blocking", "blocking sockets: an echo server that serves one client at a time",
    roles, options, NULL
};

static const char *family_name(int family)
{
    return family == AF_INET6 ? "AF_INET6" : "AF_INET";
}

/* ---- the server ---------------------------------------------------------- */

/* SO_REUSEADDR (unless told not to), bind and listen on a fresh socket, each
 * narrated: 0, or -1 with errno set and the failed call's name in *failed. */
static int bind_and_listen(int fd, const struct addrinfo *ai, int backlog, int reuse_address,
                           const char **failed)
{
    char text[SL_ADDR_STRLEN];
    sl_format_address(ai->ai_addr, ai->ai_addrlen, text);

    /* Connections this port served before may linger (FIN_WAIT_2, then
     * TIME_WAIT: about a minute on Linux) after the server stops. Without
     * SO_REUSEADDR the kernel refuses to bind the port until they are gone. */
    int on = 1;
    if (reuse_address) {
        if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) == -1) {
            *failed = "setsockopt SO_REUSEADDR";
            sl_narrate("setsockopt(SO_REUSEADDR, 1) -> -1 (%s)", strerror(errno));
            return -1;
        }
        sl_narrate("setsockopt(SO_REUSEADDR, 1) -> 0");
    }
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) == -1) {
        *failed = "bind";
        sl_narrate("bind(%s) -> -1 (%s)", text, strerror(errno));
        return -1;
    }
    sl_narrate("bind(%s) -> 0", text);
    if (listen(fd, backlog) == -1) {
        *failed = "listen";
        sl_narrate("listen(fd %d, backlog %d) -> -1 (%s)", fd, backlog, strerror(errno));
        return -1;
    }
    sl_narrate("listen(fd %d, backlog %d) -> 0", fd, backlog);
    return 0;
}

/* getaddrinfo for ADDR, then a listening socket on the first of its
 * addresses that works: the listening fd. Exits 1 if none does. */
static int open_listener(const char *address, int port, int backlog, int reuse_address)
{
    struct addrinfo hints, *found;
    char service[8];
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;        /* IPv4 or IPv6, whatever ADDR is */
    hints.ai_socktype = SOCK_STREAM;    /* TCP */
    hints.ai_flags = AI_PASSIVE;        /* an address to listen on, not to reach */
    snprintf(service, sizeof service, "%d", port);
    int rc = getaddrinfo(address, service, &hints, &found);
    if (rc != 0)
        sl_fail("getaddrinfo %s: %s", address, gai_strerror(rc));

    int listener = -1;
    int saved_errno = 0;
    const char *failed_call = "socket";
    for (struct addrinfo *ai = found; ai != NULL; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd == -1) {
            saved_errno = errno;
            failed_call = "socket";
            sl_narrate("socket(%s) -> -1 (%s)", family_name(ai->ai_family), strerror(errno));
            continue;
        }
        sl_narrate("socket(%s, SOCK_STREAM) -> fd %d", family_name(ai->ai_family), fd);
        if (bind_and_listen(fd, ai, backlog, reuse_address, &failed_call) == 0) {
            listener = fd;
            break;
        }
        saved_errno = errno;
        close(fd);
    }
    freeaddrinfo(found);
    if (listener == -1) {
        errno = saved_errno;
        sl_fail_errno(failed_call);
    }
    return listener;
}

/* send() until all LENGTH bytes are gone: one call may take only part of them.
 * 0, or -1 with errno set. */
static int send_all(int fd, const char *data, size_t length)
{
    size_t sent = 0;
    while (sent < length) {
        ssize_t n = send(fd, data + sent, length - sent, 0);
        if (n == -1) {
            if (errno == EINTR)
                continue;
            sl_narrate("send(fd %d) -> -1 (%s)", fd, strerror(errno));
            return -1;
        }
        sl_narrate("send(fd %d, %zu bytes) -> %zd", fd, length - sent, n);
        sent += (size_t)n;
    }
    return 0;
}

/* Echoes whatever arrives on CLIENT until the client closes its side (recv
 * returns 0) or the connection fails. recv blocks until at least one byte is
 * there: this is where the server spends its life. */
static void echo_until_eof(int client)
{
    char buffer[4096];
    for (;;) {
        ssize_t n = recv(client, buffer, sizeof buffer, 0);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1) {
            sl_narrate("recv(fd %d) -> -1 (%s)", client, strerror(errno));
            return;
        }
        if (n == 0) {
            sl_narrate("recv(fd %d) -> 0: the client closed its side", client);
            return;
        }
        sl_narrate("recv(fd %d) -> %zd bytes", client, n);
        if (send_all(client, buffer, (size_t)n) == -1)
            return;
    }
}

/* accept() blocks until a client's connection is complete, then returns a new
 * connected socket for it; the listener stays as it was, for the next one. */
static int accept_client(int listener)
{
    struct sockaddr_storage peer;
    socklen_t peer_length = sizeof peer;
    sl_narrate("accept(fd %d) ... (blocks until a client is in the backlog)", listener);
    int client = accept(listener, (struct sockaddr *)&peer, &peer_length);
    if (client == -1) {
        sl_narrate("accept(fd %d) -> -1 (%s)", listener, strerror(errno));
        return -1;
    }
    char text[SL_ADDR_STRLEN];
    sl_narrate("accept(fd %d) -> fd %d from %s", listener, client,
               sl_format_address((struct sockaddr *)&peer, peer_length, text));
    return client;
}

/* Serves clients one after another, COUNT of them (0: forever). */
static void serve(int listener, int count)
{
    for (int served = 0; count == 0 || served < count;) {
        int client = accept_client(listener);
        if (client == -1) {
            /* A connection can fail between arriving and being accepted
             * (ECONNABORTED); that is the client's problem, not the server's. */
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            sl_fail_errno("accept");
        }
        echo_until_eof(client);
        close(client);
        sl_narrate("close(fd %d)", client);
        served++;
    }
}

static int run_server(void)
{
    int listener = open_listener(opt.bind_address, opt.port, opt.backlog, !opt.no_reuseaddr);
    if (sl_announce_listening(listener) == -1)
        sl_fail_errno("getsockname");
    serve(listener, opt.once ? 1 : 0);
    close(listener);
    return SL_EXIT_OK;
}

/* ---- the client ---------------------------------------------------------- */

/* Resolves HOST and tries each address it has, IPv6 and IPv4, until one
 * connects: the connected fd. Exits 1 when none does, with the last reason. */
static int connect_to_server(const char *host, int port)
{
    struct addrinfo hints, *found;
    char service[8];
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    snprintf(service, sizeof service, "%d", port);
    int rc = getaddrinfo(host, service, &hints, &found);
    if (rc != 0)
        sl_fail("getaddrinfo %s: %s", host, gai_strerror(rc));

    int fd = -1;
    int saved_errno = 0;
    const char *failed_call = "connect";
    for (struct addrinfo *ai = found; ai != NULL && fd == -1; ai = ai->ai_next) {
        char text[SL_ADDR_STRLEN];
        sl_format_address(ai->ai_addr, ai->ai_addrlen, text);
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd == -1) {
            saved_errno = errno;
            failed_call = "socket";
            continue;
        }
        sl_narrate("socket(%s, SOCK_STREAM) -> fd %d", family_name(ai->ai_family), fd);
        /* connect() blocks for the handshake: SYN out, SYN-ACK back. It returns
         * once the kernel has queued the connection on the server's listener,
         * whether or not the server program has called accept() yet. */
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == -1) {
            saved_errno = errno;
            failed_call = "connect";
            sl_narrate("connect(%s) -> -1 (%s)", text, strerror(errno));
            close(fd);
            fd = -1;
            continue;
        }
        char local[SL_ADDR_STRLEN];
        sl_narrate("connect(%s) -> 0, from %s", text, sl_local_address(fd, local));
    }
    freeaddrinfo(found);
    if (fd == -1) {
        errno = saved_errno;
        sl_fail_errno(failed_call);
    }
    return fd;
}

/* Reads back exactly LENGTH echoed bytes and prints them: the server echoes
 * every byte, but may return them over several recv calls. */
static void read_echo(int fd, size_t length)
{
    char buffer[4096];
    size_t received = 0;
    while (received < length) {
        size_t want = length - received < sizeof buffer ? length - received : sizeof buffer;
        ssize_t n = recv(fd, buffer, want, 0);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1)
            sl_fail_errno("recv");
        if (n == 0)
            sl_fail("recv: the server closed the connection after %zu of %zu bytes", received,
                    length);
        sl_narrate("recv(fd %d) -> %zd bytes", fd, n);
        fwrite(buffer, 1, (size_t)n, stdout);
        received += (size_t)n;
    }
    fflush(stdout);
}

/* Sends one line and prints its echo, in pieces of at most 4 KiB. Sending a
 * long line whole before reading anything would deadlock: the echo fills our
 * receive buffer, then the server's send buffer, and the server stops reading
 * while we are still sending (chapter 6 shows this). */
static void echo_line(int fd, const char *line, size_t length)
{
    const size_t piece = 4096;
    for (size_t done = 0; done < length; done += piece) {
        size_t size = length - done < piece ? length - done : piece;
        if (send_all(fd, line + done, size) == -1)
            sl_fail_errno("send");
        read_echo(fd, size);
    }
}

static void echo_messages(int fd, const struct sl_list *messages)
{
    for (int i = 0; i < messages->count; i++) {
        size_t length = strlen(messages->items[i]);
        char *line = malloc(length + 1);
        if (line == NULL)
            sl_fail_errno("malloc");
        memcpy(line, messages->items[i], length);
        line[length] = '\n';
        echo_line(fd, line, length + 1);
        free(line);
    }
}

static void echo_stdin(int fd)
{
    char *line = NULL;
    size_t capacity = 0;
    ssize_t length;
    while ((length = getline(&line, &capacity, stdin)) != -1)
        echo_line(fd, line, (size_t)length);
    free(line);
    if (ferror(stdin))
        sl_fail_errno("reading stdin");
}

static int run_client(void)
{
    int fd = connect_to_server(opt.host, opt.port);
    if (opt.messages.count > 0)
        echo_messages(fd, &opt.messages);
    else
        echo_stdin(fd);
    /* Closing sends FIN: the server's recv returns 0 and it moves on. */
    close(fd);
    sl_narrate("close(fd %d)", fd);
    return SL_EXIT_OK;
}

/* ---- the demo ------------------------------------------------------------ */

/* Client A: connected and served; it stays until B tells it B has connected. */
static _Noreturn void demo_client_a(int port, int a_was_served, int b_has_connected)
{
    sl_set_role("client A");
    int fd = connect_to_server("127.0.0.1", port);
    echo_line(fd, "hello from A\n", 13);
    /* Each line is narrated before the step that lets the others go on, so
     * the narration on screen is in the order things really happened. */
    sl_narrate("waiting until B has connected, to show B waits for the server");
    if (write(a_was_served, "x", 1) != 1)
        sl_fail_errno("write to pipe");
    char byte;
    if (read(b_has_connected, &byte, 1) != 1)
        sl_fail("B never connected");
    echo_line(fd, "bye from A\n", 11);
    sl_narrate("close(fd %d): now the server can accept B", fd);
    close(fd);
    exit(SL_EXIT_OK);
}

/* Client B: connects while A is being served; its connect succeeds at once
 * (the kernel queues it), but its echo waits until the server is done with A. */
static _Noreturn void demo_client_b(int port, int a_was_served, int b_has_connected)
{
    sl_set_role("client B");
    char byte;
    if (read(a_was_served, &byte, 1) != 1)
        sl_fail("A was never served");
    int fd = connect_to_server("127.0.0.1", port);
    sl_narrate("connected, though the server has not accepted me: I am in its backlog");
    if (write(b_has_connected, "x", 1) != 1)
        sl_fail_errno("write to pipe");
    echo_line(fd, "hello from B\n", 13);
    close(fd);
    sl_narrate("close(fd %d)", fd);
    exit(SL_EXIT_OK);
}

static int run_demo(void)
{
    int a_was_served[2], b_has_connected[2];
    if (pipe(a_was_served) == -1 || pipe(b_has_connected) == -1)
        sl_fail_errno("pipe");
    sl_set_role("server");
    int listener = open_listener("127.0.0.1", 0, opt.backlog, 1);
    if (sl_announce_listening(listener) == -1)
        sl_fail_errno("getsockname");
    int port = sl_local_port(listener);

    /* Each process keeps only the pipe ends it uses: then if one dies, the
     * other reads EOF and says so, instead of waiting forever. */
    pid_t a = sl_fork();
    if (a == 0) {
        close(listener);
        close(a_was_served[0]);
        close(b_has_connected[1]);
        demo_client_a(port, a_was_served[1], b_has_connected[0]);
    }
    pid_t b = sl_fork();
    if (b == 0) {
        close(listener);
        close(a_was_served[1]);
        close(b_has_connected[0]);
        demo_client_b(port, a_was_served[0], b_has_connected[1]);
    }
    close(a_was_served[0]);
    close(a_was_served[1]);
    close(b_has_connected[0]);
    close(b_has_connected[1]);
    serve(listener, 2);
    close(listener);

    int status_a, status_b;
    if (waitpid(a, &status_a, 0) == -1 || waitpid(b, &status_b, 0) == -1)
        sl_fail_errno("waitpid");
    int ok = WIFEXITED(status_a) && WEXITSTATUS(status_a) == 0 && WIFEXITED(status_b) &&
             WEXITSTATUS(status_b) == 0;
    return ok ? SL_EXIT_OK : SL_EXIT_RUNTIME;
}

int main(int argc, char **argv)
{
    struct sl_args args = sl_parse_command_line(&program, argc, argv);

    /* A peer that vanishes mid-send should cost an EPIPE error, not our life. */
    signal(SIGPIPE, SIG_IGN);

    if (strcmp(args.role, "server") == 0)
        return run_server();
    if (strcmp(args.role, "client") == 0)
        return run_client();
    return run_demo();
}
