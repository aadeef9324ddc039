/* demo.c: chapter 5's demo, each way of dying played out in one terminal.
 *
 * Harness, not lesson: it forks servers (serve(), server.c) and clients (the
 * steps of client.c), strikes the servers (they exit, get SIGKILL or SIGSTOP,
 * or their host vanishes: namespace.c) and reports how each client ended, and
 * how long after the strike. In a scene with five pairs, each process has a
 * name of its own: "client heartbeat" and its server, "server heartbeat".
 * Each scene's setup comes under its heading, and a scene is over only when
 * every one of its processes is, so no line strays into the next scene.
 *
 * Usage: 05-dead-peers demo [exit|crash|freeze|vanish]
 * See also: server.c, client.c, namespace.c, README.md (the lesson).
 */
#include "dead_peers.h"

#include "namespace.h"
#include "narrate.h"
#include "proc.h"
#include "../01-blocking/sockets.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* One server and the one client it serves. */
struct pair {
    const char *option;         /* the client's remedy, as its command line says it */
    struct remedies remedies;
    int late;                   /* the client sends its request at the demo's go */
    char server_role[32], client_role[32];
    pid_t server, client;       /* 0 once reaped */
    int port;
    int server_events;          /* read end: the server's port, then 'a' and 'r' */
    int client_events;          /* read end: 'c' connected, 's' sent; EOF at its exit */
    int go;                     /* write end of a late client's go pipe, or -1 */
    int ended, status;          /* the client's end, as sl_reap() tells it */
    double ended_at;            /* seconds after the strike */
};

/* The five clients of freeze and vanish, and what each runs with. The one
 * whose timer starts with its request and goes on silently (keepalive) is set
 * up last, nearest the strike. */
#define PAIRS 5
static const struct {
    const char *name, *option;
    struct remedies remedies;
} remedy_table[PAIRS] = {
    { "plain", "no remedy", { 0, 0, 0, 0, 0, 0 } },
    { "timeout", "--timeout 1", { 1, 0, 0, 0, 0, 0 } },
    { "user-timeout", "--user-timeout 1000", { 0, 0, 0, 0, 1000, 0 } },
    { "heartbeat", "--heartbeat 0.5", { 0, 0, 0, 0, 0, 0.5 } },
    { "keepalive", "--keepalive 1,1,2", { 0, 1, 1, 2, 0, 0 } },
};

/* The strike of the scene being played, for "... s after the kill". */
static const char *strike = "the strike";
static double strike_at;

/* In a server child: where it reports its events to the demo. */
static int events_to_demo = -1;

static void tell(int fd, char event)
{
    if (write(fd, &event, 1) != 1)
        sl_fail_errno("write to the demo");
}

static void report(enum server_event event)
{
    tell(events_to_demo, event == SERVER_ACCEPTED ? 'a' : 'r');
}

/* In a child: keeps stdin, stdout, stderr and the COUNT descriptors of FDS
 * (moved to 60 and up; -1 entries skipped), and closes every other one, so
 * that the child's sockets get the numbers a hand run gets (3, then 4) and
 * no child holds a pipe end meant for another (hiding its EOF). Most of the
 * numbers closed were never open: EBADF is expected. */
static void keep_only(int *fds, int count)
{
    for (int i = 0; i < count; i++) {
        if (fds[i] != -1) {
            if (dup2(fds[i], 60 + i) == -1)
                sl_fail_errno("dup2");
            fds[i] = 60 + i;
        }
    }
    for (int fd = 3; fd < 60; fd++)
        close(fd);
}

/* Waits, a second at most, until process PID sleeps in a system call (state
 * S in /proc/PID/stat, Linux). A client reports that its request left just
 * before it narrates the wait it enters: this keeps that line in its scene.
 * Without /proc it returns at once, and that line may come a moment late. */
static void wait_until_asleep(pid_t pid)
{
    char path[64], text[256];
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    for (double until = sl_now() + 1; sl_now() < until; sl_sleep(0.002)) {
        int fd = open(path, O_RDONLY);
        if (fd == -1)
            return;
        ssize_t n = read(fd, text, sizeof text - 1);
        close(fd);
        if (n <= 0)
            return;
        text[n] = '\0';
        const char *state = strrchr(text, ')');
        if (state == NULL || state[1] == '\0' || state[2] == 'S')
            return;
    }
}

static void start_server(struct pair *p, enum behaviour behave)
{
    int events[2];
    if (pipe(events) == -1)
        sl_fail_errno("pipe");
    p->server = sl_fork();
    if (p->server == 0) {
        keep_only(&events[1], 1);
        events_to_demo = events[1];
        sl_set_role(p->server_role);
        sl_set_program_name(p->server_role);
        char why[256];
        int listener = open_listener("127.0.0.1", 0, 8, 1, why, sizeof why);
        if (listener == -1)
            sl_fail("%s", why);
        int port = local_port(listener);
        if (write(events_to_demo, &port, sizeof port) != (ssize_t)sizeof port)
            sl_fail_errno("write to the demo");
        struct server_settings settings = { "127.0.0.1", 0, 1, behave, 0, 30, report };
        serve(listener, &settings);
        exit(SL_EXIT_OK);
    }
    close(events[1]);
    p->server_events = events[0];
    if (read(p->server_events, &p->port, sizeof p->port) != (ssize_t)sizeof p->port)
        sl_fail("%s stopped before it listened", p->server_role);
    wait_until_asleep(p->server);   /* in accept(), its lines so far printed */
}

/* The client's steps (client.c), with the demo's two moments between them:
 * connected ('c'), then, for a late client, the go, and request sent ('s'). */
static _Noreturn void run_demo_client(const struct pair *p, int events, int go, int probe)
{
    struct client_settings settings = { "127.0.0.1", p->port, "hello", p->remedies, probe };
    int fd = connect_with_remedies(&settings);
    tell(events, 'c');
    char byte;
    if (go != -1 && read(go, &byte, 1) != 1)
        sl_fail("the demo never said go");
    send_request(fd, settings.message);
    tell(events, 's');
    int status = await_answer(fd, &settings);
    close(fd);
    sl_narrate("close(fd %d)", fd);
    exit(status);
}

/* DEFAULT_SIGPIPE: this client shows SIGPIPE's default on purpose (the demo
 * itself ignores the signal, and children inherit that). */
static void start_client(struct pair *p, int probe, int default_sigpipe)
{
    int events[2], go[2] = { -1, -1 };
    if (pipe(events) == -1 || (p->late && pipe(go) == -1))
        sl_fail_errno("pipe");
    p->client = sl_fork();
    if (p->client == 0) {
        int keep[2] = { events[1], go[0] };
        keep_only(keep, 2);
        if (default_sigpipe)
            signal(SIGPIPE, SIG_DFL);
        sl_set_role(p->client_role);
        sl_set_program_name(p->client_role);
        run_demo_client(p, keep[0], keep[1], probe);
    }
    close(events[1]);
    if (go[0] != -1)
        close(go[0]);
    p->client_events = events[0];
    p->go = go[1];
}

/* Reads events from FD until EVENT arrives; fails, naming WHO, if it ends first. */
static void await_event(int fd, char event, const char *who)
{
    char got;
    do {
        if (read(fd, &got, 1) != 1)
            sl_fail("%s stopped before the demo could go on", who);
    } while (got != event);
}

/* Starts pair P and waits until both are where the scene needs them: the
 * server has the request (a late client's: has accepted it), and the client
 * sleeps in its wait. */
static void set_up(struct pair *p, enum behaviour behave, int probe, int default_sigpipe)
{
    sl_narrate("%s runs with %s", p->client_role, p->option);
    start_server(p, behave);
    start_client(p, probe, default_sigpipe);
    await_event(p->server_events, p->late ? 'a' : 'r', p->server_role);
    await_event(p->client_events, p->late ? 'c' : 's', p->client_role);
    wait_until_asleep(p->client);
}

/* A pair named NAME ("server NAME", "client NAME"), or with NAME NULL plain
 * "server" and "client", as a hand run names them. */
static struct pair make_pair(const char *name, const char *option, struct remedies remedies)
{
    struct pair p;
    memset(&p, 0, sizeof p);
    p.option = option;
    p.remedies = remedies;
    p.go = -1;
    snprintf(p.server_role, sizeof p.server_role, "server%s%s", name ? " " : "", name ? name : "");
    snprintf(p.client_role, sizeof p.client_role, "client%s%s", name ? " " : "", name ? name : "");
    return p;
}

static void strike_now(const char *what)
{
    strike = what;
    strike_at = sl_now();
}

/* Tells each late client to send its request now. */
static void say_go(struct pair *pairs, int count)
{
    for (int i = 0; i < count; i++) {
        if (pairs[i].go != -1) {
            sl_narrate("go, %s: send your request now", pairs[i].client_role);
            tell(pairs[i].go, 'g');
        }
    }
}

/* Waits for clients to end, noting how (sl_reap) and when, until at most
 * MAY_REMAIN of the COUNT still run or the clock reaches UNTIL. A client has
 * ended when its events pipe reaches EOF. */
static void watch_clients(struct pair *pairs, int count, int may_remain, double until)
{
    for (;;) {
        struct pollfd watch[PAIRS];
        struct pair *whose[PAIRS];
        int n = 0;
        for (int i = 0; i < count; i++) {
            if (!pairs[i].ended) {
                watch[n] = (struct pollfd){ pairs[i].client_events, POLLIN, 0 };
                whose[n++] = &pairs[i];
            }
        }
        double left = until - sl_now();
        if (n <= may_remain || left <= 0)
            return;
        int ready = poll(watch, (nfds_t)n, (int)ceil(left * 1000));
        if (ready == -1 && errno != EINTR)
            sl_fail_errno("poll");
        for (int k = 0; k < n && ready > 0; k++) {
            char event;
            if (watch[k].revents == 0 || read(watch[k].fd, &event, 1) > 0)
                continue;
            struct pair *p = whose[k];
            p->status = sl_reap(p->client, p->client_role);
            p->client = 0;
            p->ended = 1;
            p->ended_at = sl_now() - strike_at;
        }
    }
}

/* The lesson's claim about P's client: it ended with status EXPECTED, or with
 * EXPECTED -1, it is still waiting. Says so when it does not hold. */
static int as_expected(const struct pair *p, int expected)
{
    int ok = expected == -1 ? !p->ended : p->ended && p->status == expected;
    if (!ok)
        sl_narrate("UNEXPECTED: %s %s", p->client_role,
                   expected == -1 ? "did not keep waiting" : "did not end as the lesson says");
    return ok;
}

/* SIGKILL (and SIGCONT, for a frozen one) for PID, then reaps it. */
static void end_process(pid_t pid)
{
    if (pid <= 0)
        return;
    if (kill(pid, SIGKILL) == -1 || kill(pid, SIGCONT) == -1)
        sl_fail_errno("kill");
    if (waitpid(pid, NULL, 0) == -1)
        sl_fail_errno("waitpid");
}

/* Ends the scene: says how each client ended, in a fixed order whatever
 * order they ended in, and ends those still waiting; ends every server, and
 * closes the pipes, so that nothing of the scene prints in the next. */
static void end_scene(struct pair *pairs, int count)
{
    for (int i = 0; i < count; i++) {
        struct pair *p = &pairs[i];
        if (p->ended)
            sl_narrate("%s ended with status %d, %.2f s after %s", p->client_role, p->status,
                       p->ended_at, strike);
        else
            sl_narrate("%s is still waiting %.2f s after %s: ending it", p->client_role,
                       sl_now() - strike_at, strike);
        end_process(p->client);
        end_process(p->server);
        close(p->server_events);
        close(p->client_events);
        if (p->go != -1)
            close(p->go);
    }
}

/* exit: the server reads the request, closes and exits; the client's recv()
 * returns 0 (EOF) at once. */
static int demo_exit(void)
{
    sl_scene("exit: the server reads the request, closes the connection, exits");
    struct pair p = make_pair(NULL, "no remedy", (struct remedies){ 0, 0, 0, 0, 0, 0 });
    sl_narrate("%s runs with %s", p.client_role, p.option);
    start_server(&p, BEHAVE_EXIT);
    start_client(&p, 0, 0);
    int server_status = sl_reap(p.server, p.server_role);
    p.server = 0;
    strike_now("the server's exit");
    watch_clients(&p, 1, 0, strike_at + 10);
    int ok = as_expected(&p, EXIT_PEER_DEAD) && server_status == SL_EXIT_OK;
    end_scene(&p, 1);
    return ok;
}

/* One crash: a server that behaves as BEHAVE has the request, then SIGKILL. */
static int crash_round(const char *title, const char *option, enum behaviour behave,
                       int default_sigpipe)
{
    sl_scene(title);
    struct pair p = make_pair(NULL, option, (struct remedies){ 0, 0, 0, 0, 0, 0 });
    set_up(&p, behave, 1, default_sigpipe);
    sl_narrate("kill(%ld, SIGKILL): the server dies; its kernel closes its socket",
               (long)p.server);
    if (kill(p.server, SIGKILL) == -1)
        sl_fail_errno("kill");
    strike_now("the kill");
    watch_clients(&p, 1, 0, strike_at + 10);
    int ok = as_expected(&p, default_sigpipe ? 128 + SIGPIPE : EXIT_PEER_DEAD);
    end_scene(&p, 1);
    return ok;
}

/* crash: killed with nothing unread, the server's kernel sends a FIN (EOF),
 * then resets the client's next send; killed with the request unread, it
 * sends a reset straight away. */
static int demo_crash(void)
{
    int ok = crash_round("crash 1: the server reads the request, then gets SIGKILL",
                         "--probe", BEHAVE_SILENT, 0);
    ok &= crash_round("crash 2: the same, against a client that keeps SIGPIPE's default",
                      "--probe --no-sigpipe-ignore", BEHAVE_SILENT, 1);
    ok &= crash_round("crash 3: the server gets SIGKILL with the request unread", "--probe",
                      BEHAVE_DEAF, 0);
    return ok;
}

/* The five pairs of freeze and vanish, set up one after the other against
 * silent servers. The clients whose remedy runs a clock of the program's own
 * (timeout, heartbeat) send their request at the go, so that the clock starts
 * with the strike, and the wait for Enter at the strike's heading (--step) is
 * quiet; with VANISH, the user timeout's client too, so that it has
 * unacknowledged data to time. */
static void set_up_remedy_pairs(struct pair *pairs, int vanish)
{
    for (int i = 0; i < PAIRS; i++) {
        pairs[i] = make_pair(remedy_table[i].name, remedy_table[i].option,
                             remedy_table[i].remedies);
        const struct remedies *r = &pairs[i].remedies;
        pairs[i].late = r->timeout > 0 || r->heartbeat > 0 || (vanish && r->user_timeout_ms > 0);
        set_up(&pairs[i], BEHAVE_SILENT, 0, 0);
    }
}

/* Checks each pair against EXPECTED (statuses in remedy_table's order), then
 * ends the scene. */
static int judge(struct pair *pairs, const int *expected)
{
    int ok = 1;
    for (int i = 0; i < PAIRS; i++)
        ok &= as_expected(&pairs[i], expected[i]);
    end_scene(pairs, PAIRS);
    return ok;
}

/* freeze: SIGSTOP. The frozen process's kernel is alive: it acknowledges data
 * and keepalive probes. Only the program's own remedies notice. */
static int demo_freeze(void)
{
    static const int expected[PAIRS] = { -1, EXIT_PEER_DEAD, -1, EXIT_PEER_DEAD, -1 };
    struct pair pairs[PAIRS];
    sl_scene("freeze: five clients, each with a silent server of its own");
    set_up_remedy_pairs(pairs, 0);
    sl_scene("freeze: every server gets SIGSTOP");
    for (int i = 0; i < PAIRS; i++) {
        if (kill(pairs[i].server, SIGSTOP) == -1)
            sl_fail_errno("kill");
        sl_narrate("kill(%ld, SIGSTOP): %s is frozen", (long)pairs[i].server,
                   pairs[i].server_role);
    }
    strike_now("the freeze");
    say_go(pairs, PAIRS);
    /* Keepalive 1,1,2 would give up 3 s into the silence if its probes went
     * unanswered; a quarter second later, it is clear they are answered. */
    watch_clients(pairs, PAIRS, 0, strike_at + 3.25);
    return judge(pairs, expected);
}

/* vanish: the servers' host disappears. Both ends live in a private network;
 * taking its loopback down leaves every connection with no FIN, no reset,
 * nothing: just silence. */
static int demo_vanish(void)
{
    static const int expected[PAIRS] = { -1, EXIT_PEER_DEAD, EXIT_PEER_DEAD, EXIT_PEER_DEAD,
                                         EXIT_PEER_DEAD };
    struct pair pairs[PAIRS];
    sl_scene("vanish: a network of our own, five clients, a server for each");
    enter_private_network();
    set_up_remedy_pairs(pairs, 1);
    sl_scene("vanish: the loopback goes down, and the servers' host with it");
    if (set_loopback(0) == -1)
        sl_fail_errno("ioctl SIOCSIFFLAGS, lo down");
    strike_now("lo went down");
    sl_narrate("ioctl(SIOCSIFFLAGS, lo down) -> 0: the servers' host has vanished");
    check_line_is_cut(pairs[0].port);
    say_go(pairs, PAIRS);
    /* Every remedy has a bound under 4 s; then the plain client, 2 s on. */
    watch_clients(pairs, PAIRS, 1, strike_at + 6);
    watch_clients(pairs, PAIRS, 0, strike_at + 2.05);
    return judge(pairs, expected);
}

int run_demo(const char *scene)
{
    static const char *const scenes[] = { "exit", "crash", "freeze", "vanish" };
    static int (*const play[])(void) = { demo_exit, demo_crash, demo_freeze, demo_vanish };
    sl_set_role("demo");
    for (int i = 0; scene != NULL && i < 4; i++) {
        if (strcmp(scene, scenes[i]) == 0)
            return play[i]() ? SL_EXIT_OK : SL_EXIT_RUNTIME;
    }
    if (scene != NULL)
        sl_usage_error("unknown scenario '%s' (one of: exit, crash, freeze, vanish)", scene);
    int ok = demo_exit();
    ok &= demo_crash();
    ok &= demo_freeze();
    /* Last, in a child: it moves into a network namespace of its own. */
    pid_t pid = sl_fork();
    if (pid == 0)
        exit(demo_vanish() ? SL_EXIT_OK : SL_EXIT_RUNTIME);
    int status = sl_reap(pid, "demo vanish");
    ok &= status == SL_EXIT_OK || status == EXIT_CANNOT_RUN;
    return ok ? SL_EXIT_OK : SL_EXIT_RUNTIME;
}
