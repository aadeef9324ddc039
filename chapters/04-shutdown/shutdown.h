/* shutdown.h: chapter 4's server, client, fork lesson and demo, as main.c calls them.
 *
 * The settings each role runs with, filled in by main.c from the command
 * line (or by demo.c), so the lesson files never see an option table; and
 * the contracts of the functions the lesson files share.
 *
 * See also: server.c, client.c, length_prefix.c, fork.c, framing.h (the two
 *           ways to find a message's end), ../01-blocking/sockets.h.
 */
#ifndef SOCKLAB_SHUTDOWN_H
#define SOCKLAB_SHUTDOWN_H

#include <stddef.h>
#include <sys/types.h>

/* What the server answers when a message did not end properly. */
#define NO_END_REPLY "ERROR:no end!"
#define TOO_BIG_REPLY "ERROR:too big!"

/* Exit status of a client that gave up waiting for the reply (--timeout). */
enum { EXIT_NO_REPLY = 3 };

struct server_settings {
    const char *bind_address;   /* "127.0.0.1", "::1", "0.0.0.0" or "::" */
    int port;                   /* 0: the kernel picks a free one */
    int once;                   /* serve one client, then return */
    const unsigned char *marker;        /* the end marker (not with length_prefix) */
    size_t marker_length;
    size_t recv_size;           /* the most one recv() may return */
    size_t max_payload;         /* longer gets TOO_BIG_REPLY */
    int length_prefix;          /* frame messages by a 4-byte length instead */
    int eof_is_hangup;          /* take EOF before the end for a hang-up: no reply */
};

/* What the client does once its message is sent. */
enum finish { FINISH_SHUTDOWN, FINISH_CLOSE, FINISH_NOTHING };

struct client_settings {
    const char *host;
    int port;
    const unsigned char *payload;
    size_t payload_length;
    const unsigned char *marker;
    size_t marker_length;
    size_t recv_size;           /* the most one recv() may return */
    size_t max_reply;           /* a longer reply is refused */
    int length_prefix;
    enum finish finish;
    double timeout;             /* seconds for the whole reply; 0: as long as it takes */
};

static inline size_t smaller(size_t a, size_t b)
{
    return a < b ? a : b;
}

/* ---- server.c --------------------------------------------------------------- */

/* Listens, prints the ready line, serves clients one after another. */
int run_server(const struct server_settings *settings);

/* Serves COUNT clients on LISTENER, one after another (0: forever); exits
 * when accept() fails in a way retrying can't mend. */
void serve(int listener, int count, const struct server_settings *settings);

/* A message as the server receives it: every byte so far, in a buffer that
 * grows as bytes arrive (never to what a peer merely announces). */
struct message {
    unsigned char *data;
    size_t capacity;
    size_t received;
};

/* Makes room for at least WANTED bytes in MESSAGE, never more than CAP:
 * 0, or -1 (out of memory, narrated). */
int make_room(struct message *message, size_t wanted, size_t cap);

/* One recv() of at most WANTED bytes onto the end of MESSAGE, retried on
 * EINTR: what recv returned. A failure is narrated; 0 (EOF) is left to the
 * caller, who knows what an EOF means at this point. */
ssize_t receive_some(int fd, struct message *message, size_t wanted);

/* The payload twice, as two send()s: 0, or -1 with errno set. */
int send_payload_twice(int fd, const unsigned char *payload, size_t length);

/* Says how a reply went, from what its sending returned (SENT: 0, or -1 when
 * the client is gone), and returns SENT. */
int reply_outcome(int sent);

/* Ends the server's side of a connection whose client may still be sending:
 * shutdown(SHUT_WR), then reads on (and counts) what the client sends, until
 * its EOF or 2 seconds, so that close() does not reset a reply still on its
 * way. WHAT names those bytes; ALREADY of them were read before. The caller
 * closes. */
void shut_down_and_drain(int fd, size_t already, const char *what);

/* Waits until FD is readable, or DEADLINE (sl_now() seconds; 0: none)
 * passes: 1 readable (data, EOF or an error for recv to collect), 0 timed
 * out, -1 with errno set. */
int wait_readable(int fd, double deadline);

/* ---- client.c --------------------------------------------------------------- */

/* Connects, runs the exchange of SETTINGS, prints the reply: an exit status. */
int run_client(const struct client_settings *settings);

/* The exchange of the recipe, on the connected socket FD: sends the payload,
 * then the marker; ends as SETTINGS->finish says (shutdown(SHUT_WR): done
 * sending, still reading; close(): gone; or nothing); then, unless it closed,
 * copies the reply to stdout as it arrives, until the server's EOF, which is
 * the only end a reply to a marked message has. SETTINGS->timeout bounds the
 * wait for the whole reply, SETTINGS->max_reply its size.
 * Returns the reply's length; exits EXIT_NO_REPLY when the timeout passes,
 * 1 on any other failure. FD is left open, unless FINISH_CLOSE closed it. */
size_t marker_exchange(int fd, const struct client_settings *settings);

/* One recv() of at most WANTED bytes into BUFFER, waiting until DEADLINE
 * (sl_now() seconds; 0: forever): the byte count, 0 at EOF. Exits
 * EXIT_NO_REPLY when DEADLINE passes (TIMEOUT, GOT: for the message), 1 on
 * an error. */
size_t receive_reply(int fd, unsigned char *buffer, size_t wanted, double deadline,
                     double timeout, size_t got);

/* Writes reply bytes to stdout, as they arrive; exits 1 if stdout fails. */
void print_reply(const unsigned char *bytes, size_t length);

/* Ends the reply's line with a newline if it did not end with one (with
 * ONLY_ON_TERMINAL, only when stdout is a terminal), and flushes stdout. */
void end_reply_line(int only_on_terminal);

/* ---- length_prefix.c -------------------------------------------------------- */

/* The server's side with --length-prefix: reads one framed message after
 * another from CLIENT and answers each with a framed reply, until the
 * client's EOF where the next length would start. The caller closes. */
void serve_frames(int client, const struct server_settings *settings);

/* The client's side with --length-prefix, on the connected socket FD: sends
 * the length and the payload, then (unless FINISH_CLOSE) reads the framed
 * reply to stdout. A reply announcing more than SETTINGS->max_reply is
 * refused from its header. Returns the reply's length; exits as
 * marker_exchange does. */
size_t framed_exchange(int fd, const struct client_settings *settings);

/* ---- fork.c ----------------------------------------------------------------- */

/* Three scenes, each with a connection of its own that a forked child also
 * holds, and its other end (the peer): close() in one holder; shutdown(SHUT_WR);
 * shutdown(SHUT_RDWR) while the child waits in recv(). */
void shared_close(void);
void shared_shutdown_write(void);
void shared_shutdown_both(void);

/* ---- demo.c ----------------------------------------------------------------- */

/* SCENARIO: "recipe", "close", "fork" or "all". An exit status. */
int run_demo(const char *scenario, const struct server_settings *server);

#endif
