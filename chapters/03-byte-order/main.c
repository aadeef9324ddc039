/* main.c: chapter 3's command line: its roles, its options, main().
 *
 * Harness, not lesson: this file turns the command line into the settings
 * structs of byteorder.h and calls the role. The lesson is in show.c,
 * server.c, text_server.c, client.c and wire.c.
 *
 * Usage: 03-byte-order show|server|client|demo [OPTIONS]; 03-byte-order --help
 * See also: common/cli.h (how the tables are read), README.md (the lesson).
 */
#include "byteorder.h"

#include "classroom.h"
#include "cli.h"
#include "narrate.h"
#include "wiretap.h"

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

static struct {
    const char *bind_address;
    const char *host;
    int port;
    int once;
    int text;
    int hexdump;
    int wrong_order;
    int wrong_order_numbers;
    int unchecked;
    int stop_after;
    double timeout;
} opt = { "127.0.0.1", "localhost", 9003, 0, 0, 0, 0, 0, 0, -1, 0 };

static const struct sl_option options[] = {
    { "--bind", SL_TEXT, &opt.bind_address, 0, 0, "server", "ADDR",
      "address to listen on: 127.0.0.1, ::1, 0.0.0.0 or ::" },
    { "--port", SL_INT, &opt.port, 0, 65535, "server client", "N",
      "TCP port (server: 0 picks a free one)" },
    { "--once", SL_FLAG, &opt.once, 0, 0, "server", NULL, "serve one client, then exit" },
    { "--text", SL_FLAG, &opt.text, 0, 0, "server client", NULL,
      "decimal lines instead of binary (both sides must agree)" },
    { "--host", SL_TEXT, &opt.host, 0, 0, "client", "H", "server name or address" },
    { "--hexdump", SL_FLAG, &opt.hexdump, 0, 0, "client", NULL,
      "print every byte sent (>) and received (<), field by field" },
    { "--wrong-order", SL_FLAG, &opt.wrong_order, 0, 0, "client", NULL,
      "the mistake: send the count and the numbers in host order (no htonl)" },
    { "--wrong-order-numbers", SL_FLAG, &opt.wrong_order_numbers, 0, 0, "client", NULL,
      "the same mistake for the numbers only: the count is right" },
    { "--unchecked", SL_FLAG, &opt.unchecked, 0, 0, "client", NULL,
      "with --text: send the lines as given, to see the server's checks" },
    { "--stop-after", SL_INT, &opt.stop_after, -1, 1000000000, "client", "N",
      "send only the first N bytes of the request, then shutdown(SHUT_WR); -1: all" },
    { "--timeout", SL_SECONDS, &opt.timeout, 0, 86400, "client", "SEC",
      "give up (exit 4) when a recv or send waits SEC seconds; 0 waits forever" },
    { NULL, SL_FLAG, NULL, 0, 0, NULL, NULL, NULL }
};

static const struct sl_role roles[] = {
    { "show", "[INTEGER...]", INT_MAX, "Byte order here, and integers' bytes (at most 64)." },
    { "server", NULL, 0, "The sum server: one request per connection." },
    { "client", "[NUMBER...]", INT_MAX, "Sends the numbers (or stdin's lines), prints the sum." },
    { "demo", NULL, 0, "Text and binary side by side, then the mistake." },
    WIRE_ROLE,
    { NULL, NULL, 0, NULL }
};

static const struct sl_program program = {
    "03-byte-order", "binary data and byte order: a sum service in text and in binary",
    roles, options,
    "  3 (client) the server answered with an error reply\n"
    "  4 (client) no answer within --timeout (without it, the client waits forever)\n"
    "\n"
    "binary wire format (every integer big-endian, signed ones two's complement):\n"
    "  request  count (4 bytes, unsigned), then count numbers (8 bytes each, signed)\n"
    "  reply    status 0, then the sum (8 bytes, signed): 9 bytes\n"
    "           or status 1..3, then a length byte L, then L bytes of text: an error\n"
    "           1 count over 10000, 2 the sum leaves the signed 64-bit range,\n"
    "           3 the request stopped short\n"
    "text wire format (--text):\n"
    "  request  one decimal number a line (at most 64 characters), then an empty line\n"
    "  reply    the sum as a decimal line, or a line that starts with \"error: \"\n"
    "the server takes one request per connection, at most 10000 numbers, and\n"
    "reports an overflow at the first number that takes the running sum out of range.\n"
};

static int client_role(int argc, char **argv)
{
    if (opt.unchecked && !opt.text)
        sl_usage_error("--unchecked needs --text (binary numbers are checked to be encoded)");
    if (opt.wrong_order && opt.wrong_order_numbers)
        sl_usage_error("--wrong-order already includes --wrong-order-numbers: pick one");
    if ((opt.wrong_order || opt.wrong_order_numbers) && opt.text)
        sl_usage_error("--wrong-order is about binary integers: it does not go with --text");
    struct numbers in = argc > 0 ? numbers_from_arguments(argc, argv, opt.unchecked)
                                 : numbers_from_stdin(opt.unchecked);
    struct client_settings settings = {
        opt.host, opt.port,
        { opt.text, opt.wrong_order, opt.wrong_order || opt.wrong_order_numbers },
        opt.hexdump, opt.stop_after, opt.timeout
    };
    int status = run_client(&settings, &in);
    free_numbers(&in, argc == 0);
    return status;
}

int main(int argc, char **argv)
{
    struct sl_args args = sl_parse_command_line(&program, argc, argv);

    /* A client that vanishes before its reply should cost an EPIPE, not our life. */
    signal(SIGPIPE, SIG_IGN);

    if (strcmp(args.role, "show") == 0)
        return run_show(args.argc, args.argv);
    if (strcmp(args.role, "server") == 0) {
        struct server_settings settings = { opt.bind_address, opt.port, opt.once, opt.text };
        return run_server(&settings);
    }
    if (strcmp(args.role, "client") == 0)
        return client_role(args.argc, args.argv);
    if (strcmp(args.role, "wire") == 0)
        return wire_run(args.argc, args.argv);
    classroom_begin();
    return run_demo();
}
