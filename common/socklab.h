/* socklab.h
 *
 * The plumbing every socklab chapter repeats and that is not the lesson:
 * the command line (roles, options, numbers with range checks, --help),
 * narration lines, the ready line, address formatting and the 0/1/2 exit
 * convention. No socket call that a lesson is about is hidden in here.
 *
 * Usage: a chapter declares its roles and options in two tables and calls
 *        sl_parse_command_line(); see chapters/01-blocking/blocking.c.
 * See also: ../shared/COURSE.md (the contract), common/socklab.c.
 */
#ifndef SOCKLAB_H
#define SOCKLAB_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

/* Exit statuses shared by every chapter; a chapter may add its own (>= 3). */
enum { SL_EXIT_OK = 0, SL_EXIT_RUNTIME = 1, SL_EXIT_USAGE = 2 };

/* Room for "[" IPv6 "%" scope "]:" port and the terminating NUL. */
#define SL_ADDR_STRLEN 96

/* ---- the command line --------------------------------------------------- */

enum sl_option_kind {
    SL_FLAG,    /* no value; sets an int to 1 */
    SL_TEXT,    /* any text, even empty; stores a const char * */
    SL_INT,     /* a whole number in [min, max]; stores an int */
    SL_SIZE,    /* a byte count in [min, max], K/M/G suffixes (1024s); stores a long long */
    SL_SECONDS, /* a decimal number of seconds in [min, max]; stores a double */
    SL_LIST     /* text, repeatable; appends to a struct sl_list */
};

/* Where a repeatable option (SL_LIST) collects its values, in order. */
#define SL_LIST_MAX 64
struct sl_list {
    const char *items[SL_LIST_MAX];
    int count;
};

struct sl_option {
    const char *name;           /* with its dashes: "--port" */
    enum sl_option_kind kind;
    void *value;                /* where the parsed value goes (type by kind) */
    double min, max;            /* the accepted range, for numeric kinds */
    const char *roles;          /* space-separated roles it applies to; NULL = all */
    const char *arg;            /* the value's name in --help ("N", "ADDR"); NULL for flags */
    const char *help;           /* one line for --help */
};

struct sl_role {
    const char *name;           /* "server" */
    const char *args;           /* positional arguments for the synopsis ("[TEXT...]"), or NULL */
    int max_args;               /* how many positional arguments it accepts */
    const char *help;           /* one line for --help */
};

struct sl_program {
    const char *name;           /* "01-blocking": prefixes errors, names the binary in --help */
    const char *summary;        /* one sentence: what this chapter teaches */
    const struct sl_role *roles;        /* terminated by a {NULL} entry */
    const struct sl_option *options;    /* terminated by a {NULL} entry */
    const char *epilog;         /* extra --help text (exit statuses, examples), or NULL */
};

/* The parsed command line: the role, and the positional arguments left over. */
struct sl_args {
    const char *role;
    char **argv;
    int argc;
};

/* Parses ROLE [OPTIONS] [ARGS]: prints --help and exits 0; exits 2 with a
 * one-line reason on any usage error; handles --quiet; sets the narration role.
 * First makes sure fds 0-2 are open, so no socket can land on them. */
struct sl_args sl_parse_command_line(const struct sl_program *program, int argc, char **argv);

/* Strict decimal integer in [min, max]: 0, or -1 with errno EINVAL (not a number) or ERANGE. */
int sl_parse_integer(const char *text, long long min, long long max, long long *out);

/* Like sl_parse_integer, with an optional K, M or G suffix (times 1024, 1024^2, 1024^3). */
int sl_parse_size(const char *text, long long min, long long max, long long *out);

/* Decimal seconds ("2", "0.25") in [min, max]: 0, or -1 with errno EINVAL or ERANGE. */
int sl_parse_seconds(const char *text, double min, double max, double *out);

/* ---- what the program says ---------------------------------------------- */

/* Sets the "[role]" prefix of narration lines (a forked child names its own role). */
void sl_set_role(const char *role);

/* Whether narration is silenced (--quiet); demos pass this on to their children. */
int sl_is_quiet(void);

/* Silences (1) or restores (0) narration, e.g. for a demo's background helper. */
void sl_set_quiet(int on);

/* One narration line on stderr, "[role] " + text; nothing when --quiet.
 * errno is left as it was, so a failure can be narrated before it is handled. */
void sl_narrate(const char *format, ...)
    __attribute__((format(printf, 1, 2)));

/* Prints "listening on ADDR:PORT" for fd's real address as the first stdout
 * line, flushed: 0, or -1 with errno set (from getsockname). */
int sl_announce_listening(int fd);

/* Formats an address as "127.0.0.1:9001" or "[::1]:9001" into buf
 * (SL_ADDR_STRLEN bytes); returns buf, "?" inside it if it can't be formatted. */
const char *sl_format_address(const struct sockaddr *address, socklen_t length, char *buf);

/* The peer's address of a connected socket, formatted as above. */
const char *sl_peer_address(int fd, char *buf);

/* The local address of a socket, formatted as above. */
const char *sl_local_address(int fd, char *buf);

/* The local port of a socket (the real one after binding port 0), or exits 1. */
int sl_local_port(int fd);

/* fork(), after flushing stdout and stderr (or the child would print the
 * parent's buffered output again): the child's pid, 0 in the child; exits 1
 * if fork fails. */
pid_t sl_fork(void);

/* Seconds on a clock that never jumps, for measuring how long things took. */
double sl_now(void);

/* ---- ending the program ------------------------------------------------- */

/* "PROGRAM: text" on stderr, exit 1: a runtime failure. */
_Noreturn void sl_fail(const char *format, ...)
    __attribute__((format(printf, 1, 2)));

/* "PROGRAM: call: strerror(errno)" on stderr, exit 1. */
_Noreturn void sl_fail_errno(const char *call);

/* "PROGRAM: text (try --help)" on stderr, exit 2: bad usage. */
_Noreturn void sl_usage_error(const char *format, ...)
    __attribute__((format(printf, 1, 2)));

/* ---- plumbing from chapter 1 on ----------------------------------------- */
/* Chapter 1 teaches these calls step by step in its own file. Later chapters,
 * whose lessons are elsewhere, use these narrated versions. */

/* Resolves ADDR with getaddrinfo, then socket, SO_REUSEADDR, bind, listen
 * (each narrated): the listening fd, or -1 with a reason in why. */
int sl_open_listener(const char *address, int port, int backlog, char *why, size_t why_size);

/* sl_open_listener, or exit 1 with its reason: the listening fd. */
int sl_listen_or_exit(const char *address, int port, int backlog);

/* accept(), narrated before it blocks and after it returns, retried on EINTR:
 * the connected fd, or -1 with errno set. */
int sl_accept_client(int listener);

/* send() until all LENGTH bytes are gone, narrating each call (WHAT, if not
 * NULL, names the bytes: "the payload"): 0, or -1 with errno set. Chapters 1
 * and 2 write this loop out; it is their lesson. */
int sl_send_all(int fd, const void *data, size_t length, const char *what);

/* Resolves HOST with getaddrinfo and tries socket+connect on every address
 * (each narrated): the connected fd, or -1 with a reason in why. */
int sl_connect_to_host(const char *host, int port, char *why, size_t why_size);

/* sl_connect_to_host, or exit 1 with its reason: the connected fd. */
int sl_connect_or_exit(const char *host, int port);

#endif
