/* fixed_length.c: chapter 2, fixed-length messages over a TCP stream.
 *
 * TCP carries a stream of bytes with no edges in it: one send() may arrive as
 * several recv()s, and several send()s as one recv(). The simplest way to put
 * messages on a stream is to agree that every message is exactly MSGLEN bytes
 * (short ones padded with spaces). Then a receiver knows where a message ends
 * without looking inside it, as long as both sides loop: send() until every
 * byte has gone, recv() until MSGLEN bytes have come.
 *
 * The server echoes each message back unchanged. It reads into a buffer as
 * much as one recv() gives it (up to --recv-size) and carves whole messages
 * out of it, so one recv() may hold several messages. The client reads exactly
 * one reply's worth, never more, the way most simple clients do.
 *
 * Usage: 02-fixed-length server [--bind ADDR] [--port N] [--once] [--msglen N]
 *                               [--chunk N [--pause MS]] [--recv-size N] [--break-after K]
 *        02-fixed-length client [--host H] [--port N] [--msglen N] [--message TEXT]...
 *                               [--chunk N [--pause MS]] [--recv-size N] [--break-after K]
 *        02-fixed-length demo
 * See also: chapters/02-fixed-length/README.md (the lesson), send(2), recv(2),
 *           tcp(7); chapter 4 (end markers and length prefixes).
 */
#include "cli.h"
#include "narrate.h"
#include "proc.h"
#include "../01-blocking/sockets.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_PORT 9002
#define DEFAULT_MSGLEN 32
#define MAX_MSGLEN (1024 * 1024)
#define SERVER_RECV_SIZE 4096   /* the server's default: room for many small messages */

/* Room for the largest message, and for the server's read-ahead. Static, so
 * the size is fixed by us, never by a peer, and untouched pages cost nothing. */
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

static char client_message[MAX_MSGLEN], client_reply[MAX_MSGLEN];
static char server_buffer[MAX_MSGLEN + MAX_MSGLEN];

static struct {
    const char *bind_address;
    const char *host;
    int port;
    int once;
    long long msglen;
    long long chunk;        /* 0: each message in one send() */
    int pause_ms;
    long long recv_size;    /* 0: the role's default */
    long long break_after;  /* -1: never break the connection on purpose */
    int nodelay;
    struct sl_list messages;
} opt = { "127.0.0.1", "localhost", DEFAULT_PORT, 0, DEFAULT_MSGLEN, 0, 0, 0, -1, 0,
          { { NULL }, 0 } };

static const struct sl_option options[] = {
    { "--bind", SL_TEXT, &opt.bind_address, 0, 0, "server", "ADDR",
      "address to listen on: 127.0.0.1 (default), ::1, 0.0.0.0 or ::" },
    { "--port", SL_INT, &opt.port, 0, 65535, "server client", "N",
      "TCP port (default 9002; server: 0 picks a free one)" },
    { "--once", SL_FLAG, &opt.once, 0, 0, "server", NULL, "serve one client, then exit" },
    { "--host", SL_TEXT, &opt.host, 0, 0, "client", "H", "server name or address (default localhost)" },
    { "--message", SL_LIST, &opt.messages, 0, 0, "client", "TEXT",
      "send TEXT as one message instead of reading lines of stdin (repeatable)" },
    { "--msglen", SL_SIZE, &opt.msglen, 1, MAX_MSGLEN, "server client", "N",
      "bytes in every message, 1 to 1M (default 32); both sides must agree" },
    { "--chunk", SL_SIZE, &opt.chunk, 1, MAX_MSGLEN, "server client", "N",
      "send each message in pieces of N bytes (default: all at once)" },
    { "--pause", SL_INT, &opt.pause_ms, 0, 10000, "server client", "MS",
      "with --chunk: wait MS milliseconds between pieces" },
    { "--nodelay", SL_FLAG, &opt.nodelay, 0, 0, "server client", NULL,
      "set TCP_NODELAY: send small pieces at once (no Nagle's algorithm)" },
    { "--recv-size", SL_SIZE, &opt.recv_size, 1, MAX_MSGLEN, "server client", "N",
      "ask each recv() for at most N bytes (server default 4096; client: the rest of the reply)" },
    { "--break-after", SL_SIZE, &opt.break_after, 0, MAX_MSGLEN - 1, "server client", "K",
      "send only K bytes of the first message (server: of each client's first reply), then close" },
    { NULL, SL_FLAG, NULL, 0, 0, NULL, NULL, NULL }
};

static const struct sl_role roles[] = {
    { "server", NULL, 0, "Echoes every --msglen-byte message back unchanged, one client at a time." },
    { "client", NULL, 0,
      "Pads each line of stdin (or each --message) to --msglen bytes, sends it, prints the reply." },
    { "demo", NULL, 0, "Server and client on a free port: two messages in one recv(), one in pieces." },
    { NULL, NULL, 0, NULL }
};

static const struct sl_program program = {
    "02-fixed-length", "fixed-length messages: loop on send() and recv() until the whole message moved",
    roles, options,
    "A message longer than --msglen is refused (exit 2) before any of it is sent.\n"
    "A peer that closes part-way through a message: 'connection broken after K of N bytes'\n"
    "(the client exits 1; the server drops that client and serves the next).\n"
    "\nexamples: bin/02-fixed-length server --recv-size 1\n"
    "          bin/02-fixed-length client --chunk 4 --pause 100 --message hello\n"
};

/* ---- moving one message -------------------------------------------------- */

static const char *plural(ssize_t count)
{
    return count == 1 ? "" : "s";
}

static void pause_milliseconds(int ms)
{
    struct timespec delay = { ms / 1000, (long)(ms % 1000) * 1000000L };
    while (nanosleep(&delay, &delay) == -1 && errno == EINTR)
        continue;
}

/* Sends the first LENGTH bytes of a MSGLEN-byte message, in --chunk pieces
 * when asked. send() on a blocking socket may still take fewer bytes than it
 * was given (a signal, a send timeout), so loop until every byte is gone.
 * 0, or -1 with errno set. */
static int send_message(int fd, const char *message, size_t length, size_t msglen)
{
    size_t sent = 0;
    while (sent < length) {
        size_t piece = length - sent;
        if (opt.chunk > 0 && piece > (size_t)opt.chunk)
            piece = (size_t)opt.chunk;
        if (opt.chunk > 0 && sent > 0 && opt.pause_ms > 0)
            pause_milliseconds(opt.pause_ms);
        ssize_t n = send(fd, message + sent, piece, 0);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1) {
            int saved_errno = errno;
            sl_narrate("send(fd %d, %zu byte%s) -> -1 (%s) after %zu of %zu bytes", fd, piece,
                       plural((ssize_t)piece), strerror(errno), sent, msglen);
            errno = saved_errno;
            return -1;
        }
        sent += (size_t)n;
        if ((size_t)n < piece)
            sl_narrate("send(fd %d, %zu byte%s) -> %zd byte%s (%zu/%zu): a short send, the "
                       "rest goes next", fd, piece, plural((ssize_t)piece), n, plural(n), sent,
                       msglen);
        else
            sl_narrate("send(fd %d, %zu byte%s) -> %zd byte%s (%zu/%zu)", fd, piece,
                       plural((ssize_t)piece), n, plural(n), sent, msglen);
    }
    return 0;
}

/* recv() until exactly MSGLEN bytes are in reply. Each recv() returns whatever
 * has arrived, from 1 byte up to what it was asked for, so one recv() is never
 * "the message". Asks for no more than the rest of this message (and at most
 * --recv-size). Returns the bytes received: MSGLEN, or fewer when the peer
 * closed part-way; -1 with errno set on an error. */
static ssize_t recv_message(int fd, char *reply, size_t msglen)
{
    size_t received = 0;
    while (received < msglen) {
        size_t want = msglen - received;
        if (opt.recv_size > 0 && want > (size_t)opt.recv_size)
            want = (size_t)opt.recv_size;
        ssize_t n = recv(fd, reply + received, want, 0);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1) {
            int saved_errno = errno;
            sl_narrate("recv(fd %d, up to %zu) -> -1 (%s) after %zu of %zu bytes", fd, want,
                       strerror(errno), received, msglen);
            errno = saved_errno;
            return -1;
        }
        if (n == 0) {
            sl_narrate("recv(fd %d, up to %zu) -> 0: connection broken after %zu of %zu bytes",
                       fd, want, received, msglen);
            return (ssize_t)received;
        }
        received += (size_t)n;
        sl_narrate("recv(fd %d, up to %zu) -> %zd byte%s (%zu/%zu)", fd, want, n, plural(n),
                   received, msglen);
    }
    return (ssize_t)received;
}

/* ---- the server ---------------------------------------------------------- */

/* Says what one recv() brought: part of a message, or one or more whole
 * messages (and maybe the start of the next) that arrived together. */
static void narrate_arrival(int fd, size_t asked, ssize_t got, size_t buffered, size_t msglen)
{
    if (buffered <= msglen) {
        sl_narrate("recv(fd %d, up to %zu) -> %zd byte%s (%zu/%zu)", fd, asked, got, plural(got),
                   buffered, msglen);
        return;
    }
    size_t whole = buffered / msglen, extra = buffered % msglen;
    char rest[64] = "";
    if (extra > 0)
        snprintf(rest, sizeof rest, " + %zu bytes of the next", extra);
    sl_narrate("recv(fd %d, up to %zu) -> %zd bytes (%zu buffered: %zu whole message%s%s)", fd,
               asked, got, buffered, whole, whole == 1 ? "" : "s", rest);
}

/* Echoes CLIENT's messages until it leaves or breaks off. BUFFER holds
 * CAPACITY bytes, at least MSGLEN + RECV_SIZE: after whole messages are
 * carved out, fewer than MSGLEN bytes stay, so there is always room for
 * another recv(). 0 when the client left cleanly, -1 otherwise. */
static int echo_messages(int client, char *buffer, size_t capacity, size_t msglen, size_t recv_size)
{
    size_t buffered = 0;        /* bytes received and not yet echoed */
    unsigned long count = 0;    /* messages echoed on this connection */
    for (;;) {
        size_t want = capacity - buffered < recv_size ? capacity - buffered : recv_size;
        ssize_t n = recv(client, buffer + buffered, want, 0);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1) {
            sl_narrate("recv(fd %d, up to %zu) -> -1 (%s) after %zu of %zu bytes", client, want,
                       strerror(errno), buffered, msglen);
            return -1;
        }
        if (n == 0 && buffered == 0) {
            sl_narrate("recv(fd %d, up to %zu) -> 0: the client closed its side", client, want);
            return 0;
        }
        if (n == 0) {
            sl_narrate("recv(fd %d, up to %zu) -> 0: connection broken after %zu of %zu bytes",
                       client, want, buffered, msglen);
            return -1;
        }
        buffered += (size_t)n;
        narrate_arrival(client, want, n, buffered, msglen);

        size_t start = 0;
        while (buffered - start >= msglen) {
            count++;
            if (opt.break_after >= 0 && count == 1) {
                sl_narrate("message 1 complete: echoing only %lld of its %zu bytes, then closing "
                           "(--break-after)", opt.break_after, msglen);
                send_message(client, buffer + start, (size_t)opt.break_after, msglen);
                return -1;
            }
            sl_narrate("message %lu complete: echoing its %zu bytes", count, msglen);
            if (send_message(client, buffer + start, msglen, msglen) == -1)
                return -1;
            start += msglen;
        }
        /* Keep the start of the next message, if it came along, for the next round. */
        memmove(buffer, buffer + start, buffered - start);
        buffered -= start;
    }
}

/* Nagle's algorithm keeps a small piece back while an earlier one is still
 * unacknowledged, hoping to send one full segment instead of many small ones.
 * The receiver, for its part, delays its ACK (about 40 ms on Linux), hoping
 * to send it along with a reply; but the echo can't start before the whole
 * message is in. So with --chunk each message waits for that delayed ACK.
 * TCP_NODELAY turns Nagle's algorithm off for this socket. */
static void disable_nagle(int fd)
{
    int on = 1;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on) == -1)
        sl_fail_errno("setsockopt TCP_NODELAY");
    sl_narrate("setsockopt(fd %d, TCP_NODELAY, 1) -> 0: small pieces go out at once", fd);
}

/* Serves clients one after another, COUNT of them (0: forever). A client that
 * breaks off mid-message costs only its own connection. */
static void serve(int listener, int count, size_t msglen, size_t recv_size)
{
    size_t capacity = msglen + recv_size;   /* at most sizeof server_buffer */
    for (int served = 0; count == 0 || served < count;) {
        int client = accept_client(listener);
        if (client == -1) {
            if (errno == ECONNABORTED)
                continue;
            sl_fail_errno("accept");
        }
        if (opt.nodelay)
            disable_nagle(client);
        echo_messages(client, server_buffer, capacity, msglen, recv_size);
        close(client);
        sl_narrate("close(fd %d)", client);
        served++;
    }
}

static int run_server(void)
{
    int listener = listen_or_exit(opt.bind_address, opt.port, 8);
    if (announce_listening(listener) == -1)
        sl_fail_errno("getsockname");
    size_t recv_size = opt.recv_size > 0 ? (size_t)opt.recv_size : SERVER_RECV_SIZE;
    serve(listener, opt.once ? 1 : 0, (size_t)opt.msglen, recv_size);
    close(listener);
    return SL_EXIT_OK;
}

/* ---- the client ---------------------------------------------------------- */

static int connect_or_fail(const char *host, int port)
{
    int fd = connect_or_exit(host, port);
    if (opt.nodelay)
        disable_nagle(fd);
    return fd;
}

/* Reads one line of stdin, without its newline, into line (room for MAX
 * bytes), reading no further than MAX + 1 bytes of it. Its length; -1 at the
 * end of input; -2 when the line is longer than MAX. */
static long read_line(char *line, size_t max)
{
    size_t length = 0;
    int c;
    while ((c = getc(stdin)) != EOF && c != '\n') {
        if (length == max)
            return -2;
        line[length++] = (char)c;
    }
    if (ferror(stdin))
        sl_fail_errno("reading stdin");
    if (c == EOF && length == 0)
        return -1;
    return (long)length;
}

/* The padding is not part of the text: print the reply without it. (So a
 * line's own trailing spaces are lost too: one cost of padding.) */
static void print_reply(const char *reply, size_t msglen)
{
    size_t end = msglen;
    while (end > 0 && reply[end - 1] == ' ')
        end--;
    fwrite(reply, 1, end, stdout);
    putchar('\n');
    fflush(stdout);
}

/* Sends one padded message and prints the reply; exits 1 if the connection breaks. */
static void exchange(int fd, const char *message, char *reply, size_t msglen)
{
    if (send_message(fd, message, msglen, msglen) == -1)
        sl_fail_errno("send");
    ssize_t got = recv_message(fd, reply, msglen);
    if (got == -1)
        sl_fail_errno("recv");
    if ((size_t)got < msglen)
        sl_fail("recv: connection broken after %zd of %zu bytes", got, msglen);
    print_reply(reply, msglen);
}

/* --break-after K: the first message stops after K bytes and the connection
 * closes, to show the server's side of a peer that vanishes mid-message. */
static void send_part_and_close(int fd, const char *message, size_t msglen)
{
    if (send_message(fd, message, (size_t)opt.break_after, msglen) == -1)
        sl_fail_errno("send");
    close(fd);
    sl_narrate("close(fd %d) after %lld of %zu bytes, on purpose (--break-after)", fd,
               opt.break_after, msglen);
}

static int run_client(void)
{
    size_t msglen = (size_t)opt.msglen;
    /* Every --message is checked before connecting: nothing goes out if one is too long. */
    for (int i = 0; i < opt.messages.count; i++) {
        size_t length = strlen(opt.messages.items[i]);
        if (length > msglen)
            sl_usage_error("--message %d is %zu bytes, longer than --msglen (%zu bytes)", i + 1,
                           length, msglen);
    }
    char *message = client_message, *reply = client_reply;
    int fd = connect_or_fail(opt.host, opt.port);
    for (int number = 1;; number++) {
        long length;
        if (opt.messages.count > 0) {
            if (number > opt.messages.count)
                break;
            length = (long)strlen(opt.messages.items[number - 1]);
            memcpy(message, opt.messages.items[number - 1], (size_t)length);
        } else {
            length = read_line(message, msglen);
            if (length == -1)
                break;
            if (length == -2)   /* this line is not sent at all, not even in part */
                sl_usage_error("line %d of stdin is longer than --msglen (%zu bytes)", number,
                               msglen);
        }
        memset(message + length, ' ', msglen - (size_t)length);
        if (opt.break_after >= 0) {
            send_part_and_close(fd, message, msglen);
            return SL_EXIT_OK;
        }
        exchange(fd, message, reply, msglen);
    }
    /* Closing sends FIN: the server's recv() returns 0 between two messages,
     * a clean goodbye. */
    close(fd);
    sl_narrate("close(fd %d)", fd);
    return SL_EXIT_OK;
}

/* ---- the demo ------------------------------------------------------------ */

static void pad(char *message, const char *text, size_t msglen)
{
    size_t length = strlen(text);
    memcpy(message, text, length);
    memset(message + length, ' ', msglen - length);
}

/* The demo's client: two messages sent back to back before the server reads,
 * replies read 10 bytes at a time, then one message sent in 8-byte pieces. */
static _Noreturn void demo_client(int port, int both_sent)
{
    sl_set_role("client");
    char message[DEFAULT_MSGLEN], reply[DEFAULT_MSGLEN];
    int fd = connect_or_fail("127.0.0.1", port);

    sl_narrate("two send()s, before the server calls accept()");
    pad(message, "first", sizeof message);
    if (send_message(fd, message, sizeof message, sizeof message) == -1)
        sl_fail_errno("send");
    pad(message, "second", sizeof message);
    if (send_message(fd, message, sizeof message, sizeof message) == -1)
        sl_fail_errno("send");
    if (write(both_sent, "x", 1) != 1)
        sl_fail_errno("write to pipe");

    sl_narrate("reading each 32-byte reply with recv()s of at most 10 bytes");
    opt.recv_size = 10;
    for (int i = 0; i < 2; i++) {
        if (recv_message(fd, reply, sizeof reply) != (ssize_t)sizeof reply)
            sl_fail("recv: the reply did not come whole");
        print_reply(reply, sizeof reply);
    }

    sl_narrate("one message in 8-byte pieces, 100 ms apart");
    opt.chunk = 8;
    opt.pause_ms = 100;
    opt.recv_size = 0;
    pad(message, "third, sent in pieces", sizeof message);
    exchange(fd, message, reply, sizeof reply);
    close(fd);
    sl_narrate("close(fd %d)", fd);
    exit(SL_EXIT_OK);
}

static int run_demo(void)
{
    int both_sent[2];
    if (pipe(both_sent) == -1)
        sl_fail_errno("pipe");
    sl_set_role("server");
    int listener = listen_or_exit("127.0.0.1", 0, 8);
    if (announce_listening(listener) == -1)
        sl_fail_errno("getsockname");
    int port = local_port(listener);

    fflush(stdout);     /* or the child would print the ready line again */
    pid_t child = fork();
    if (child == -1)
        sl_fail_errno("fork");
    if (child == 0) {
        close(listener);
        close(both_sent[0]);
        demo_client(port, both_sent[1]);
    }
    close(both_sent[1]);
    /* Not accepting until both messages are in the kernel's buffer makes sure
     * they are waiting together when the server's first recv() comes. */
    char byte;
    if (read(both_sent[0], &byte, 1) != 1)
        sl_fail("the demo client did not send its messages");
    close(both_sent[0]);
    serve(listener, 1, DEFAULT_MSGLEN, SERVER_RECV_SIZE);
    close(listener);

    int status;
    if (waitpid(child, &status, 0) == -1)
        sl_fail_errno("waitpid");
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? SL_EXIT_OK : SL_EXIT_RUNTIME;
}

int main(int argc, char **argv)
{
    struct sl_args args = sl_parse_command_line(&program, argc, argv);
    if (opt.pause_ms > 0 && opt.chunk == 0)
        sl_usage_error("--pause needs --chunk (it is the wait between pieces)");
    if (opt.break_after >= opt.msglen)
        sl_usage_error("--break-after %lld: must be less than --msglen (%lld)", opt.break_after,
                       opt.msglen);

    /* A peer that vanishes mid-send should cost an EPIPE error, not our life. */
    signal(SIGPIPE, SIG_IGN);

    if (strcmp(args.role, "server") == 0)
        return run_server();
    if (strcmp(args.role, "client") == 0)
        return run_client();
    return run_demo();
}
