/* cli.h: the command line every socklab program shares.
 *
 * One job: turn `PROGRAM ROLE [OPTIONS] [ARGS]` into values, from two tables a
 * chapter's main.c declares (its roles, its options), with range-checked
 * numbers, --help generated from the tables (each option's default read from
 * the variable it sets, so no help text can state a stale default), and exit
 * status 2 with a one-line reason for every mistake. Options every role takes
 * (--quiet, --color, --width) are handled here and passed to the narration;
 * the demo role's classroom options (--step, --pace, --columns, --ladder,
 * --wire) are parsed here too, and kept for classroom/ to read.
 *
 * Usage: see any chapter's main.c, e.g. chapters/01-blocking/main.c.
 * See also: common/narrate.h (what the parser's settings change),
 *           CONTRIBUTING.md (where a chapter's tables live).
 */
#ifndef SOCKLAB_CLI_H
#define SOCKLAB_CLI_H

enum sl_option_kind {
    SL_FLAG,    /* no value; sets an int to 1 */
    SL_TEXT,    /* any text, even empty; stores a const char * */
    SL_INT,     /* a whole number in [min, max]; stores an int */
    SL_SIZE,    /* a byte count in [min, max], K/M/G suffixes (1024s); stores a long long */
    SL_SECONDS, /* a decimal number of seconds in [min, max]; stores a double */
    SL_LIST,    /* text, repeatable; appends to a struct sl_list */
    SL_MAYBE    /* a flag that may carry =VALUE: stores a const char *, "" when
                   given alone, VALUE after '=' (never the next word) */
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
    void *value;                /* where the parsed value goes (type by kind); its value
                                   before parsing is the default --help prints */
    double min, max;            /* the accepted range, for numeric kinds */
    const char *roles;          /* space-separated roles it applies to; NULL = all */
    const char *arg;            /* the value's name in --help ("N", "ADDR"); NULL for flags */
    const char *help;           /* one line for --help; no "(default ...)": that is printed */
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
 * one-line reason on any usage error; sets the narration's role, --quiet,
 * --color and --width. First makes sure fds 0-2 are open, so no socket can
 * land on them. */
struct sl_args sl_parse_command_line(const struct sl_program *program, int argc, char **argv);

/* What a demo's classroom options asked for (all zero, NULL: nothing), set by
 * sl_parse_command_line for the demo role, read by classroom_begin(). */
struct sl_classroom {
    int step;                   /* 0; 1: wait for Enter at each scene; 2: at each narrated call */
    int pace_ms;                /* wait after each line (0: don't) */
    int columns;                /* clients' narration on the left, servers' on the right */
    int ladder;                 /* a ladder diagram after each scene */
    const char *ladder_svg;     /* with ladder: every scene's, as SVG into this file; NULL: text */
    int wire;                   /* the TCP segments among the narration */
};
const struct sl_classroom *sl_classroom_options(void);

/* Strict decimal integer in [min, max]: 0, or -1 with errno EINVAL (not a number) or ERANGE. */
int sl_parse_integer(const char *text, long long min, long long max, long long *out);

/* Like sl_parse_integer, with an optional K, M or G suffix (times 1024, 1024^2, 1024^3). */
int sl_parse_size(const char *text, long long min, long long max, long long *out);

/* Decimal seconds ("2", "0.25") in [min, max]: 0, or -1 with errno EINVAL or ERANGE. */
int sl_parse_seconds(const char *text, double min, double max, double *out);

#endif
