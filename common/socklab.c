/* socklab.c
 *
 * The plumbing shared by every socklab chapter: command line, narration,
 * ready line, address formatting, exits. Helpers that can fail return -1
 * with errno set (or a reason in a caller's buffer) and never exit; only the
 * sl_fail and sl_usage_error family ends the program.
 *
 * See also: common/socklab.h for each function's contract.
 */
#include "socklab.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *program_name = "socklab";
static const char *narration_role = "socklab";
static int quiet;

/* ---- numbers ------------------------------------------------------------ */

int sl_parse_integer(const char *text, long long min, long long max, long long *out)
{
    const char *digits = (text[0] == '-') ? text + 1 : text;
    if (digits[0] == '\0') {
        errno = EINVAL;
        return -1;
    }
    for (const char *p = digits; *p != '\0'; p++) {
        if (*p < '0' || *p > '9') {
            errno = EINVAL;
            return -1;
        }
    }
    errno = 0;
    long long value = strtoll(text, NULL, 10);
    if (errno == ERANGE || value < min || value > max) {
        errno = ERANGE;
        return -1;
    }
    *out = value;
    return 0;
}

int sl_parse_size(const char *text, long long min, long long max, long long *out)
{
    size_t length = strlen(text);
    long long multiplier = 1;

    if (length > 0) {
        switch (text[length - 1]) {
        case 'K': case 'k': multiplier = 1024LL; break;
        case 'M': case 'm': multiplier = 1024LL * 1024; break;
        case 'G': case 'g': multiplier = 1024LL * 1024 * 1024; break;
        default: break;
        }
    }
    if (multiplier != 1)
        length--;
    /* The number before the suffix: an optional '-', then digits and nothing else. */
    size_t sign = (text[0] == '-') ? 1 : 0;
    if (length <= sign || strspn(text + sign, "0123456789") != length - sign) {
        errno = EINVAL;
        return -1;
    }
    errno = 0;
    long long value = strtoll(text, NULL, 10);     /* stops at the suffix */
    /* Compare before multiplying: a product past long long would be undefined. */
    if (errno == ERANGE || value > LLONG_MAX / multiplier || value < LLONG_MIN / multiplier ||
        value * multiplier < min || value * multiplier > max) {
        errno = ERANGE;
        return -1;
    }
    *out = value * multiplier;
    return 0;
}

int sl_parse_seconds(const char *text, double min, double max, double *out)
{
    /* Only plain decimals: strtod alone would take "inf", "nan" and hex. */
    size_t integer_digits = strspn(text, "0123456789");
    const char *rest = text + integer_digits;
    size_t fraction_digits = 0;
    if (*rest == '.') {
        fraction_digits = strspn(rest + 1, "0123456789");
        rest += 1 + fraction_digits;
    }
    if (*rest != '\0' || integer_digits + fraction_digits == 0 || integer_digits > 12) {
        errno = (*rest == '\0' && integer_digits > 12) ? ERANGE : EINVAL;
        return -1;
    }
    double value = strtod(text, NULL);
    if (!isfinite(value) || value < min || value > max) {
        errno = ERANGE;
        return -1;
    }
    *out = value;
    return 0;
}

/* ---- the command line --------------------------------------------------- */

static int applies_to_role(const struct sl_option *option, const char *role)
{
    if (option->roles == NULL || role == NULL)
        return 1;
    size_t length = strlen(role);
    for (const char *p = option->roles; (p = strstr(p, role)) != NULL; p += length) {
        int starts_word = (p == option->roles || p[-1] == ' ');
        int ends_word = (p[length] == '\0' || p[length] == ' ');
        if (starts_word && ends_word)
            return 1;
    }
    return 0;
}

static void print_option_help(const struct sl_option *option)
{
    char left[48];
    snprintf(left, sizeof left, "%s%s%s", option->name,
             option->arg ? " " : "", option->arg ? option->arg : "");
    if (option->roles != NULL)
        printf("  %-24s (%s) %s\n", left, option->roles, option->help);
    else
        printf("  %-24s %s\n", left, option->help);
}

/* --help for the whole program (role NULL) or for one role. */
static _Noreturn void print_help(const struct sl_program *program, const struct sl_role *role)
{
    printf("%s: %s\n\n", program->name, program->summary);
    printf("usage: %s %s [OPTIONS]%s%s\n", program->name, role ? role->name : "ROLE",
           (role && role->args) ? " " : "", (role && role->args) ? role->args : "");
    if (role == NULL) {
        printf("\nroles:\n");
        for (const struct sl_role *r = program->roles; r->name != NULL; r++) {
            char left[48];
            snprintf(left, sizeof left, "%s%s%s", r->name, r->args ? " " : "",
                     r->args ? r->args : "");
            printf("  %-24s %s\n", left, r->help);
        }
    } else {
        printf("\n%s\n", role->help);
    }
    printf("\noptions:\n");
    for (const struct sl_option *o = program->options; o->name != NULL; o++) {
        if (applies_to_role(o, role ? role->name : NULL))
            print_option_help(o);
    }
    printf("  %-24s %s\n", "--quiet", "no narration on stderr");
    printf("  %-24s %s\n", "--help", "this help (also after a role)");
    printf("\nexit status: 0 success, 1 runtime failure, 2 bad usage\n");
    if (program->epilog != NULL)
        printf("%s", program->epilog);
    fflush(stdout);
    exit(SL_EXIT_OK);
}

static const char *kind_expectation(enum sl_option_kind kind)
{
    switch (kind) {
    case SL_SIZE: return "a byte count like 4096 or 64M";
    case SL_SECONDS: return "a number of seconds like 2 or 0.5";
    default: return "a whole number";
    }
}

/* Stores an option's value, or exits 2 naming the option and the problem. */
static void store_option(const struct sl_option *option, const char *text)
{
    long long whole;
    double seconds;
    int failed;

    switch (option->kind) {
    case SL_FLAG:
        *(int *)option->value = 1;
        return;
    case SL_TEXT:
        *(const char **)option->value = text;
        return;
    case SL_LIST: {
        struct sl_list *list = option->value;
        if (list->count >= SL_LIST_MAX)
            sl_usage_error("%s: at most %d of them", option->name, SL_LIST_MAX);
        list->items[list->count++] = text;
        return;
    }
    case SL_INT:
        failed = sl_parse_integer(text, (long long)option->min, (long long)option->max, &whole);
        if (!failed)
            *(int *)option->value = (int)whole;
        break;
    case SL_SIZE:
        failed = sl_parse_size(text, (long long)option->min, (long long)option->max, &whole);
        if (!failed)
            *(long long *)option->value = whole;
        break;
    case SL_SECONDS:
        failed = sl_parse_seconds(text, option->min, option->max, &seconds);
        if (!failed)
            *(double *)option->value = seconds;
        break;
    default:
        failed = 1;
        errno = EINVAL;
        break;
    }
    if (failed && errno == ERANGE)
        sl_usage_error("%s: '%s' is out of range (%.15g to %.15g)", option->name, text,
                       option->min, option->max);
    if (failed)
        sl_usage_error("%s: '%s' is not %s", option->name, text, kind_expectation(option->kind));
}

static const struct sl_option *find_option(const struct sl_program *program, const char *name,
                                           size_t name_length)
{
    for (const struct sl_option *o = program->options; o->name != NULL; o++) {
        if (strlen(o->name) == name_length && strncmp(o->name, name, name_length) == 0)
            return o;
    }
    return NULL;
}

static const struct sl_role *find_role(const struct sl_program *program, const char *name)
{
    for (const struct sl_role *r = program->roles; r->name != NULL; r++) {
        if (strcmp(r->name, name) == 0)
            return r;
    }
    return NULL;
}

static void list_roles(const struct sl_program *program, char *buf, size_t size)
{
    buf[0] = '\0';
    for (const struct sl_role *r = program->roles; r->name != NULL; r++) {
        size_t used = strlen(buf);
        snprintf(buf + used, size - used, "%s%s", used ? ", " : "", r->name);
    }
}

/* A word that starts with '-' but is a negative number is an argument. */
static int is_negative_number(const char *word)
{
    return word[0] == '-' && word[1] >= '0' && word[1] <= '9';
}

/* A program started with stdin, stdout or stderr closed would get its first
 * socket as fd 0, 1 or 2, and then send its narration or output down the
 * connection. Occupy any closed one with /dev/null first. */
static void keep_standard_fds_open(void)
{
    int fd;
    while ((fd = open("/dev/null", O_RDWR)) >= 0 && fd <= STDERR_FILENO)
        continue;
    if (fd > STDERR_FILENO)
        close(fd);
}

struct sl_args sl_parse_command_line(const struct sl_program *program, int argc, char **argv)
{
    struct sl_args args = { NULL, NULL, 0 };
    char roles[256];

    keep_standard_fds_open();
    program_name = program->name;
    list_roles(program, roles, sizeof roles);
    if (argc < 2)
        sl_usage_error("missing ROLE (one of: %s)", roles);
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
        print_help(program, NULL);
    const struct sl_role *role = find_role(program, argv[1]);
    if (role == NULL)
        sl_usage_error("unknown role '%s' (one of: %s)", argv[1], roles);
    args.role = role->name;
    sl_set_role(role->name);

    /* Positional arguments are gathered at the front of argv[2..] in order. */
    args.argv = argv + 2;
    int only_arguments = 0;
    for (int i = 2; i < argc; i++) {
        const char *word = argv[i];
        if (only_arguments || word[0] != '-' || word[1] == '\0' || is_negative_number(word)) {
            if (args.argc >= role->max_args)
                sl_usage_error("unexpected argument '%s' for %s", word, role->name);
            args.argv[args.argc++] = argv[i];
            continue;
        }
        if (strcmp(word, "--") == 0) {
            only_arguments = 1;
            continue;
        }
        if (strcmp(word, "--help") == 0 || strcmp(word, "-h") == 0)
            print_help(program, role);
        if (strcmp(word, "--quiet") == 0) {
            quiet = 1;
            continue;
        }
        const char *equals = strchr(word, '=');
        size_t name_length = equals ? (size_t)(equals - word) : strlen(word);
        const struct sl_option *option = find_option(program, word, name_length);
        if (option == NULL)
            sl_usage_error("unknown option '%.*s'", (int)name_length, word);
        if (!applies_to_role(option, role->name))
            sl_usage_error("%s is not a %s option (it is for: %s)", option->name, role->name,
                           option->roles);
        if (option->kind == SL_FLAG) {
            if (equals != NULL)
                sl_usage_error("%s takes no value", option->name);
            store_option(option, NULL);
            continue;
        }
        const char *value = equals ? equals + 1 : NULL;
        if (value == NULL) {
            if (i + 1 >= argc)
                sl_usage_error("%s needs a value (%s)", option->name, option->arg);
            value = argv[++i];
        }
        store_option(option, value);
    }
    return args;
}

/* ---- what the program says ---------------------------------------------- */

void sl_set_role(const char *role)
{
    narration_role = role;
}

int sl_is_quiet(void)
{
    return quiet;
}

void sl_set_quiet(int on)
{
    quiet = on;
}

/* One write(2) per line, so lines from a forked server and client never interleave. */
__attribute__((format(printf, 2, 0)))
static void write_line_to_stderr(const char *prefix, const char *format, va_list ap)
{
    char line[1024];
    int used = snprintf(line, sizeof line, "%s", prefix);
    if (used < 0)
        return;
    int more = vsnprintf(line + used, sizeof line - (size_t)used, format, ap);
    size_t length = (more < 0) ? (size_t)used : strlen(line);
    if (length > sizeof line - 2)
        length = sizeof line - 2;
    line[length++] = '\n';
    for (size_t written = 0; written < length;) {
        ssize_t n = write(STDERR_FILENO, line + written, length - written);
        if (n <= 0 && errno != EINTR)
            return;
        if (n > 0)
            written += (size_t)n;
    }
}

void sl_narrate(const char *format, ...)
{
    if (quiet)
        return;
    /* Callers narrate a failure and then look at errno: leave it as it was. */
    int saved_errno = errno;
    char prefix[64];
    snprintf(prefix, sizeof prefix, "[%s] ", narration_role);
    va_list ap;
    va_start(ap, format);
    write_line_to_stderr(prefix, format, ap);
    va_end(ap);
    errno = saved_errno;
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

const char *sl_peer_address(int fd, char *buf)
{
    struct sockaddr_storage address;
    socklen_t length = sizeof address;
    if (getpeername(fd, (struct sockaddr *)&address, &length) == -1) {
        snprintf(buf, SL_ADDR_STRLEN, "?");
        return buf;
    }
    return sl_format_address((struct sockaddr *)&address, length, buf);
}

const char *sl_local_address(int fd, char *buf)
{
    struct sockaddr_storage address;
    socklen_t length = sizeof address;
    if (getsockname(fd, (struct sockaddr *)&address, &length) == -1) {
        snprintf(buf, SL_ADDR_STRLEN, "?");
        return buf;
    }
    return sl_format_address((struct sockaddr *)&address, length, buf);
}

int sl_local_port(int fd)
{
    struct sockaddr_storage address;
    socklen_t length = sizeof address;
    if (getsockname(fd, (struct sockaddr *)&address, &length) == -1)
        sl_fail_errno("getsockname");
    if (address.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&address)->sin6_port);
    return ntohs(((struct sockaddr_in *)&address)->sin_port);
}

int sl_announce_listening(int fd)
{
    struct sockaddr_storage address;
    socklen_t length = sizeof address;
    char text[SL_ADDR_STRLEN];
    if (getsockname(fd, (struct sockaddr *)&address, &length) == -1)
        return -1;
    printf("listening on %s\n", sl_format_address((struct sockaddr *)&address, length, text));
    fflush(stdout);
    return 0;
}

pid_t sl_fork(void)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == -1)
        sl_fail_errno("fork");
    return pid;
}

double sl_now(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

/* ---- ending the program ------------------------------------------------- */

/* The callers format LINE and va_end() their arguments first: C wants every
 * va_start matched by a va_end in the same function, even one that exits. */
static _Noreturn void fail_with(int status, const char *suffix, const char *line)
{
    fflush(stdout);
    fprintf(stderr, "%s: %s%s\n", program_name, line, suffix);
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

void sl_fail_errno(const char *call)
{
    sl_fail("%s: %s", call, strerror(errno));
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

/* ---- plumbing from chapter 1 on ----------------------------------------- */

static const char *family_name(int family)
{
    return family == AF_INET6 ? "AF_INET6" : family == AF_INET ? "AF_INET" : "AF_?";
}

static struct addrinfo *resolve(const char *host, int port, int passive, char *why, size_t why_size)
{
    struct addrinfo hints, *found = NULL;
    char service[8];
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = passive ? AI_PASSIVE : 0;
    snprintf(service, sizeof service, "%d", port);
    int rc = getaddrinfo(host, service, &hints, &found);
    if (rc != 0) {
        /* getaddrinfo reports through its return value, not errno. */
        snprintf(why, why_size, "getaddrinfo %s: %s", host,
                 rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
        return NULL;
    }
    return found;
}

static void note_failure(const char *call, char *why, size_t why_size)
{
    snprintf(why, why_size, "%s: %s", call, strerror(errno));
    sl_narrate("%s() -> -1 (%s)", call, strerror(errno));
}

/* SO_REUSEADDR, bind and listen on a fresh socket: 0, or -1 with a reason in why. */
static int prepare_listener(int fd, const struct addrinfo *ai, int backlog, char *why,
                            size_t why_size)
{
    char text[SL_ADDR_STRLEN];
    /* A restarted server must not wait for old connections in TIME_WAIT. */
    int on = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) == -1) {
        note_failure("setsockopt SO_REUSEADDR", why, why_size);
        return -1;
    }
    sl_narrate("setsockopt(SO_REUSEADDR, 1) -> 0");
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) == -1) {
        note_failure("bind", why, why_size);
        return -1;
    }
    sl_narrate("bind(%s) -> 0", sl_format_address(ai->ai_addr, ai->ai_addrlen, text));
    if (listen(fd, backlog) == -1) {
        note_failure("listen", why, why_size);
        return -1;
    }
    sl_narrate("listen(fd %d, backlog %d) -> 0", fd, backlog);
    return 0;
}

int sl_open_listener(const char *address, int port, int backlog, char *why, size_t why_size)
{
    struct addrinfo *found = resolve(address, port, 1, why, why_size);
    if (found == NULL)
        return -1;
    int fd = -1;
    for (struct addrinfo *ai = found; ai != NULL && fd == -1; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd == -1) {
            note_failure("socket", why, why_size);
            continue;
        }
        sl_narrate("socket(%s, SOCK_STREAM) -> fd %d", family_name(ai->ai_family), fd);
        if (prepare_listener(fd, ai, backlog, why, why_size) == -1) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(found);
    return fd;
}

int sl_connect_to_host(const char *host, int port, char *why, size_t why_size)
{
    struct addrinfo *found = resolve(host, port, 0, why, why_size);
    if (found == NULL)
        return -1;
    int fd = -1;
    for (struct addrinfo *ai = found; ai != NULL && fd == -1; ai = ai->ai_next) {
        char text[SL_ADDR_STRLEN];
        sl_format_address(ai->ai_addr, ai->ai_addrlen, text);
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd == -1) {
            note_failure("socket", why, why_size);
            continue;
        }
        sl_narrate("socket(%s, SOCK_STREAM) -> fd %d", family_name(ai->ai_family), fd);
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == -1) {
            snprintf(why, why_size, "connect: %s", strerror(errno));
            sl_narrate("connect(%s) -> -1 (%s)", text, strerror(errno));
            close(fd);
            fd = -1;
            continue;
        }
        char local[SL_ADDR_STRLEN];
        sl_narrate("connect(%s) -> 0, from %s", text, sl_local_address(fd, local));
    }
    freeaddrinfo(found);
    return fd;
}

int sl_listen_or_exit(const char *address, int port, int backlog)
{
    char why[256];
    int listener = sl_open_listener(address, port, backlog, why, sizeof why);
    if (listener == -1)
        sl_fail("%s", why);
    return listener;
}

int sl_connect_or_exit(const char *host, int port)
{
    char why[256];
    int fd = sl_connect_to_host(host, port, why, sizeof why);
    if (fd == -1)
        sl_fail("%s", why);
    return fd;
}

int sl_accept_client(int listener)
{
    struct sockaddr_storage peer;
    socklen_t peer_length = sizeof peer;
    int client;
    sl_narrate("accept(fd %d) ... (blocks until a client connects)", listener);
    do {
        peer_length = sizeof peer;
        client = accept(listener, (struct sockaddr *)&peer, &peer_length);
    } while (client == -1 && errno == EINTR);
    if (client == -1) {
        int saved = errno;
        sl_narrate("accept(fd %d) -> -1 (%s)", listener, strerror(saved));
        errno = saved;
        return -1;
    }
    char text[SL_ADDR_STRLEN];
    sl_narrate("accept(fd %d) -> fd %d from %s", listener, client,
               sl_format_address((struct sockaddr *)&peer, peer_length, text));
    return client;
}

int sl_send_all(int fd, const void *data, size_t length, const char *what)
{
    const char *bytes = data;
    const char *separator = what ? ": " : "";
    if (what == NULL)
        what = "";
    size_t sent = 0;
    while (sent < length) {
        ssize_t n = send(fd, bytes + sent, length - sent, 0);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1) {
            int saved = errno;
            sl_narrate("send(fd %d, %zu bytes%s%s) -> -1 (%s)", fd, length - sent, separator,
                       what, strerror(saved));
            errno = saved;
            return -1;
        }
        sl_narrate("send(fd %d, %zu bytes%s%s) -> %zd", fd, length - sent, separator, what, n);
        sent += (size_t)n;
    }
    return 0;
}
