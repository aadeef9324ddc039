/* pty.c: runs a command on a pseudo-terminal of its own, for the tests.
 *
 * What a teacher's terminal would be: the command's stdin, stdout and stderr
 * are the terminal, and it is the command's controlling terminal (so
 * /dev/tty opens). Whatever the command writes is copied to our stdout;
 * whatever arrives on our stdin is typed on the terminal (a test sends Enter
 * or q through a FIFO). When our stdin ends, nothing more is typed, but the
 * command runs on. The terminal is COLS x ROWS (default 80 x 24).
 *
 * Usage: pty [--cols N] [--rows N] COMMAND [ARG...] <keys >screen
 *        exits with COMMAND's status, or 128 + the signal that ended it
 * See also: tests/classroom.bats, pty(7), posix_openpt(3).
 */
#define _XOPEN_SOURCE 700  /* NOLINT(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp): the feature macro posix_openpt needs */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static _Noreturn void die(const char *what)
{
    fprintf(stderr, "pty: %s: %s\n", what, strerror(errno));
    exit(125);
}

static int copy(int from, int to)
{
    char buffer[4096];
    ssize_t n = read(from, buffer, sizeof buffer);
    if (n == -1 && errno == EINTR)
        return 1;
    if (n <= 0)
        return 0;   /* EOF, or EIO: every holder of the terminal closed it */
    for (ssize_t done = 0; done < n;) {
        ssize_t w = write(to, buffer + done, (size_t)(n - done));
        if (w == -1 && errno != EINTR)
            return 0;
        if (w > 0)
            done += w;
    }
    return 1;
}

/* In the child: a new session whose controlling terminal is the pty. */
static _Noreturn void run_on_terminal(const char *name, char **command)
{
    if (setsid() == -1)
        die("setsid");
    int tty = open(name, O_RDWR);
    if (tty == -1)
        die(name);
#ifdef TIOCSCTTY
    ioctl(tty, TIOCSCTTY, 0);
#endif
    if (dup2(tty, 0) == -1 || dup2(tty, 1) == -1 || dup2(tty, 2) == -1)
        die("dup2");
    if (tty > 2)
        close(tty);
    execvp(command[0], command);
    die(command[0]);
}

int main(int argc, char **argv)
{
    struct winsize size = { 24, 80, 0, 0 };
    int i = 1;
    for (; i + 1 < argc && strncmp(argv[i], "--", 2) == 0 && argv[i][2] != '\0'; i += 2) {
        if (strcmp(argv[i], "--cols") == 0)
            size.ws_col = (unsigned short)atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--rows") == 0)
            size.ws_row = (unsigned short)atoi(argv[i + 1]);
        else
            break;
    }
    if (i >= argc) {
        fprintf(stderr, "usage: pty [--cols N] [--rows N] COMMAND [ARG...]\n");
        return 125;
    }
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    if (master == -1 || grantpt(master) == -1 || unlockpt(master) == -1)
        die("posix_openpt");
    const char *name = ptsname(master);
    if (name == NULL)
        die("ptsname");
    ioctl(master, TIOCSWINSZ, &size);
    pid_t child = fork();
    if (child == -1)
        die("fork");
    if (child == 0) {
        close(master);
        run_on_terminal(name, argv + i);
    }
    struct pollfd fds[2] = { { master, POLLIN, 0 }, { STDIN_FILENO, POLLIN, 0 } };
    for (;;) {
        if (poll(fds, 2, -1) == -1 && errno != EINTR)
            die("poll");
        if (fds[0].revents && !copy(master, STDOUT_FILENO))
            break;
        if (fds[1].revents && !copy(STDIN_FILENO, master))
            fds[1].fd = -1;     /* no more keys; the command goes on */
    }
    int status;
    while (waitpid(child, &status, 0) == -1) {
        if (errno != EINTR)
            die("waitpid");
    }
    return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}
