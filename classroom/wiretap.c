/* wiretap.c: the wire tap: a process that narrates every TCP segment of a
 * private network, beside the calls of the demo (or the shell) using it.
 *
 * The capture (capture.c) is set up in the calling process before it forks
 * the tap, so that no segment can leave before the tap is there to see it:
 * the ring fills even while the tap waits for the CPU. The tap decodes each
 * packet (segment.c), numbers it within its connection (conversation.c) and
 * names its ends by the processes holding them (owners.c). It stops when
 * told (a byte on a pipe, at the demo's exit), or when its parent dies, and
 * then narrates what is left before it exits: no segment is lost at the end.
 *
 * Usage: see wiretap.h.
 * See also: capture.h, segment.h, conversation.h, owners.h, classroom.c.
 */
#if defined(__linux__)
#define _GNU_SOURCE   /* prctl() */
#endif

#include "wiretap.h"

#include "capture.h"
#include "conversation.h"
#include "narrate.h"
#include "owners.h"
#include "proc.h"
#include "segment.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>
#ifdef __linux__
#include <dirent.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#endif

enum { PAYLOAD_SHOWN = 32 };

struct tap {
    struct capture capture;
    int stop;                       /* the words of the process that started it */
    int answer;                     /* where the tap answers them */
    int reports;                    /* the demo's processes say what they hold; -1: none */
    int hand;                       /* a hand run: times and payloads shown */
    double start;                   /* sl_now() when the capture began */
    pid_t parent;
    unsigned fresh;                 /* packets narrated since the last catch-up */
    struct conversations conversations;
};

static pid_t tap_pid = -1;          /* the tap process, in the process that started it */
static pid_t tap_owner = -1;        /* that process */
static int stop_fd = -1;            /* where it tells the tap: 'c' catch up, 's' stop */
static int answer_fd = -1;          /* where the tap says it is ready, or caught up */
static int report_fd = -1;          /* where this process and its children report sockets */
static volatile sig_atomic_t stop_requested;

/* ---- narrating one segment ---------------------------------------------- */

/* Names both ends of a new conversation by the processes holding them. In a
 * demo, a client reports its connection at the narration after connect(),
 * which may come a little after the tap sees its SYN: for an end not named
 * yet the tap waits for reports, 20 ms at most (the console holds lines
 * 30 ms for the tap's, so the order on screen is kept). One that sent a SYN
 * and can't be found (a short client run by hand can be done before the tap
 * even looks) is just "client": no letter, which would say which process. */
static void name_ends(int reports, struct conversation *c, const struct segment *s)
{
    int named[2] = { 0, 0 };
    for (int wait = 0; wait <= 10; wait++) {
        for (int i = 0; i < 2; i++) {
            struct conversation_end *e = &c->end[i];
            const struct conversation_end *peer = &c->end[1 - i];
            named[i] = named[i] || owner_name(reports, c->family, e->address, e->port,
                                              peer->address, peer->port, e->name,
                                              sizeof e->name) == 0;
        }
        struct pollfd more = { reports, POLLIN, 0 };
        if ((named[0] && named[1]) || reports < 0 || wait == 10 || poll(&more, 1, 2) == -1)
            break;
    }
    for (int i = 0; i < 2; i++) {
        struct conversation_end *e = &c->end[i];
        int connecting = i == 0 && (s->flags & (SEGMENT_SYN | SEGMENT_ACK)) == SEGMENT_SYN;
        if (named[i])
            continue;
        if (connecting)
            snprintf(e->name, sizeof e->name, "client");
        else
            snprintf(e->name, sizeof e->name, "port %u", e->port);
    }
}

/* A hand run's look at the bytes: text as a quoted string (a newline as
 * \n), anything else in hex, 16 bytes a row; at most PAYLOAD_SHOWN bytes,
 * then how many more. */
static void narrate_payload(const struct segment *s, double when)
{
    size_t shown = s->captured < PAYLOAD_SHOWN ? s->captured : PAYLOAD_SHOWN;
    int text = shown > 0;
    for (size_t i = 0; i < shown; i++)
        text &= (s->payload[i] >= 0x20 && s->payload[i] < 0x7f) || s->payload[i] == '\n';
    char row[2 * PAYLOAD_SHOWN + 1], more[40] = "";
    if (s->length > shown)
        snprintf(more, sizeof more, " (+%s)", sl_plural((long long)(s->length - shown), "byte"));
    if (text) {
        size_t used = 0;
        for (size_t i = 0; i < shown; i++) {
            if (s->payload[i] == '\n')
                row[used++] = '\\';
            row[used++] = s->payload[i] == '\n' ? 'n' : (char)s->payload[i];
        }
        row[used] = '\0';
        sl_narrate_at(when, "          \"%s\"%s", row, more);
        return;
    }
    for (size_t from = 0; from < shown; from += 16) {
        char hex[3 * 16 + 1] = "";
        for (size_t i = from; i < shown && i < from + 16; i++)
            snprintf(hex + 3 * (i - from), 4, " %02x", s->payload[i]);
        sl_narrate_at(when, "         %s%s", hex, from + 16 >= shown ? more : "");
    }
}

static void narrate_packet(struct tap *t, const struct packet *p)
{
    struct segment s;
    if (segment_decode(p->bytes, p->captured, p->length, &s) == -1)
        return;
    s.segment_size = p->segment_size;
    int created;
    struct conversation *c = conversation_of(&t->conversations, &s, &created);
    if (created)
        name_ends(t->reports, c, &s);
    char line[CONVERSATION_LINE_MAX];
    conversation_line(c, &s, line, sizeof line);
    if (!t->hand) {
        sl_narrate_at(p->when, "%s", line);
        return;
    }
    sl_narrate_at(p->when, "%.3f s  %s", p->when - t->start, line);
    if (s.length > 0)
        narrate_payload(&s, p->when);
}

/* ---- the tap process ---------------------------------------------------- */

/* Narrates every packet the ring holds, in order: how many there were. */
static unsigned drain(struct tap *t)
{
    struct packet p;
    unsigned count = 0;
    for (; capture_next(&t->capture, &p); count++) {
        narrate_packet(t, &p);
        capture_release(&t->capture);
    }
    return count;
}

static void note_stop(int signal_number)
{
    (void)signal_number;
    stop_requested = 1;
}

/* Signals: Ctrl-C is for the learner's servers, not the tap (it stops when
 * told, or when its parent dies: SIGTERM, then it narrates what is left). */
static void tap_signals(pid_t parent)
{
    struct sigaction on_term;
    memset(&on_term, 0, sizeof on_term);
    on_term.sa_handler = note_stop;
    sigemptyset(&on_term.sa_mask);
    sigaction(SIGTERM, &on_term, NULL);
    signal(SIGINT, SIG_IGN);
    signal(SIGQUIT, SIG_IGN);
#ifdef __linux__
    if (prctl(PR_SET_PDEATHSIG, SIGTERM) == -1)
        stop_requested = 1;
#endif
    if (getppid() != parent)
        stop_requested = 1;
}

/* Waits for packets, reports and the word to stop; narrates as they come.
 * It also notes, now and then, who holds the listeners of the moment
 * (owners.h), so that a server run --once that is gone before the tap reads
 * its segments is still named: every 20 ms while segments flow (a script's
 * next client is seldom that quick), every 250 ms when the wire is quiet. */
static void tap_loop(struct tap *t)
{
    struct pollfd watch[3] = { { t->capture.fd, POLLIN, 0 }, { t->stop, POLLIN, 0 },
                               { t->reports, POLLIN, 0 } };
    double watched = 0, active = sl_now();
    while (!stop_requested) {
        double every = sl_now() - active < 2 ? 0.02 : 0.25;
        int n = poll(watch, t->reports >= 0 ? 3 : 2, (int)(every * 1000));
        if (n == -1 && errno != EINTR)
            return;
        if (sl_now() - watched >= every) {
            owners_watch(t->reports);
            watched = sl_now();
        }
        if (n > 0 && (watch[0].revents & POLLERR))
            capture_clear_error(&t->capture);
        if (n > 0 && (watch[2].revents & POLLIN))
            owners_collect(t->reports);
        unsigned drained = drain(t);
        t->fresh += drained;
        if (drained > 0)
            active = sl_now();
        char word = 's';
        if (n > 0 && watch[1].revents != 0 && (read(t->stop, &word, 1) != 1 || word != 'c'))
            return;
        if (word == 'c') {   /* every segment so far narrated: say so, and if any was new */
            owners_collect(t->reports);
            t->fresh += drain(t);
            if (write(t->answer, t->fresh > 0 ? "n" : "k", 1) != 1)
                return;
            t->fresh = 0;
        }
    }
}

static _Noreturn void tap_main(struct tap *t, int ready)
{
    sl_set_role("wire");
    tap_signals(t->parent);
    sl_narrate("capturing every TCP segment on lo, in a private network "
               "(unshare(CLONE_NEWUSER | CLONE_NEWNET))");
    t->answer = ready;
    if (write(ready, "r", 1) != 1)
        stop_requested = 1;
    tap_loop(t);
    owners_collect(t->reports);
    drain(t);
    unsigned long missed = capture_drops(&t->capture);
    if (missed > 0)
        sl_narrate("missed %s: the capture ring was full, the lines above are not all",
                   sl_plural((long long)missed, "packet"));
    _exit(SL_EXIT_OK);   /* not exit(): the atexit handlers are the demo's */
}

/* The tap's pipes: to stop it, to hear it is ready, and (REPORTING) for
 * the demo's reports, read without blocking. -1 with the reason in WHY. */
static int open_pipes(int stop[2], int ready[2], int reports[2], int reporting, char *why,
                      size_t size)
{
    reports[0] = reports[1] = -1;
    if (pipe(stop) == -1 || pipe(ready) == -1 || (reporting && pipe(reports) == -1) ||
        (reporting && fcntl(reports[0], F_SETFL, O_NONBLOCK) == -1)) {
        snprintf(why, size, "pipe: %s", sl_errno(errno));
        return -1;
    }
    /* Programs a hand run starts must not hold them: only the tap's own do. */
    fcntl(stop[1], F_SETFD, FD_CLOEXEC);
    if (reporting)
        fcntl(reports[1], F_SETFD, FD_CLOEXEC);
    return 0;
}

/* FD moved to a high number (close-on-exec), out of the way of the demo's
 * own descriptors, whose numbers the lessons show, and of the code that
 * closes every low one (chapter 5's demo servers keep only theirs). */
static int lift(int fd)
{
    int high = fcntl(fd, F_DUPFD_CLOEXEC, 100);
    if (high == -1) {   /* a descriptor limit of 100 or less: it stays */
        fcntl(fd, F_SETFD, FD_CLOEXEC);
        return fd;
    }
    close(fd);
    return high;
}

/* Enters a private network, opens the capture, forks the tap; returns in
 * the caller once the tap runs. -1 with the reason in WHY. */
static int start_tap(int hand, char *why, size_t size)
{
    static struct tap t;   /* static: the conversations take a few dozen KiB */
    int stop[2], ready[2], reports[2];
    if (capture_network(why, size) == -1 || capture_open(&t.capture, why, size) == -1 ||
        open_pipes(stop, ready, reports, !hand, why, size) == -1)
        return -1;
    t.hand = hand;
    t.start = sl_now();
    t.parent = getpid();
    pid_t pid = sl_fork();
    if (pid == 0) {
        close(stop[1]);
        close(ready[0]);
        if (reports[1] != -1)
            close(reports[1]);
        t.stop = stop[0];
        t.reports = reports[0];
        tap_main(&t, ready[1]);
    }
    close(stop[0]);
    close(ready[1]);
    if (reports[0] != -1)
        close(reports[0]);
    capture_close(&t.capture);
    char byte;
    ssize_t n = read(ready[0], &byte, 1);
    answer_fd = lift(ready[0]);
    stop_fd = lift(stop[1]);
    report_fd = reports[1] != -1 ? lift(reports[1]) : -1;
    tap_pid = pid;
    tap_owner = getpid();
    if (n == 1)
        return 0;
    wire_end();
    snprintf(why, size, "the tap process ended before it began");
    return -1;
}

static _Noreturn void unavailable(const char *what, const char *why)
{
#ifdef __linux__
    const char *loopback = "lo";
#else
    const char *loopback = "lo0";
#endif
    sl_fail_status(WIRE_EXIT_UNAVAILABLE,
                   "%s: no private network here: %s (as root, `tcpdump -i %s -n tcp` shows "
                   "the same segments)", what, why, loopback);
}

/* ---- the entry points --------------------------------------------------- */

/* The narration hook of a demo's processes: at every line, the sockets
 * this process holds that the tap has not heard of (see owners.h). */
static void report_sockets(void)
{
    owners_report(report_fd);
}

void wire_begin(void)
{
    char why[256];
    if (tap_pid != -1)
        return;
    if (start_tap(0, why, sizeof why) == -1)
        unavailable("--wire", why);
    sl_set_narration_hook(report_sockets);
    atexit(wire_end);
}

void wire_end(void)
{
    if (tap_pid == -1 || getpid() != tap_owner)
        return;
    sl_set_narration_hook(NULL);
    if (write(stop_fd, "s", 1) != 1)
        kill(tap_pid, SIGTERM);
    close(stop_fd);
    close(answer_fd);
    if (report_fd != -1)
        close(report_fd);
    sl_reap(tap_pid, "wire");
    tap_pid = -1;
    stop_fd = answer_fd = report_fd = -1;
}

int wire_is_on(void)
{
    return tap_pid != -1 && getpid() == tap_owner;
}

/* The hand run's command, in the child: the default signals back, then exec. */
static _Noreturn void run_command(int argc, char **argv)
{
    signal(SIGINT, SIG_DFL);
    signal(SIGQUIT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    const char *shell = getenv("SHELL");
    if (shell == NULL || shell[0] == '\0')
        shell = "/bin/sh";
    if (argc == 0)
        execl(shell, shell, (char *)NULL);
    else
        execvp(argv[0], argv);
    fprintf(stderr, "wire: %s: %s\n", argc == 0 ? shell : argv[0], sl_errno(errno));
    _exit(127);   /* as a shell says "command not found" */
}

/* The command, while the role waits for it. */
static volatile pid_t command_pid = -1;

/* SIGTERM or SIGHUP for the role (a closed terminal, `timeout`): for the
 * command too; what it leaves running then ends as below. */
static void pass_on(int signal_number)
{
    if (command_pid > 0)
        kill(command_pid, signal_number);
}

/* The role's children other than the tap (-1: none left), from /proc: once
 * the command has ended, the processes it left behind, which the role
 * inherited as their subreaper. */
static pid_t leftover(void)
{
#ifdef __linux__
    DIR *processes = opendir("/proc");
    const struct dirent *entry;
    pid_t found = -1;
    while (processes != NULL && found == -1 && (entry = readdir(processes)) != NULL) {
        char path[64];
        long pid, parent;
        snprintf(path, sizeof path, "/proc/%.16s/stat", entry->d_name);
        FILE *stat = entry->d_name[0] >= '1' && entry->d_name[0] <= '9' ? fopen(path, "r") : NULL;
        /* pid (comm) state ppid: comm may hold spaces and parentheses, so
         * the fields after it are read from its last ')'. */
        char line[512];
        const char *after = stat != NULL && fgets(line, sizeof line, stat) ? strrchr(line, ')') : NULL;
        if (after != NULL && sscanf(entry->d_name, "%ld", &pid) == 1 &&
            sscanf(after, ") %*c %ld", &parent) == 1 && parent == (long)getpid() &&
            pid != (long)tap_pid)
            found = (pid_t)pid;
        if (stat != NULL)
            fclose(stat);
    }
    if (processes != NULL)
        closedir(processes);
    return found;
#else
    return -1;
#endif
}

/* Ends what the command left running in the network (a server in the
 * background), which nobody could reach any more: SIGTERM, and SIGKILL
 * for one still there a second later. Each is named, once. */
static void end_leftovers(void)
{
    pid_t pid;
    while ((pid = leftover()) != -1) {
        char name[32] = "?";
        char path[64];
        snprintf(path, sizeof path, "/proc/%ld/comm", (long)pid);
        FILE *comm = fopen(path, "r");
        if (comm != NULL && fgets(name, sizeof name, comm) != NULL)
            name[strcspn(name, "\n")] = '\0';
        if (comm != NULL)
            fclose(comm);
        sl_narrate("the command left %s (pid %ld) running: kill(%ld, SIGTERM)", name, (long)pid,
                   (long)pid);
        kill(pid, SIGTERM);
        double until = sl_now() + 1;
        while (waitpid(pid, NULL, WNOHANG) == 0 && sl_now() < until)
            sl_sleep(0.01);
        if (kill(pid, 0) == 0 && kill(pid, SIGKILL) == 0)
            waitpid(pid, NULL, 0);
    }
}

/* Once the command has ended: what it left running may still be finishing
 * a conversation (a server answering the client that just left), so the
 * wire must be quiet for 200 ms (2 s at most) before they are ended; and
 * the tap names each end by its process, so it must have seen every
 * segment first. */
static void settle(void)
{
    char word = 'n';
    for (double until = sl_now() + 2; word == 'n' && sl_now() < until;) {
        if (write(stop_fd, "c", 1) != 1 || read(answer_fd, &word, 1) != 1) {
            sl_narrate("the tap ended early: its last lines may be missing");
            return;
        }
        if (word == 'n' && leftover() != -1)
            sl_sleep(0.2);
        else
            word = 'k';
    }
}

int wire_run(int argc, char **argv)
{
    char why[256];
    if (start_tap(1, why, sizeof why) == -1)
        unavailable("wire", why);
    if (argc == 0) {
        sl_narrate("a shell in this network: run servers and clients in it; exit it to stop");
        sl_narrate("another terminal joins this network with: "
                   "nsenter --preserve-credentials -U -n -t %ld", (long)getpid());
    }
#ifdef __linux__
    /* What the command leaves running (a server in the background) comes to
     * the role when the command ends, to be ended too. */
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
#endif
    argv[argc] = NULL;   /* the role's arguments end where the command does */
    pid_t child = sl_fork();
    if (child == 0)
        run_command(argc, argv);
    command_pid = child;
    signal(SIGINT, SIG_IGN);
    signal(SIGQUIT, SIG_IGN);
    signal(SIGTERM, pass_on);
    signal(SIGHUP, pass_on);
    int status = sl_reap(child, argc == 0 ? "the shell" : argv[0]);
    settle();
    end_leftovers();
    wire_end();
    return status;
}
