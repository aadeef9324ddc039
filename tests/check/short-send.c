/* short-send.c: a preload library under which every send() takes only a few bytes.
 *
 * On a local connection a blocking send() nearly always takes the whole
 * buffer, so code that ignores what send() returns seems to work. Loaded into
 * a program with LD_PRELOAD, this send() hands at most SOCKLAB_SHORT_SEND
 * bytes (default 3) to the kernel and returns how many it took, as a real
 * send() may when the send buffer is full or a signal arrives. Each send it
 * shortened is logged, one line, to the file SOCKLAB_SHORT_SEND_LOG if set,
 * after a first line "loaded", so a test can tell the library was loaded.
 *
 * Usage: cc -shared -fPIC -o short-send.so tests/check/short-send.c
 *        LD_PRELOAD=$PWD/short-send.so SOCKLAB_SHORT_SEND=3 bin/01-blocking server
 * See also: tests/check/claims.bash (short_send_library), send(2), ld.so(8).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

static void note(const char *line, size_t length)
{
    const char *path = getenv("SOCKLAB_SHORT_SEND_LOG");
    if (path == NULL || *path == '\0')
        return;
    int log = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (log == -1)
        return;
    if (write(log, line, length) == -1) {
        /* Nothing to do: the log only helps the test explain itself. */
    }
    close(log);
}

/* Runs when the library is loaded, before main (a gcc and clang extension). */
__attribute__((constructor)) static void note_loaded(void)
{
    note("loaded\n", 7);
}

static void note_short_send(int fd, size_t asked, size_t given)
{
    char line[96];
    int length = snprintf(line, sizeof line, "send(fd %d, %zu bytes): offered %zu\n", fd, asked,
                          given);
    if (length > 0)
        note(line, (size_t)length);
}

/* send(fd, data, length, flags) is sendto() with no address: calling sendto()
 * here needs no dlsym() to reach the real send(). */
ssize_t send(int fd, const void *data, size_t length, int flags)
{
    const char *text = getenv("SOCKLAB_SHORT_SEND");
    long most = text != NULL ? strtol(text, NULL, 10) : 3;
    if (most < 1)
        most = 3;
    if (length > (size_t)most) {
        note_short_send(fd, length, (size_t)most);
        length = (size_t)most;
    }
    return sendto(fd, data, length, flags, NULL, 0);
}
