/* main.c: chapter 4's command line: its roles, its options, main().
 *
 * Harness, not lesson: this file turns the command line (and, for a client
 * with no PAYLOAD, stdin) into the settings structs of shutdown.h and calls
 * the role. The lesson is in server.c, client.c, length_prefix.c, fork.c
 * and framing.c.
 *
 * Usage: 04-shutdown server|client|demo [OPTIONS]; 04-shutdown --help
 * See also: common/cli.h (how the tables are read), README.md (the lesson).
 */
#include "shutdown.h"

#include "classroom.h"
#include "cli.h"
#include "narrate.h"
#include "wiretap.h"

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The recipe's server marker, on both sides: see "Which marker" in README.md. */
static const char default_marker[] = "SERVER WRONG MARKER";
#define MAX_MARKER_LENGTH 1024
/* The client reads its payload from stdin into memory: this much at most. */
#define MAX_STDIN_PAYLOAD (256LL * 1024 * 1024)

static struct {
    const char *bind_address;
    const char *host;
    int port;
    int once;
    const char *marker;
    long long recv_size;
    long long max_payload;
    long long max_reply;
    int length_prefix;
    int eof_is_hangup;
    int close_at_once;
    int no_shutdown;
    double timeout;
} opt = { "127.0.0.1", "localhost", 9004, 0, default_marker, 8192, 16LL * 1024 * 1024,
          32LL * 1024 * 1024, 0, 0, 0, 0, 0.0 };

static const struct sl_option options[] = {
    { "--bind", SL_TEXT, &opt.bind_address, 0, 0, "server", "ADDR",
      "address to listen on: 127.0.0.1, ::1, 0.0.0.0 or ::" },
    { "--port", SL_INT, &opt.port, 0, 65535, "server client", "N",
      "TCP port (server: 0 picks a free one)" },
    { "--once", SL_FLAG, &opt.once, 0, 0, "server", NULL, "serve one client, then exit" },
    { "--host", SL_TEXT, &opt.host, 0, 0, "client", "H", "server name or address" },
    { "--marker", SL_TEXT, &opt.marker, 0, 0, "server client", "STR",
      "the end marker, 1 to 1024 bytes" },
    { "--recv-size", SL_SIZE, &opt.recv_size, 1, 1024 * 1024, "server client", "N",
      "ask each recv() for at most N bytes" },
    { "--length-prefix", SL_FLAG, &opt.length_prefix, 0, 0, "server client", NULL,
      "frame by a 32-bit big-endian length instead of a marker (both sides)" },
    { "--max-payload", SL_SIZE, &opt.max_payload, 0, 1024LL * 1024 * 1024, "server", "N",
      "longest payload accepted; longer gets 'ERROR:too big!'" },
    { "--max-reply", SL_SIZE, &opt.max_reply, 0, 4LL * 1024 * 1024 * 1024, "client", "N",
      "longest reply accepted; longer is refused (with --length-prefix, from its header)" },
    { "--eof-is-hangup", SL_FLAG, &opt.eof_is_hangup, 0, 0, "server", NULL,
      "take EOF before the end for a hang-up: close without replying" },
    { "--close", SL_FLAG, &opt.close_at_once, 0, 0, "client", NULL,
      "close() right after sending, instead of shutdown(SHUT_WR)" },
    { "--no-shutdown", SL_FLAG, &opt.no_shutdown, 0, 0, "client", NULL,
      "wait for the reply without shutdown(SHUT_WR)" },
    { "--timeout", SL_SECONDS, &opt.timeout, 0, 3600, "client", "SEC",
      "give up (exit 3) when the whole reply has not come SEC seconds after the message "
      "was sent; 0: wait as long as it takes" },
    { NULL, SL_FLAG, NULL, 0, 0, NULL, NULL, NULL }
};

static const struct sl_role roles[] = {
    { "server", NULL, 0,
      "Reads to the marker or EOF, replies, shuts down." },
    { "client", "[PAYLOAD]", 1,
      "Sends, shuts down its sending side, prints the reply." },
    { "demo", "[recipe|close|fork]", 1,
      "recipe, close or fork (below); all three by default." },
    WIRE_ROLE,
    { NULL, NULL, 0, NULL }
};

static const struct sl_program program = {
    "04-shutdown", "shutdown() vs close(), and how the end of a message is found",
    roles, options,
    "             3 the client got no (whole) reply within --timeout\n"
    "\nThe server replies the payload twice; 'ERROR:no end!' when EOF came before the\n"
    "marker; 'ERROR:too big!' past --max-payload. With --length-prefix, each message\n"
    "and each reply is a 4-byte big-endian length, then that many bytes, and one\n"
    "connection may carry several. A client with no PAYLOAD sends its stdin (256 MiB\n"
    "at most).\n"
    "\ndemo scenarios:\n"
    "  recipe   the recipe's two runs: markers that match, markers that don't\n"
    "  close    a client that close()s after sending, then one that shuts down\n"
    "  fork     a socket shared with a forked child: close(), shutdown(SHUT_WR) and\n"
    "           shutdown(SHUT_RDWR) in one process, and what the peer sees each time\n"
};

static void check_options(const char *role)
{
    size_t length = strlen(opt.marker);
    /* --marker makes opt.marker point into argv instead of at our default. */
    if (opt.length_prefix && opt.marker != default_marker)
        sl_usage_error("--marker and --length-prefix: a length-prefixed message has no marker");
    if (length == 0)
        sl_usage_error("--marker: the marker can't be empty");
    if (length > MAX_MARKER_LENGTH)
        sl_usage_error("--marker: at most %d bytes", MAX_MARKER_LENGTH);
    if (strcmp(role, "client") != 0)
        return;
    if (opt.close_at_once && opt.no_shutdown)
        sl_usage_error("--close and --no-shutdown: choose one");
    if (opt.length_prefix && opt.no_shutdown)
        sl_usage_error("--length-prefix never shuts down anyway: drop --no-shutdown");
}

/* The whole of stdin, as the payload: MAX_STDIN_PAYLOAD bytes at most. */
static unsigned char *read_stdin(size_t *length)
{
    size_t capacity = 64 * 1024, used = 0;
    unsigned char *data = malloc(capacity);
    if (data == NULL)
        sl_fail_errno("malloc");
    for (;;) {
        if (used == capacity && capacity >= (size_t)MAX_STDIN_PAYLOAD) {
            /* Full at the limit: only one more byte makes it too much. */
            if (getchar() == EOF)
                break;
            sl_fail("stdin: the payload is over %lld bytes", MAX_STDIN_PAYLOAD);
        }
        if (used == capacity) {
            unsigned char *bigger = realloc(data, capacity * 2);
            if (bigger == NULL)
                sl_fail_errno("realloc");
            data = bigger;
            capacity *= 2;
        }
        size_t n = fread(data + used, 1, capacity - used, stdin);
        used += n;
        if (n == 0)
            break;
    }
    if (ferror(stdin))
        sl_fail_errno("reading stdin");
    *length = used;
    return data;
}

static int client_role(const struct sl_args *args)
{
    struct client_settings c = {
        opt.host, opt.port, NULL, 0, (const unsigned char *)opt.marker, strlen(opt.marker),
        (size_t)opt.recv_size, (size_t)opt.max_reply, opt.length_prefix,
        opt.close_at_once ? FINISH_CLOSE : opt.no_shutdown ? FINISH_NOTHING : FINISH_SHUTDOWN,
        opt.timeout
    };
    unsigned char *from_stdin = NULL;
    if (args->argc == 1) {
        c.payload = (const unsigned char *)args->argv[0];
        c.payload_length = strlen(args->argv[0]);
    } else {
        c.payload = from_stdin = read_stdin(&c.payload_length);
    }
    if (c.length_prefix && c.payload_length > UINT32_MAX)
        sl_fail("the payload is too long for a 32-bit length");
    int status = run_client(&c);
    free(from_stdin);
    return status;
}

int main(int argc, char **argv)
{
    struct sl_args args = sl_parse_command_line(&program, argc, argv);
    check_options(args.role);

    /* A peer that is gone should cost a send() an EPIPE error, not our life:
     * this chapter shows those errors, so it must live to narrate them. */
    signal(SIGPIPE, SIG_IGN);

    struct server_settings server = {
        opt.bind_address, opt.port, opt.once, (const unsigned char *)opt.marker,
        strlen(opt.marker), (size_t)opt.recv_size, (size_t)opt.max_payload, opt.length_prefix,
        opt.eof_is_hangup
    };
    if (strcmp(args.role, "server") == 0)
        return run_server(&server);
    if (strcmp(args.role, "client") == 0)
        return client_role(&args);
    if (strcmp(args.role, "wire") == 0)
        return wire_run(args.argc, args.argv);

    const char *scenario = args.argc == 1 ? args.argv[0] : "all";
    if (strcmp(scenario, "all") != 0 && strcmp(scenario, "recipe") != 0 &&
        strcmp(scenario, "close") != 0 && strcmp(scenario, "fork") != 0)
        sl_usage_error("unknown scenario '%s' (one of: recipe, close, fork)", scenario);
    classroom_begin();
    return run_demo(scenario, &server);
}
