/* main.c: chapter 6's command line: its roles, its options, main().
 *
 * Harness, not lesson: this file turns the command line into the settings
 * structs of nonblocking.h and clients.h, refuses the combinations that make
 * no sense, and calls the role. The lesson is in server.c, clients.c,
 * handlers.c, chat.c, connect.c, client.c and stream.c.
 *
 * Usage: 06-select server|client|demo [OPTIONS]; 06-select --help
 * See also: common/cli.h (how the tables are read), README.md (the lesson).
 */
#include "nonblocking.h"

#include "client_options.h"
#include "classroom.h"
#include "cli.h"
#include "narrate.h"
#include "wiretap.h"

#include <signal.h>
#include <string.h>

static struct {
    const char *bind_address;
    const char *host;
    int port;
    int backlog;
    int once;
    int chat;
    long long max_pending;
    double idle;
    long long bytes;
    int blocking;
    double stall;
    double timeout;
    double connect_timeout;
    struct sl_list messages;
} opt = { "127.0.0.1", "localhost", 9006, 128, 0, 0, 64 * 1024, 0, -1, 0, 2, 0, 5,
          { { NULL }, 0 } };

static const struct sl_option options[] = {
    { "--bind", SL_TEXT, &opt.bind_address, 0, 0, "server", "ADDR",
      "address to listen on: 127.0.0.1, ::1, 0.0.0.0 or ::" },
    { "--port", SL_INT, &opt.port, 0, 65535, "server client", "N",
      "TCP port (server: 0 picks a free one)" },
    { "--once", SL_FLAG, &opt.once, 0, 0, "server", NULL,
      "take one connection, then stop listening and exit once it is gone" },
    { "--chat", SL_FLAG, &opt.chat, 0, 0, "server", NULL,
      "send each line from one client to all the others, instead of echoing" },
    { "--max-pending", SL_SIZE, &opt.max_pending, 2048, 64.0 * 1024 * 1024, "server", "BYTES",
      "output buffered per client before the server stops reading it" },
    { "--idle", SL_SECONDS, &opt.idle, 0, 86400, "server", "SEC",
      "drop a client silent for SEC seconds; 0: never" },
    { "--backlog", SL_INT, &opt.backlog, 1, 4096, "server", "N",
      "connections the kernel may queue before accept" },
    { "--host", SL_TEXT, &opt.host, 0, 0, "client", "H", "server name or address" },
    { "--message", SL_LIST, &opt.messages, 0, 0, "client", "TEXT",
      "send TEXT as a line instead of reading stdin (at most 65535 bytes)" },
    { "--timeout", SL_SECONDS, &opt.timeout, 0, 86400, "client", "SEC",
      "lines: give up (exit 3) when the server takes nothing for SEC seconds, or has not "
      "finished SEC seconds after the input ended; 0: wait as long as it takes" },
    { "--bytes", SL_SIZE, &opt.bytes, 0, 64.0 * 1024 * 1024 * 1024, "client", "N",
      "stream N bytes of a known pattern and check every byte of the echo" },
    { "--blocking", SL_FLAG, &opt.blocking, 0, 0, "client", NULL,
      "with --bytes: send everything, then read (the naive way, which deadlocks)" },
    { "--stall", SL_SECONDS, &opt.stall, 0.01, 3600, "client", "SEC",
      "with --bytes: give up after SEC seconds without progress (exit 3)" },
    { "--connect-timeout", SL_SECONDS, &opt.connect_timeout, 0.01, 3600, "client", "SEC",
      "how long to wait for each address's handshake" },
    { NULL, SL_FLAG, NULL, 0, 0, NULL, NULL, NULL }
};

/* Role lines fit --help's 80 columns unwrapped (at most 53 characters). */
static const struct sl_role roles[] = {
    { "server", NULL, 0, "echo (or --chat) for every client at once: select()" },
    { "client", NULL, 0, "connects without blocking, then reads as it sends" },
    { "demo", "[SCENE]", 1, "two-clients, deadlock (and its cure), or both" },
    WIRE_ROLE,
    { NULL, NULL, 0, NULL }
};

static const struct sl_program program = {
    "06-select", "non-blocking sockets and select(): one thread serving many clients",
    roles, options,
    "  3  (client --bytes) no progress for --stall seconds: the transfer is stuck;\n"
    "     (client, lines) the server kept it waiting --timeout seconds\n"
    "  4  (client --bytes) the echo differed from what was sent\n"
    "\nexamples:\n"
    "  06-select server --chat            then, in a few terminals: nc localhost 9006\n"
    "  06-select client --bytes 64M --blocking --stall 1     stalls (exit 3)\n"
    "  06-select client --bytes 64M                          completes and verifies\n"
};

int main(int argc, char **argv)
{
    struct sl_args args = sl_parse_command_line(&program, argc, argv);

    /* A client that vanishes mid-send should cost an EPIPE error, not our life. */
    signal(SIGPIPE, SIG_IGN);

    if (strcmp(args.role, "server") == 0) {
        struct server_settings settings = { opt.bind_address, opt.port, opt.backlog, opt.once,
                                            opt.chat, opt.max_pending, opt.idle };
        return run_server(&settings);
    }
    if (strcmp(args.role, "client") == 0) {
        struct client_settings settings = { opt.host, opt.port, opt.messages.items,
                                            opt.messages.count, opt.bytes, opt.blocking,
                                            opt.stall, opt.timeout, opt.connect_timeout };
        check_client_options(&settings, options, argc, argv);
        return run_client(&settings);
    }
    if (strcmp(args.role, "wire") == 0)
        return wire_run(args.argc, args.argv);
    classroom_begin();
    if (!option_given(options, argc, argv, "--width"))
        sl_set_width(80);   /* a projector's width, unless asked otherwise */
    return run_demo(option_given(options, argc, argv, "--quiet"), args.argc > 0 ? args.argv[0] : NULL);
}
