/* main.c: chapter 7's command line: its roles, its options, main().
 *
 * Harness, not lesson: this file turns the command line into the settings
 * structs of poll_epoll.h and chapter 6's headers, and calls the role. The
 * lesson is in poll_loop.c, epoll_loop.c, limits.c, server.c and crowd.c.
 *
 * Usage: 07-poll-epoll server|client|demo [OPTIONS]; 07-poll-epoll --help
 * See also: common/cli.h (how the tables are read), README.md (the lesson).
 */
#include "poll_epoll.h"

#include "../06-select/client_options.h"
#include "classroom.h"
#include "cli.h"
#include "narrate.h"
#include "wiretap.h"

#include <signal.h>
#include <string.h>

static struct {
    const char *bind_address, *host, *loop;
    int port, backlog, once, chat, edge, edge_bug;
    long long max_pending;
    double idle;
    long long bytes;
    int blocking;
    double stall, timeout, connect_timeout;
    struct sl_list messages;
    int connections, rounds, size;
} opt = { "127.0.0.1", "localhost", "epoll", 9007, 4096, 0, 0, 0, 0, 64 * 1024, 0, -1, 0, 2,
          0, 5, { { NULL }, 0 }, 0, 1000, 32 };

static const struct sl_option options[] = {
    { "--bind", SL_TEXT, &opt.bind_address, 0, 0, "server", "ADDR",
      "address to listen on: 127.0.0.1, ::1, 0.0.0.0 or ::" },
    { "--port", SL_INT, &opt.port, 0, 65535, "server client", "N",
      "TCP port (server: 0 picks a free one)" },
    { "--loop", SL_TEXT, &opt.loop, 0, 0, "server", "MODE",
      "how the server waits: select, poll or epoll (Linux)" },
    { "--edge", SL_FLAG, &opt.edge, 0, 0, "server", NULL,
      "with --loop epoll: edge-triggered (EPOLLET), reading until EAGAIN" },
    { "--edge-bug", SL_FLAG, &opt.edge_bug, 0, 0, "server", NULL,
      "with --loop epoll: edge-triggered, reading once per event (the bug: it stalls)" },
    { "--once", SL_FLAG, &opt.once, 0, 0, "server", NULL,
      "take one connection, then stop listening and exit once it is gone" },
    { "--chat", SL_FLAG, &opt.chat, 0, 0, "server", NULL,
      "send each line from one client to all the others, instead of echoing" },
    { "--max-pending", SL_SIZE, &opt.max_pending, 2048, 64.0 * 1024 * 1024, "server", "BYTES",
      "output buffered per client before the server stops reading it" },
    { "--idle", SL_SECONDS, &opt.idle, 0, 86400, "server", "SEC",
      "drop a client silent for SEC seconds; 0: never" },
    { "--backlog", SL_INT, &opt.backlog, 1, 65535, "server", "N",
      "connections the kernel may queue before accept" },
    { "--host", SL_TEXT, &opt.host, 0, 0, "client", "H", "server name or address" },
    { "--connections", SL_INT, &opt.connections, 0, 1000000, "client demo", "N",
      "client: hold N idle connections while one more times --rounds round trips" },
    { "--rounds", SL_INT, &opt.rounds, 1, 10000000, "client", "N",
      "with --connections: round trips to time" },
    { "--size", SL_INT, &opt.size, 1, 65536, "client", "N",
      "with --connections: bytes per round trip" },
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
    { "server", NULL, 0, "chapter 6's server, waiting with poll() or epoll" },
    { "client", NULL, 0, "chapter 6's client, or idle crowds (--connections)" },
    { "demo", "[SCENE]", 1, "crowd (10,000 connections), edge (EPOLLET), or both" },
    WIRE_ROLE,
    { NULL, NULL, 0, NULL }
};

static const struct sl_program program = {
    "07-poll-epoll", "poll() and epoll: one thread, past FD_SETSIZE",
    roles, options,
    "  3  (client) no progress for --stall seconds (--bytes), the server kept it\n"
    "     waiting --timeout seconds (lines, --connections)\n"
    "  4  (client) the echo differed from what was sent\n"
    "\nexamples:\n"
    "  07-poll-epoll server --loop poll          then, from another terminal:\n"
    "  07-poll-epoll client --connections 10000  idle connections, and round trips\n"
};

static enum loop_kind loop_kind(void)
{
    if (strcmp(opt.loop, "select") == 0)
        return LOOP_SELECT;
    if (strcmp(opt.loop, "poll") == 0)
        return LOOP_POLL;
    if (strcmp(opt.loop, "epoll") != 0)
        sl_usage_error("--loop: '%s' is not select, poll or epoll", opt.loop);
#ifndef __linux__
    sl_usage_error("--loop epoll: epoll is Linux's; here kqueue(2) is the counterpart, and "
                   "this course does not build it: use --loop poll");
#endif
    return LOOP_EPOLL;
}

static int server_role(void)
{
    enum loop_kind loop = loop_kind();
    if ((opt.edge || opt.edge_bug) && loop != LOOP_EPOLL)
        sl_usage_error("--edge and --edge-bug are for --loop epoll");
    if (opt.edge && opt.edge_bug)
        sl_usage_error("--edge and --edge-bug: give one of them");
    struct server_settings settings = { opt.bind_address, opt.port, opt.backlog, opt.once,
                                        opt.chat, opt.max_pending, opt.idle };
    return run_loop_server(&settings, loop,
                           opt.edge_bug ? EDGE_BUG : opt.edge ? EDGE_TRIGGERED : LEVEL_TRIGGERED);
}

static int client_role(int argc, char **argv)
{
    struct client_settings settings = { opt.host, opt.port, opt.messages.items,
                                        opt.messages.count, opt.bytes, opt.blocking, opt.stall,
                                        opt.timeout, opt.connect_timeout };
    int crowd = option_given(options, argc, argv, "--connections");
    if (!crowd && (option_given(options, argc, argv, "--rounds") ||
                   option_given(options, argc, argv, "--size")))
        sl_usage_error("--rounds and --size go with --connections N");
    if (crowd && (opt.bytes >= 0 || opt.messages.count > 0))
        sl_usage_error("--connections is a mode of its own: no --bytes or --message");
    if (!crowd) {
        check_client_options(&settings, options, argc, argv);
        return run_client(&settings);
    }
    struct crowd_settings crowd_settings = { opt.host, opt.port, opt.connections, opt.rounds,
                                             opt.size, opt.timeout > 0 ? opt.timeout : 10 };
    return run_crowd(&crowd_settings);
}

int main(int argc, char **argv)
{
    struct sl_args args = sl_parse_command_line(&program, argc, argv);

    /* A peer that vanishes mid-send should cost an EPIPE error, not our life. */
    signal(SIGPIPE, SIG_IGN);

    if (strcmp(args.role, "server") == 0)
        return server_role();
    if (strcmp(args.role, "client") == 0)
        return client_role(argc, argv);
    if (strcmp(args.role, "wire") == 0)
        return wire_run(args.argc, args.argv);
    classroom_begin();
    if (!option_given(options, argc, argv, "--width"))
        sl_set_width(80);   /* a projector's width, unless asked otherwise */
    if (!option_given(options, argc, argv, "--connections"))
        opt.connections = 10000;
    return run_loops_demo(option_given(options, argc, argv, "--quiet"), opt.connections,
                          args.argc > 0 ? args.argv[0] : NULL);
}
