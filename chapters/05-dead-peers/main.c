/* main.c: chapter 5's command line: its roles, its options, main().
 *
 * Harness, not lesson: this file turns the command line into the settings
 * structs of dead_peers.h and calls the role. The lesson is in server.c,
 * client.c, remedies.c and lines.c.
 *
 * Usage: 05-dead-peers server|client|demo [OPTIONS]; 05-dead-peers --help
 * See also: common/cli.h (how the tables are read), README.md (the lesson).
 */
#include "dead_peers.h"

#include "classroom.h"
#include "cli.h"
#include "lines.h"
#include "narrate.h"
#include "wiretap.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

static struct {
    const char *bind_address;
    const char *host;
    int port;
    int once;
    const char *behave;
    double delay;
    double idle;
    const char *message;
    double timeout;
    const char *keepalive;
    int user_timeout;
    double heartbeat;
    int probe;
    int no_sigpipe_ignore;
} opt = { "127.0.0.1", "localhost", 9005, 0, "answer", 0, 30, "hello", 0, NULL, 0, 0, 0, 0 };

static const struct sl_option options[] = {
    { "--bind", SL_TEXT, &opt.bind_address, 0, 0, "server", "ADDR",
      "address to listen on: 127.0.0.1, ::1, 0.0.0.0 or ::" },
    { "--port", SL_INT, &opt.port, 0, 65535, "server client", "N",
      "TCP port (server: 0 picks a free one)" },
    { "--once", SL_FLAG, &opt.once, 0, 0, "server", NULL, "serve one client, then exit" },
    { "--behave", SL_TEXT, &opt.behave, 0, 0, "server", "MODE",
      "after the request: answer, silent (never answer), exit (close and exit), "
      "deaf (never even read it)" },
    { "--delay", SL_SECONDS, &opt.delay, 0, 3600, "server", "SEC",
      "answer SEC seconds late (a slow peer, not a dead one); PINGs are answered meanwhile" },
    { "--idle", SL_SECONDS, &opt.idle, 0.05, 86400, "server", "SEC",
      "drop a client that sends nothing, or reads nothing, for SEC seconds" },
    { "--host", SL_TEXT, &opt.host, 0, 0, "client", "H", "server name or address" },
    { "--message", SL_TEXT, &opt.message, 0, 0, "client", "TEXT", "the request's text" },
    { "--timeout", SL_SECONDS, &opt.timeout, 0.01, 86400, "client", "SEC",
      "declare the peer dead if no answer comes within SEC seconds (poll); "
      "without it, no deadline" },
    { "--keepalive", SL_TEXT, &opt.keepalive, 0, 0, "client", "I,N,C",
      "TCP keepalive: first probe after I s idle, then every N s, dead after C unanswered" },
    { "--user-timeout", SL_INT, &opt.user_timeout, 1, 3600000, "client", "MS",
      "TCP_USER_TIMEOUT (Linux): dead when sent data stays unacknowledged MS "
      "milliseconds; without it, the kernel retries for about 15 minutes" },
    { "--heartbeat", SL_SECONDS, &opt.heartbeat, 0.05, 3600, "client", "SEC",
      "send PING after SEC s of silence; dead after 3 x SEC with nothing from the peer" },
    { "--probe", SL_FLAG, &opt.probe, 0, 0, "client", NULL,
      "after EOF or a reset, send twice more, to see what the dead peer's kernel answers" },
    { "--no-sigpipe-ignore", SL_FLAG, &opt.no_sigpipe_ignore, 0, 0, "client", NULL,
      "leave SIGPIPE at its default: a send on a reset connection kills the client" },
    { NULL, SL_FLAG, NULL, 0, 0, NULL, NULL, NULL }
};

/* Each role's line fits beside its name: tests/bad-input.bats reads the
 * roles from the first word of each line. */
static const struct sl_role roles[] = {
    { "server", NULL, 0, "Reads a request per client, acts as --behave says." },
    { "client", NULL, 0, "Sends a request, waits for the answer or a verdict." },
    { "demo", "[SCENE]", 1, "exit, crash, freeze or vanish, played out (or all)." },
    WIRE_ROLE,
    { NULL, NULL, 0, NULL }
};

static const struct sl_program program = {
    "05-dead-peers", "dead peers: EOF, a reset, or silence, and remedies for silence",
    roles, options,
    "also 3: the client declared the peer dead (how, and how long after its last\n"
    "sign of life, on stderr), which is also how an expired --timeout ends;\n"
    "4: a demo scenario cannot run on this system (it says why).\n"
    "A demo exits 0 when every client did what the lesson says, 1 when one did not.\n"
};

static enum behaviour parse_behaviour(const char *text)
{
    static const char *const names[] = { "answer", "silent", "exit", "deaf" };
    for (int i = 0; i < 4; i++) {
        if (strcmp(text, names[i]) == 0)
            return (enum behaviour)i;
    }
    sl_usage_error("--behave: '%s' is not one of answer, silent, exit, deaf", text);
}

/* IDLE,INTERVAL,COUNT: three whole numbers of seconds, 1 to 32767 each, the
 * whole text parsed however long it is. */
static void parse_keepalive(const char *text, struct remedies *r)
{
    char *copy = strdup(text);
    if (copy == NULL)
        sl_fail_errno("strdup");
    long long values[3];
    char *field = copy;
    for (int i = 0; i < 3; i++) {
        char *comma = strchr(field, ',');
        if ((comma == NULL) != (i == 2))
            sl_usage_error("--keepalive: '%s' is not IDLE,INTERVAL,COUNT (like 1,1,2)", text);
        if (comma != NULL)
            *comma = '\0';
        if (sl_parse_integer(field, 1, 32767, &values[i]) == -1)
            sl_usage_error("--keepalive: '%s' is not IDLE,INTERVAL,COUNT, each 1 to 32767", text);
        field = comma != NULL ? comma + 1 : field;
    }
    free(copy);
    r->keep_idle = (int)values[0];
    r->keep_interval = (int)values[1];
    r->keep_count = (int)values[2];
}

static struct client_settings client_settings(void)
{
    struct client_settings s = { opt.host, opt.port, opt.message,
                                 { opt.timeout, 0, 0, 0, opt.user_timeout, opt.heartbeat },
                                 opt.probe };
    if (opt.keepalive != NULL)
        parse_keepalive(opt.keepalive, &s.remedies);
    if (strlen(opt.message) > REQUEST_TEXT_MAX || strchr(opt.message, '\n') != NULL)
        sl_usage_error("--message: at most %d bytes, on one line", (int)REQUEST_TEXT_MAX);
    if (opt.user_timeout > 0 && !user_timeout_available())
        sl_usage_error("--user-timeout: this system has no TCP_USER_TIMEOUT (it is Linux-only)");
    return s;
}

int main(int argc, char **argv)
{
    struct sl_args args = sl_parse_command_line(&program, argc, argv);
    struct server_settings server = { opt.bind_address, opt.port, opt.once,
                                      parse_behaviour(opt.behave), opt.delay, opt.idle, NULL };
    struct client_settings client = client_settings();

    /* A peer that is gone should cost a send an EPIPE error, not our life;
     * --no-sigpipe-ignore keeps the default, to show that death on purpose. */
    if (!opt.no_sigpipe_ignore)
        signal(SIGPIPE, SIG_IGN);

    if (strcmp(args.role, "server") == 0)
        return run_server(&server);
    if (strcmp(args.role, "client") == 0)
        return run_client(&client);
    if (strcmp(args.role, "wire") == 0)
        return wire_run(args.argc, args.argv);
    classroom_begin();
    return run_demo(args.argc > 0 ? args.argv[0] : NULL);
}
