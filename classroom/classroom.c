/* classroom.c: starts the classroom machinery for a demo.
 *
 * With no classroom option the demo runs as it always did. Otherwise the
 * program splits in two: the child runs the demo in a process group of its
 * own, its stdout and stderr one pipe, its narration written as records;
 * the parent becomes the console (console.c) that shows it. One pipe for
 * both, so the order the demo wrote things in is the order they arrive in.
 *
 * See also: classroom.h, console.h, common/narrate.h (record mode).
 */
#include "classroom.h"

#include "cli.h"
#include "console.h"
#include "narrate.h"
#include "proc.h"
#include "wiretap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

static int anything_asked(const struct sl_classroom *asked)
{
    return asked->step || asked->pace_ms > 0 || asked->columns || asked->ladder || asked->wire;
}

/* --step reads Enter and q from the terminal itself, so that it works with
 * the output piped; no terminal, no stepping. */
static int open_terminal(void)
{
    int tty = open("/dev/tty", O_RDWR | O_NOCTTY);
    if (tty == -1)
        sl_fail_status(SL_EXIT_USAGE, "--step: no terminal to read Enter from (/dev/tty: %s)",
                       sl_errno(errno));
    if (fcntl(tty, F_SETFD, FD_CLOEXEC) == -1)
        sl_fail_errno("fcntl");
    return tty;
}

/* In the child: the pipe as stdout and stderr, line-buffered as a terminal
 * would be (so lines leave when they are printed), the narration as
 * records; the terminal, if stdin is one, left to the console's keys. */
static void become_demo(int feed[2], int gate[2], int tty)
{
    if (setpgid(0, 0) == -1)
        sl_fail_errno("setpgid");
    if (dup2(feed[1], STDOUT_FILENO) == -1 || dup2(feed[1], STDERR_FILENO) == -1)
        sl_fail_errno("dup2");
    close(feed[0]);
    close(feed[1]);
    if (gate[1] >= 0)
        close(gate[1]);
    if (tty >= 0)
        close(tty);
    if (isatty(STDIN_FILENO)) {
        int null = open("/dev/null", O_RDONLY);
        if (null == -1 || dup2(null, STDIN_FILENO) == -1)
            sl_fail_errno("/dev/null");
        close(null);
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    sl_set_record_mode(gate[0]);
}

void classroom_begin(void)
{
    const struct sl_classroom *asked = sl_classroom_options();
    if (!anything_asked(asked))
        return;
    int tty = asked->step ? open_terminal() : -1;
    int feed[2], gate[2] = { -1, -1 };
    if (pipe(feed) == -1 || (asked->step && pipe(gate) == -1))
        sl_fail_errno("pipe");
#ifdef __linux__
    /* Processes the demo leaves orphaned come to the console, which can
     * then reap every one of them, not only its own child. */
    prctl(PR_SET_CHILD_SUBREAPER, 1);
#endif
    pid_t demo = sl_fork();
    if (demo == 0) {
        become_demo(feed, gate, tty);
        if (asked->wire)
            wire_begin();
        return;
    }
    /* Both sides set the group, so that neither can act on it too early. */
    if (setpgid(demo, demo) == -1 && errno != EACCES)
        sl_fail_errno("setpgid");
    close(feed[1]);
    if (gate[0] >= 0)
        close(gate[0]);
    struct console_setup setup = { asked, demo, feed[0], gate[1], tty };
    exit(console_run(&setup));
}
