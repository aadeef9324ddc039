/* main.c: chapter 2's command line: its roles, its options, main().
 *
 * Harness, not lesson: this file turns the command line into the settings
 * structs of fixed_length.h, refuses combinations that make no sense, and
 * calls the role. The lesson is in message.c, server.c, client.c and nagle.c.
 *
 * Usage: 02-fixed-length server|client|demo [OPTIONS]; 02-fixed-length --help
 * See also: common/cli.h (how the tables are read), README.md (the lesson).
 */
#include "fixed_length.h"

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
    int once;
    long long msglen;
    long long chunk;
    int pause_ms;
    long long recv_size;
    long long break_after;
    int nodelay;
    double timeout;
    struct sl_list messages;
} opt = { "127.0.0.1", "localhost", 9002, 0, 32, MAX_MSGLEN, 0, 4096, -1, 0, 0,
          { { NULL }, 0 } };

static const struct sl_option options[] = {
    { "--bind", SL_TEXT, &opt.bind_address, 0, 0, "server", "ADDR",
      "address to listen on: 127.0.0.1, ::1, 0.0.0.0 or ::" },
    { "--port", SL_INT, &opt.port, 0, 65535, "server client", "N",
      "TCP port (server: 0 picks a free one)" },
    { "--once", SL_FLAG, &opt.once, 0, 0, "server", NULL, "serve one client, then exit" },
    { "--host", SL_TEXT, &opt.host, 0, 0, "client", "H", "server name or address" },
    { "--message", SL_LIST, &opt.messages, 0, 0, "client", "TEXT",
      "send TEXT as one message instead of reading lines of stdin" },
    { "--timeout", SL_SECONDS, &opt.timeout, 0, 86400, "client", "SEC",
      "give up (exit 3) when one send() or recv() waits SEC seconds; 0: wait forever" },
    { "--msglen", SL_SIZE, &opt.msglen, 1, MAX_MSGLEN, "server client", "N",
      "bytes in every message, 1 to 1M; both sides must agree" },
    { "--chunk", SL_SIZE, &opt.chunk, 1, MAX_MSGLEN, "server client", "N",
      "send() each message in pieces of at most N bytes" },
    { "--pause", SL_INT, &opt.pause_ms, 0, 10000, "server client", "MS",
      "with --chunk: wait MS milliseconds between pieces" },
    { "--nodelay", SL_FLAG, &opt.nodelay, 0, 0, "server client", NULL,
      "set TCP_NODELAY: send small pieces at once (no Nagle's algorithm)" },
    { "--recv-size", SL_SIZE, &opt.recv_size, 1, MAX_MSGLEN, "server client", "N",
      "ask each recv() for at most N bytes; the client never asks past its reply" },
    { "--break-after", SL_SIZE, &opt.break_after, -1, MAX_MSGLEN - 1, "server client", "K",
      "send only K bytes of the first message (server: of each client's first reply), "
      "then close; -1: never" },
    { NULL, SL_FLAG, NULL, 0, 0, NULL, NULL, NULL }
};

static const struct sl_role roles[] = {
    { "server", NULL, 0,
      "Echoes every --msglen-byte message back unchanged, one client at a time." },
    { "client", NULL, 0,
      "Sends each line of stdin (or --message), padded to --msglen; prints the reply." },
    { "demo", NULL, 0,
      "Server and client on a free port: two messages in one recv(), one in pieces." },
    WIRE_ROLE,
    { NULL, NULL, 0, NULL }
};

static const struct sl_program program = {
    "02-fixed-length",
    "fixed-length messages: loop until every byte has moved",
    roles, options,
    "             3 (client) --timeout: a send() or recv() waited SEC s in vain\n"
    "Without --timeout the client waits for each reply as long as the server takes.\n"
    "A message longer than --msglen is refused (exit 2) before any of it is sent.\n"
    "A peer that closes part-way through a message: 'connection broken after K of\n"
    "N bytes' (the client exits 1; the server drops that client, serves the next).\n"
    "\nexamples: bin/02-fixed-length server --recv-size 1\n"
    "          bin/02-fixed-length client --chunk 4 --pause 100 --message hello\n"
};

/* What the table's ranges can't say: options that only make sense together. */
static void refuse_contradictions(void)
{
    if (opt.pause_ms > 0 && opt.chunk >= opt.msglen)
        sl_usage_error("--pause needs --chunk smaller than --msglen (it is the wait between "
                       "pieces)");
    if (opt.break_after >= opt.msglen)
        sl_usage_error("--break-after %lld: must be less than --msglen (%lld)", opt.break_after,
                       opt.msglen);
    /* Every --message is checked before connecting: nothing goes out if one is too long. */
    for (int i = 0; i < opt.messages.count; i++) {
        size_t length = strlen(opt.messages.items[i]);
        if (length > (size_t)opt.msglen)
            sl_usage_error("--message %d is %s, longer than --msglen (%s)", i + 1,
                           sl_plural((long long)length, "byte"), sl_plural(opt.msglen, "byte"));
    }
}

int main(int argc, char **argv)
{
    struct sl_args args = sl_parse_command_line(&program, argc, argv);
    refuse_contradictions();

    /* A peer that vanishes mid-send should cost an EPIPE error, not our life. */
    signal(SIGPIPE, SIG_IGN);

    struct message_settings how = { (size_t)opt.msglen, (size_t)opt.chunk, opt.pause_ms,
                                    (size_t)opt.recv_size };
    if (strcmp(args.role, "server") == 0) {
        struct server_settings settings = { opt.bind_address, opt.port, opt.once, how,
                                            opt.break_after, opt.nodelay };
        return run_server(&settings);
    }
    if (strcmp(args.role, "client") == 0) {
        struct client_settings settings = { opt.host, opt.port, how, opt.messages.items,
                                            opt.messages.count, opt.break_after, opt.nodelay,
                                            opt.timeout };
        return run_client(&settings);
    }
    if (strcmp(args.role, "wire") == 0)
        return wire_run(args.argc, args.argv);
    classroom_begin();
    return run_demo();
}
