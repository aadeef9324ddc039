/* console.c: shows a running demo the way a teacher asked for it.
 *
 * One loop: read what the demo wrote (never blocking it: lines wait here,
 * not in the pipe), show each line when it may be shown, and read keys.
 * A line may be shown once it has waited ORDER_WINDOW, so a wire segment
 * stamped before it but read after it still goes first; after --pace's
 * delay since the line before; and not past a step (--step) until Enter.
 * The demo's processes are in one process group, so quitting is one kill()
 * and a wait for each of them.
 *
 * See also: console.h, events.h (ordering), lanes.h and ladder.h (drawing).
 */
#include "console.h"

#include "events.h"
#include "ladder.h"
#include "lanes.h"
#include "narrate.h"
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#define ORDER_WINDOW 0.03               /* how late a line may arrive and still go first */
#define HOLD_MAX (16 * 1024 * 1024)     /* bytes of lines kept before the demo must wait */
#define STRAGGLER_GRACE 2.0             /* the demo ended: its helpers' time to close the pipe */
#define DEFAULT_WIDTH 100               /* lanes and ladders, with no terminal or --width */
#define QUIT_KEY 1000                   /* q (signals are numbered below it) */
#define QUIT_BROKEN 1001                /* our own output is gone (| head, a lost terminal) */

struct console {
    struct console_setup setup;
    int width, colored;
    struct event_reader reader;
    struct event_list pending;      /* read, not shown yet, in showing order */
    struct event_list shown;        /* shown, kept for the ladders */
    size_t scene_start;             /* where in shown the current scene begins */
    int scenes;                     /* scene headings shown */
    int ladder_drawn;               /* the current scene's ladder is out */
    int at_step;                    /* waiting for Enter */
    int presses;                    /* Enters typed, not yet used by a step */
    enum event_kind last_shown;     /* what the last event shown was */
    double next_line;               /* --pace: no line before this time */
    struct lanes lanes;             /* --columns: this scene's */
    double leader_end;              /* when the demo's first process ended; 0: running */
    int quit;                       /* QUIT_KEY, a signal's number, or QUIT_BROKEN */
    struct termios saved_tty;
    int tty_changed;
};

static int signal_pipe[2] = { -1, -1 };

static void on_signal(int signo)
{
    int saved = errno;
    unsigned char byte = (unsigned char)signo;
    if (write(signal_pipe[1], &byte, 1) == -1) {
        /* Full: a byte is already waiting to wake the loop. */
    }
    errno = saved;
}

static void watch_signals(void)
{
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    if (pipe(signal_pipe) == -1)
        sl_fail_errno("pipe");
    for (int i = 0; i < 2; i++) {
        fcntl(signal_pipe[i], F_SETFL, O_NONBLOCK);
        fcntl(signal_pipe[i], F_SETFD, FD_CLOEXEC);
    }
    int signals[] = { SIGINT, SIGTERM, SIGHUP, SIGCHLD };
    for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++)
        sigaction(signals[i], &action, NULL);
}

/* ---- output --------------------------------------------------------------- */

static void put(struct console *c, int fd, const char *data, size_t length)
{
    while (length > 0 && c->quit != QUIT_BROKEN) {
        ssize_t n = write(fd, data, length);
        if (n == -1 && errno == EINTR)
            continue;
        if (n <= 0) {
            c->quit = QUIT_BROKEN;
            return;
        }
        data += n;
        length -= (size_t)n;
    }
}

static void put_text(struct console *c, int fd, struct event_text *text)
{
    if (text->data != NULL)
        put(c, fd, text->data, text->length);
    free(text->data);
    memset(text, 0, sizeof *text);
}

/* The prompt, on the terminal the keys come from (not in a piped output). */
static void prompt(struct console *c, int on)
{
    const char *what = c->setup.asked->step == 2 ? "next call" : "next scene";
    char line[128];
    int n = on ? snprintf(line, sizeof line, "%s-- Enter: %s, q: quit --%s",
                          c->colored ? "\033[2m" : "", what, c->colored ? "\033[0m" : "")
               : snprintf(line, sizeof line, "\r%40s\r", "");
    if (n > 0 && write(c->setup.tty, line, (size_t)n) == -1) {
        /* The terminal is gone: the next read of a key says so. */
    }
}

/* The ladder of the scene that just ended (--ladder as text). */
static void draw_ladder(struct console *c)
{
    if (!c->setup.asked->ladder || c->setup.asked->ladder_svg != NULL || c->ladder_drawn ||
        c->shown.count == c->scene_start)
        return;
    struct event_text out = { NULL, 0, 0 };
    ladder_text(c->shown.items + c->scene_start, c->shown.count - c->scene_start, c->width,
                c->colored, &out);
    put_text(c, STDERR_FILENO, &out);
    c->ladder_drawn = 1;
}

static void show_scene(struct console *c, const struct event *e)
{
    char line[600];
    put(c, STDERR_FILENO, line, sl_render_scene(e->text, c->colored, line, sizeof line));
    lanes_reset(&c->lanes, c->width);
    c->scene_start = c->shown.count;
    c->ladder_drawn = 0;
    c->scenes++;
    if (c->setup.gate >= 0 && write(c->setup.gate, "s", 1) == -1) {
        /* The demo's processes are all gone: nothing waits at the gate. */
    }
}

static void show_line(struct console *c, const struct event *e)
{
    if (!c->setup.asked->columns) {
        char line[4096];
        put(c, STDERR_FILENO, line,
            sl_render_line(e->role, e->text, sl_line_width(), c->colored, line, sizeof line));
        return;
    }
    struct event_text out = { NULL, 0, 0 };
    char why[256] = "";
    if (lanes_place_event(&c->lanes, e, why, sizeof why))
        lanes_header(&c->lanes, c->colored, &out);
    if (why[0] != '\0') {
        /* The note wraps like any narration line, so it too fits --width. */
        char note[1024];
        text_add(&out, note,
                 sl_render_line("columns", why, sl_line_width(), c->colored, note, sizeof note));
    }
    lanes_event(&c->lanes, e, c->colored, &out);
    put_text(c, STDERR_FILENO, &out);
}

static void show(struct console *c, const struct event *e)
{
    if (e->kind == EVENT_SCENE) {
        show_scene(c, e);
    } else if (e->kind == EVENT_LINE) {
        show_line(c, e);
    } else {
        put(c, e->kind == EVENT_OUTPUT ? STDOUT_FILENO : STDERR_FILENO, e->text, strlen(e->text));
        put(c, e->kind == EVENT_OUTPUT ? STDOUT_FILENO : STDERR_FILENO, "\n", 1);
    }
    if (e->kind != EVENT_SCENE && c->setup.asked->pace_ms > 0)
        c->next_line = sl_now() + c->setup.asked->pace_ms / 1000.0;
    if (c->setup.asked->ladder && events_append_copy(&c->shown, e) == -1)
        sl_fail_errno("malloc");
}

/* Whether E waits for an Enter before it shows: a scene, but the first;
 * with --step=call, a narration line too, unless a heading just showed. */
static int is_step(const struct console *c, const struct event *e)
{
    if (c->setup.asked->step == 0 || c->scenes == 0)
        return 0;
    if (e->kind == EVENT_SCENE)
        return 1;
    return c->setup.asked->step == 2 && e->kind == EVENT_LINE && c->last_shown != EVENT_SCENE;
}

/* Shows every line that may be shown now. */
static void show_ready(struct console *c)
{
    while (c->quit == 0 && !c->at_step && c->pending.count > 0) {
        const struct event *head = &c->pending.items[0];
        double now = sl_now();
        if ((c->setup.feed >= 0 && now < head->arrival + ORDER_WINDOW) || now < c->next_line)
            return;
        if (head->kind == EVENT_SCENE && c->scenes > 0)
            draw_ladder(c);
        if (is_step(c, head)) {
            if (c->presses == 0) {
                c->at_step = 1;
                prompt(c, 1);
                return;
            }
            c->presses--;
        }
        struct event e = events_take_first(&c->pending);
        show(c, &e);
        c->last_shown = e.kind;
        event_free(&e);
    }
}

/* ---- input ---------------------------------------------------------------- */

static void read_feed(struct console *c)
{
    char buffer[65536];
    ssize_t n = read(c->setup.feed, buffer, sizeof buffer);
    if (n == -1 && errno == EINTR)
        return;
    int failed = 0;
    if (n <= 0) {
        failed = reader_finish(&c->reader, sl_now(), &c->pending) == -1;
        close(c->setup.feed);
        c->setup.feed = -1;
    } else {
        failed = reader_feed(&c->reader, buffer, (size_t)n, sl_now(), &c->pending) == -1;
    }
    if (failed)
        sl_fail_errno("malloc");
}

static void read_keys(struct console *c)
{
    char keys[16];
    ssize_t n = read(c->setup.tty, keys, sizeof keys);
    if (n == -1 && errno == EINTR)
        return;
    if (n <= 0) {
        c->quit = QUIT_KEY;  /* the terminal is gone: no one to step for */
        return;
    }
    for (ssize_t i = 0; i < n; i++) {
        if (keys[i] == 'q' || keys[i] == 'Q') {
            c->quit = QUIT_KEY;
        } else if (keys[i] == '\n' || keys[i] == '\r' || keys[i] == ' ') {
            if (c->at_step)
                prompt(c, 0);
            c->at_step = 0;
            c->presses++;
        }
    }
}

/* Notes when the demo's first process ends, leaving it unreaped: until it
 * is, its pid names its process group and no new process can take it. */
static void note_demo_end(struct console *c)
{
    siginfo_t info;
    memset(&info, 0, sizeof info);
    if (c->leader_end == 0 &&
        waitid(P_PID, (id_t)c->setup.demo, &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
        info.si_pid == c->setup.demo)
        c->leader_end = sl_now();
}

static void read_signals(struct console *c)
{
    unsigned char signals[16];
    ssize_t n = read(signal_pipe[0], signals, sizeof signals);
    for (ssize_t i = 0; i < n; i++) {
        if (signals[i] == SIGCHLD)
            note_demo_end(c);
        else if (c->quit == 0)
            c->quit = signals[i];
    }
}

/* How long the loop may sleep: until the first pending line may show, the
 * pace allows one, or the demo's helpers have had their grace; -1: until
 * something arrives. */
static int timeout_ms(const struct console *c)
{
    double wake = -1;
    if (c->pending.count > 0 && !c->at_step) {
        wake = c->pending.items[0].arrival + (c->setup.feed >= 0 ? ORDER_WINDOW : 0);
        if (c->next_line > wake)
            wake = c->next_line;
    }
    if (c->leader_end > 0 && c->setup.feed >= 0 &&
        (wake < 0 || c->leader_end + STRAGGLER_GRACE < wake))
        wake = c->leader_end + STRAGGLER_GRACE;
    if (wake < 0)
        return -1;
    double left = wake - sl_now();
    return left <= 0 ? 0 : (int)(left * 1000) + 1;
}

static void wait_for_input(struct console *c)
{
    struct pollfd fds[3] = { { signal_pipe[0], POLLIN, 0 }, { -1, POLLIN, 0 }, { -1, POLLIN, 0 } };
    if (c->setup.feed >= 0 && c->pending.bytes < HOLD_MAX)
        fds[1].fd = c->setup.feed;
    fds[2].fd = c->setup.tty;
    if (poll(fds, 3, timeout_ms(c)) == -1) {
        if (errno != EINTR)
            sl_fail_errno("poll");
        return;
    }
    if (fds[0].revents)
        read_signals(c);
    if (fds[1].revents)
        read_feed(c);
    if (fds[2].revents)
        read_keys(c);
    /* The demo ended long ago, and something it started still holds the
     * pipe: end its whole process group, so the pipe closes. */
    if (c->leader_end > 0 && c->setup.feed >= 0 && sl_now() > c->leader_end + STRAGGLER_GRACE)
        kill(-c->setup.demo, SIGKILL);
}

/* ---- ending --------------------------------------------------------------- */

static void raw_keys(struct console *c)
{
    if (c->setup.tty < 0 || tcgetattr(c->setup.tty, &c->saved_tty) == -1)
        return;
    struct termios raw = c->saved_tty;
    raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    c->tty_changed = tcsetattr(c->setup.tty, TCSANOW, &raw) == 0;
}

static void restore_keys(struct console *c)
{
    if (c->tty_changed)
        tcsetattr(c->setup.tty, TCSANOW, &c->saved_tty);
    c->tty_changed = 0;
}

/* Reaps every child left (the helpers a demo process left orphaned come to
 * us, the subreaper, on Linux), waiting at most SECONDS for them. */
static void reap_the_rest(double seconds)
{
    double deadline = sl_now() + seconds;
    for (;;) {
        pid_t pid = waitpid(-1, NULL, WNOHANG);
        if (pid == -1 || (pid == 0 && sl_now() > deadline))
            return;
        if (pid == 0)
            sl_sleep(0.005);
    }
}

/* q or a signal: every process of the demo killed, each of them reaped. */
static void stop_demo(struct console *c)
{
    kill(-c->setup.demo, SIGKILL);
    if (c->at_step)
        prompt(c, 0);
    reap_the_rest(5);
}

/* The demo ended by itself: its status (sl_reap's), every child reaped. */
static int finish_demo(struct console *c)
{
    int status = sl_reap(c->setup.demo, "demo");
    reap_the_rest(0);
    return status;
}

static int write_svg(struct console *c)
{
    const char *path = c->setup.asked->ladder_svg;
    struct event_text svg = { NULL, 0, 0 };
    ladder_svg(c->shown.items, c->shown.count, &svg);
    FILE *file = fopen(path, "w");
    int failed = file == NULL ||
                 fwrite(svg.data, 1, svg.length, file) != svg.length;
    failed = (file != NULL && fclose(file) != 0) || failed;
    free(svg.data);
    if (failed)
        fprintf(stderr, "%s: --ladder: %s\n", path, sl_errno(errno));
    return failed;
}

int console_run(const struct console_setup *setup)
{
    struct console c;
    memset(&c, 0, sizeof c);
    c.setup = *setup;
    c.width = sl_line_width() > 0 ? sl_line_width() : DEFAULT_WIDTH;
    c.colored = sl_color_on();
    watch_signals();
    raw_keys(&c);
    for (;;) {
        show_ready(&c);
        if (c.quit != 0 || (c.setup.feed < 0 && c.pending.count == 0))
            break;
        wait_for_input(&c);
    }
    int status;
    if (c.quit != 0) {
        stop_demo(&c);
        status = c.quit == QUIT_BROKEN ? SL_EXIT_RUNTIME : SL_EXIT_OK;
    } else {
        draw_ladder(&c);
        status = finish_demo(&c);
        if (c.setup.asked->ladder_svg != NULL && write_svg(&c) && status == 0)
            status = SL_EXIT_RUNTIME;
    }
    restore_keys(&c);
    if (c.setup.feed >= 0)
        close(c.setup.feed);
    reader_finish(&c.reader, 0, &c.pending);   /* what a quit left half-read */
    events_free(&c.pending);
    events_free(&c.shown);
    if (c.quit > 0 && c.quit < QUIT_KEY) {
        signal(c.quit, SIG_DFL);
        raise(c.quit);
    }
    return status;
}
