/* main.c: chapter 1's command line: its roles, its options, main().
 *
 * Harness, not lesson: this file turns the command line into the settings
 * structs of blocking.h and calls the role. The lesson is in sockets.c,
 * server.c and client.c.
 *
 * Usage: 01-blocking server|client|demo [OPTIONS]; 01-blocking --help
 * See also: common/cli.h (how the tables are read), README.md (the lesson).
 */
#include "blocking.h"

#include "classroom.h"
#include "cli.h"
#include "wiretap.h"

#include <signal.h>
#include <string.h>

static struct {
    const char *bind_address;
    const char *host;
    int port;
    int backlog;
    int once;
    int no_reuseaddr;
    struct sl_list messages;
    double timeout;
} opt = { "127.0.0.1", "localhost", 9001, 8, 0, 0, { { NULL }, 0 }, 0 };

static const struct sl_option options[] = {
    { "--bind", SL_TEXT, &opt.bind_address, 0, 0, "server", "ADDR",
      "address to listen on: 127.0.0.1, ::1, 0.0.0.0 or ::" },
    { "--port", SL_INT, &opt.port, 0, 65535, "server client", "N",
      "TCP port (server: 0 picks a free one)" },
    { "--once", SL_FLAG, &opt.once, 0, 0, "server", NULL, "serve one client, then exit" },
    { "--backlog", SL_INT, &opt.backlog, 1, 4096, "server demo", "N",
      "connections the kernel may queue before accept" },
    { "--no-reuseaddr", SL_FLAG, &opt.no_reuseaddr, 0, 0, "server", NULL,
      "skip SO_REUSEADDR, to see a restart fail with EADDRINUSE" },
    { "--host", SL_TEXT, &opt.host, 0, 0, "client", "H", "server name or address" },
    { "--message", SL_LIST, &opt.messages, 0, 0, "client", "TEXT",
      "send TEXT as a line instead of reading stdin" },
    { "--timeout", SL_SECONDS, &opt.timeout, 0, 3600, "client", "SEC",
      "give up (exit 3) when an echo takes longer than SEC; 0 waits as long as it takes" },
    { NULL, SL_FLAG, NULL, 0, 0, NULL, NULL, NULL }
};

static const struct sl_role roles[] = {
    { "server", NULL, 0,
      "An iterative echo server: accepts one client, echoes until it leaves, then the next." },
    { "client", NULL, 0,
      "Sends each line of stdin (or each --message) and prints each echo on stdout." },
    { "demo", NULL, 0, "Server and two clients on a free port: the second waits in the backlog." },
    WIRE_ROLE,
    { NULL, NULL, 0, NULL }
};

static const struct sl_program program = {
    "01-blocking", "blocking sockets: an echo server that serves one client at a time",
    roles, options,
    "       3 (client) no answer within --timeout\n"
};

int main(int argc, char **argv)
{
    struct sl_args args = sl_parse_command_line(&program, argc, argv);

    /* A peer that vanishes mid-send should cost an EPIPE error, not our life. */
    signal(SIGPIPE, SIG_IGN);

    if (strcmp(args.role, "server") == 0) {
        struct server_settings settings = { opt.bind_address, opt.port, opt.backlog, opt.once,
                                            !opt.no_reuseaddr };
        return run_server(&settings);
    }
    if (strcmp(args.role, "client") == 0) {
        struct client_settings settings = { opt.host, opt.port, opt.messages.items,
                                            opt.messages.count, opt.timeout };
        return run_client(&settings);
    }
    if (strcmp(args.role, "wire") == 0)
        return wire_run(args.argc, args.argv);
    classroom_begin();
    return run_demo(opt.backlog);
}
