/* narrate.c: narration lines, errno names, addresses, and the exits.
 *
 * Each narration line leaves in one write(2), so lines from forked servers
 * and clients sharing a terminal never interleave mid-line. Colour and
 * wrapping happen here, after the text is formatted, so what a line says is
 * the same with or without them (tests read it plain).
 *
 * See also: common/narrate.h for each function's contract.
 */
#include "narrate.h"

#include "proc.h"

#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

static const char *program_name = "socklab";
static const char *narration_role = "socklab";
static int quiet;
static enum sl_color color_when = SL_COLOR_AUTO;
static int width_setting;
/* Record mode (the classroom console reads the demo): stderr is its pipe. */
static int recording;
static int scene_gate = -1;

void sl_set_program_name(const char *name)
{
    program_name = name;
}

void sl_set_role(const char *role)
{
    narration_role = role;
#ifdef __linux__
    /* The process takes its role's name (the first 15 bytes), as ps and
     * /proc/PID/comm show it: the wire tap names a connection's ends by the
     * processes holding them, "client A -> server", through it. A failure
     * (none is known for a valid pointer) would only cost the tap a name. */
    (void)prctl(PR_SET_NAME, role, 0, 0, 0);
#endif
}

void sl_set_quiet(int on)
{
    quiet = on;
}

void sl_set_color(enum sl_color when)
{
    color_when = when;
}

void sl_set_width(int width)
{
    width_setting = width;
}

void sl_set_record_mode(int gate_fd)
{
    recording = 1;
    scene_gate = gate_fd;
}

/* ---- errno by name ---------------------------------------------------------- */

#define NAME(e) { e, #e }
static const struct { int number; const char *name; } errno_names[] = {
    NAME(EPERM), NAME(ENOENT), NAME(EINTR), NAME(EIO), NAME(EBADF), NAME(EAGAIN),
    NAME(ENOMEM), NAME(EACCES), NAME(EFAULT), NAME(EBUSY), NAME(EEXIST), NAME(EINVAL),
    NAME(ENFILE), NAME(EMFILE), NAME(ENOSPC), NAME(EPIPE), NAME(ERANGE), NAME(ENOSYS),
    NAME(ENOTSOCK), NAME(EDESTADDRREQ), NAME(EMSGSIZE), NAME(EPROTOTYPE), NAME(ENOPROTOOPT),
    NAME(EPROTONOSUPPORT), NAME(EOPNOTSUPP), NAME(EAFNOSUPPORT), NAME(EADDRINUSE),
    NAME(EADDRNOTAVAIL), NAME(ENETDOWN), NAME(ENETUNREACH), NAME(ENETRESET),
    NAME(ECONNABORTED), NAME(ECONNRESET), NAME(ENOBUFS), NAME(EISCONN), NAME(ENOTCONN),
    NAME(ETIMEDOUT), NAME(ECONNREFUSED), NAME(EHOSTUNREACH), NAME(EALREADY),
    NAME(EINPROGRESS), NAME(ECHILD), NAME(ESRCH), NAME(E2BIG), NAME(ENOTDIR),
    NAME(EISDIR), NAME(ESPIPE), NAME(EROFS), NAME(ENAMETOOLONG), NAME(EOVERFLOW),
#if defined(EWOULDBLOCK) && EWOULDBLOCK != EAGAIN
    NAME(EWOULDBLOCK),
#endif
#ifdef EHOSTDOWN
    NAME(EHOSTDOWN),
#endif
#ifdef ESHUTDOWN
    NAME(ESHUTDOWN),
#endif
};
#undef NAME

const char *sl_errno_name(int err)
{
    for (size_t i = 0; i < sizeof errno_names / sizeof errno_names[0]; i++) {
        if (errno_names[i].number == err)
            return errno_names[i].name;
    }
    return "E?";
}

/* Four rotating buffers: a line may name two errors before it is printed. */
static char *next_buffer(void)
{
    static char buffers[4][160];
    static unsigned next;
    return buffers[next++ % 4];
}

const char *sl_errno(int err)
{
    char *text = next_buffer();
    snprintf(text, 160, "%s (%s)", sl_errno_name(err), strerror(err));
    return text;
}

const char *sl_plural(long long count, const char *noun)
{
    char *text = next_buffer();
    snprintf(text, 160, "%lld %s%s", count, noun, count == 1 ? "" : "s");
    return text;
}

const char *sl_format_address(const struct sockaddr *address, socklen_t length, char *buf)
{
    char host[INET6_ADDRSTRLEN + 16], port[8];   /* + 16: room for a %scope suffix */
    int rc = getnameinfo(address, length, host, sizeof host, port, sizeof port,
                         NI_NUMERICHOST | NI_NUMERICSERV);
    if (rc != 0)
        snprintf(buf, SL_ADDR_STRLEN, "?");
    else if (address->sa_family == AF_INET6)
        snprintf(buf, SL_ADDR_STRLEN, "[%s]:%s", host, port);
    else
        snprintf(buf, SL_ADDR_STRLEN, "%s:%s", host, port);
    return buf;
}

/* ---- colour and width ------------------------------------------------------- */

int sl_color_on(void)
{
    if (color_when != SL_COLOR_AUTO)
        return color_when == SL_COLOR_ALWAYS;
    const char *no_color = getenv("NO_COLOR");
    return (no_color == NULL || no_color[0] == '\0') && isatty(STDERR_FILENO);
}

/* The same role gets the same colour in every scene and every chapter: the
 * two main roles are fixed, the others chosen by their name. */
const char *sl_role_color(const char *role)
{
    static const char *const others[] = { "35", "32", "34", "36;1", "33;1", "35;1", "32;1" };
    if (strcmp(role, "server") == 0)
        return "36";
    if (strcmp(role, "client") == 0)
        return "33";
    if (strcmp(role, "wire") == 0)
        return "90";
    unsigned hash = 5381;
    for (const char *p = role; *p != '\0'; p++)
        hash = hash * 33 + (unsigned char)*p;
    return others[hash % (sizeof others / sizeof others[0])];
}

int sl_line_width(void)
{
    if (width_setting > 0)
        return width_setting;
    struct winsize size;
    if (isatty(STDERR_FILENO) && ioctl(STDERR_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0)
        return size.ws_col;
    return 0;
}

/* Appends TEXT to OUT (capacity SIZE, USED so far), never overflowing. */
static size_t append(char *out, size_t size, size_t used, const char *text, size_t length)
{
    if (used + length >= size)
        length = used < size ? size - used - 1 : 0;
    memcpy(out + used, text, length);
    out[used + length] = '\0';
    return used + length;
}

size_t sl_break_point(const char *text, size_t length, size_t room)
{
    if (length <= room)
        return length;
    for (size_t i = room; i > 0; i--) {
        if (text[i] == ' ')
            return i;
    }
    return room;
}

/* Lays out "[ROLE] text" as one or more rows, each at most WIDTH columns
 * (0: one row), continuation rows indented under the text. */
static size_t layout(char *out, size_t size, const char *role, const char *text, int width,
                     int colored)
{
    char prefix[80];
    snprintf(prefix, sizeof prefix, "[%s] ", role);
    int failure = strstr(text, "-> -1") != NULL;
    size_t prefix_length = strlen(prefix), used = 0, length = strlen(text);
    size_t room = width > 0 && (size_t)width > prefix_length + 20 ? (size_t)width - prefix_length
                                                                   : (size_t)-1;
    const char *color = colored ? sl_role_color(role) : NULL;
    char open[16];
    snprintf(open, sizeof open, "\033[%sm", color ? color : "0");
    int first = 1;
    while (first || length > 0) {
        size_t cut = sl_break_point(text, length, first ? room : room - 2);
        if (color)
            used = append(out, size, used, open, strlen(open));
        used = append(out, size, used, prefix, prefix_length - 1);
        used = append(out, size, used, first ? " " : "   ", first ? 1 : 3);
        if (color && failure)
            used = append(out, size, used, "\033[31;1m", 7);
        else if (color)
            used = append(out, size, used, "\033[0m", 4);
        used = append(out, size, used, text, cut);
        if (color && failure)
            used = append(out, size, used, "\033[0m", 4);
        used = append(out, size, used, "\n", 1);
        while (cut < length && text[cut] == ' ')
            cut++;
        text += cut;
        length -= cut;
        first = 0;
    }
    return used;
}

size_t sl_render_line(const char *role, const char *text, int width, int colored, char *out,
                      size_t size)
{
    return layout(out, size, role, text, width, colored);
}

size_t sl_render_scene(const char *title, int colored, char *out, size_t size)
{
    int length = snprintf(out, size, "\n%s== %s%s\n", colored ? "\033[1m" : "", title,
                          colored ? "\033[0m" : "");
    if (length < 0)
        return 0;
    return (size_t)length < size ? (size_t)length : size - 1;
}

static void write_all(int fd, const char *data, size_t length)
{
    for (size_t written = 0; written < length;) {
        ssize_t n = write(fd, data + written, length - written);
        if (n <= 0 && errno != EINTR)
            return;
        if (n > 0)
            written += (size_t)n;
    }
}

/* One record for the console: "\036" KIND " " SECONDS " " ROLE "\t" TEXT "\n",
 * newlines in TEXT turned into spaces, in one write of at most PIPE_BUF bytes
 * (a pipe never splits or mixes writes that small). The console gone, no one
 * is watching: the process ends quietly. */
static void write_record(char kind, double when, const char *text)
{
    char record[PIPE_BUF];
    int length = snprintf(record, sizeof record, "%c%c %.6f %s\t%s", SL_RECORD_MARK, kind, when,
                          narration_role, text);
    if (length < 0)
        return;
    size_t used = (size_t)length < sizeof record - 1 ? (size_t)length : sizeof record - 2;
    for (size_t i = 1; i < used; i++) {
        if (record[i] == '\n')
            record[i] = ' ';
    }
    record[used++] = '\n';
    ssize_t n;
    while ((n = write(STDERR_FILENO, record, used)) == -1 && errno == EINTR)
        continue;
    if (n == -1 && errno == EPIPE)
        _exit(SL_EXIT_RUNTIME);
}

/* One formatted narration line, laid out and written in one write(2), or
 * handed to the console as a record. */
static void emit(double when, const char *text)
{
    if (recording) {
        if (when < 0)
            write_record('N', sl_now(), text);
        else
            write_record('A', when, text);
        return;
    }
    char line[4096];
    size_t length = layout(line, sizeof line, narration_role, text, sl_line_width(), sl_color_on());
    write_all(STDERR_FILENO, line, length);
}

static void (*narration_hook)(void);

void sl_set_narration_hook(void (*hook)(void))
{
    narration_hook = hook;
}

/* Formats and emits one line at WHEN (-1: now), errno left as it was:
 * callers narrate a failure and then look at errno. */
__attribute__((format(printf, 2, 0)))
static void narrate_v(double when, const char *format, va_list ap)
{
    int saved_errno = errno;
    char text[1024];
    vsnprintf(text, sizeof text, format, ap);
    emit(when, text);
    errno = saved_errno;
}

void sl_narrate(const char *format, ...)
{
    if (narration_hook != NULL) {
        /* Even when quiet: it watches the calls, not the text. */
        int saved_errno = errno;
        narration_hook();
        errno = saved_errno;
    }
    if (quiet)
        return;
    va_list ap;
    va_start(ap, format);
    narrate_v(-1, format, ap);
    va_end(ap);
}

void sl_narrate_at(double when, const char *format, ...)
{
    if (quiet)
        return;
    va_list ap;
    va_start(ap, format);
    narrate_v(when, format, ap);
    va_end(ap);
}

void sl_scene(const char *title)
{
    int saved_errno = errno;
    fflush(stdout);
    if (recording) {
        write_record('S', sl_now(), title);
        /* --step: the console lets the demo into the scene when the teacher
         * asks for it, one byte per scene; EOF (no console) lets it run. */
        char go;
        while (scene_gate >= 0 && read(scene_gate, &go, 1) == -1 && errno == EINTR)
            continue;
    } else {
        char line[512];
        size_t length = sl_render_scene(title, sl_color_on(), line, sizeof line);
        write_all(STDERR_FILENO, line, length);
    }
    errno = saved_errno;
}

/* ---- ending the program ----------------------------------------------------- */

/* The callers format LINE and va_end() their arguments first: C wants every
 * va_start matched by a va_end in the same function, even one that exits. */
static _Noreturn void fail_with(int status, const char *suffix, const char *line)
{
    fflush(stdout);
    if (recording) {
        char message[1024];
        snprintf(message, sizeof message, "%s: %s%s", program_name, line, suffix);
        write_record('E', sl_now(), message);
    } else {
        fprintf(stderr, "%s: %s%s\n", program_name, line, suffix);
    }
    exit(status);
}

void sl_fail(const char *format, ...)
{
    char line[900];
    va_list ap;
    va_start(ap, format);
    vsnprintf(line, sizeof line, format, ap);
    va_end(ap);
    fail_with(SL_EXIT_RUNTIME, "", line);
}

void sl_fail_status(int status, const char *format, ...)
{
    char line[900];
    va_list ap;
    va_start(ap, format);
    vsnprintf(line, sizeof line, format, ap);
    va_end(ap);
    fail_with(status, "", line);
}

void sl_fail_errno(const char *call)
{
    sl_fail("%s: %s", call, sl_errno(errno));
}

void sl_usage_error(const char *format, ...)
{
    char line[900];
    va_list ap;
    va_start(ap, format);
    vsnprintf(line, sizeof line, format, ap);
    va_end(ap);
    fail_with(SL_EXIT_USAGE, " (try --help)", line);
}
