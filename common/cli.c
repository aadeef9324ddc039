/* cli.c: ROLE [OPTIONS] [ARGS], parsed from a chapter's tables.
 *
 * Every mistake ends here with exit status 2 and one line naming it; a value
 * is range-checked before it is stored, so no program ever sees a port of
 * 70000 or a negative size. --help is generated from the same tables.
 *
 * See also: common/cli.h for each function's contract.
 */
#include "cli.h"

#include "narrate.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* Options every role of every program takes, after the chapter's own, and
 * the demo role's classroom options (classroom/classroom.h acts on them). */
static int quiet_option;
static const char *color_option = "auto";
static int width_option;
static const char *step_option, *ladder_option;
static struct sl_classroom classroom;
static const struct sl_option common_options[] = {
    { "--quiet", SL_FLAG, &quiet_option, 0, 0, NULL, NULL, "no narration on stderr" },
    { "--color", SL_TEXT, &color_option, 0, 0, NULL, "WHEN",
      "colour each role's narration: auto (on a terminal, unless NO_COLOR is set), "
      "always or never" },
    { "--width", SL_INT, &width_option, 0, 1000, NULL, "N",
      "wrap narration at N columns; 0: the terminal's width, if any" },
    { "--step", SL_MAYBE, &step_option, 0, 0, "demo", "call",
      "wait for Enter (read from the terminal) before each scene, q to quit; "
      "=call: after each narrated call too" },
    { "--pace", SL_INT, &classroom.pace_ms, 0, 60000, "demo", "MS",
      "wait MS milliseconds after each line, to talk over it" },
    { "--columns", SL_FLAG, &classroom.columns, 0, 0, "demo", NULL,
      "clients' narration on the left, servers' on the right, one event a row" },
    { "--ladder", SL_MAYBE, &ladder_option, 0, 0, "demo", "FILE.svg",
      "draw each scene as a ladder diagram after it; =FILE.svg: all of them as "
      "SVG into FILE.svg instead" },
    { "--wire", SL_FLAG, &classroom.wire, 0, 0, "demo", NULL,
      "the TCP segments among the narration (a private network namespace; exit "
      "status 4 where the system allows none)" },
    { NULL, SL_FLAG, NULL, 0, 0, NULL, NULL, NULL }
};

const struct sl_classroom *sl_classroom_options(void)
{
    return &classroom;
}

/* Each option's default, as text, taken before anything is parsed: what
 * --help prints, so that no help line can state a default the code lost. */
#define MAX_OPTIONS 96
static struct { const struct sl_option *option; char text[24]; } defaults[MAX_OPTIONS];
static int default_count;

static void remember_default(const struct sl_option *o)
{
    if (default_count >= MAX_OPTIONS)
        return;
    char *text = defaults[default_count].text;
    size_t size = sizeof defaults[0].text;
    text[0] = '\0';
    if (o->kind == SL_INT)
        snprintf(text, size, "%d", *(const int *)o->value);
    else if (o->kind == SL_SIZE)
        snprintf(text, size, "%lld", *(const long long *)o->value);
    else if (o->kind == SL_SECONDS)
        snprintf(text, size, "%g", *(const double *)o->value);
    else if (o->kind == SL_TEXT && *(const char *const *)o->value != NULL)
        snprintf(text, size, "%.23s", *(const char *const *)o->value);
    defaults[default_count++].option = o;
}

static const char *default_of(const struct sl_option *o)
{
    for (int i = 0; i < default_count; i++) {
        if (defaults[i].option == o)
            return defaults[i].text;
    }
    return "";
}

/* Prints LEFT in a 24-column field, then TEXT wrapped to 80 columns, its
 * continuation rows indented under its first. */
static void print_wrapped(const char *left, const char *text)
{
    const size_t indent = 27, room = 80 - indent;
    printf("  %-24s ", left);
    if (strlen(left) > 24)
        printf("\n%*s", (int)indent, "");
    size_t length = strlen(text);
    while (length > room) {
        size_t cut = room;
        while (cut > 0 && text[cut] != ' ')
            cut--;
        if (cut == 0)
            cut = room;
        printf("%.*s\n%*s", (int)cut, text, (int)indent, "");
        text += cut;
        length -= cut;
        while (*text == ' ') {
            text++;
            length--;
        }
    }
    printf("%s\n", text);
}

/* One option's line(s); SHOW_ROLES names the roles it is for (whole-program help). */
static void print_option_help(const struct sl_option *option, int show_roles)
{
    char left[48], text[512];
    if (option->kind == SL_MAYBE)
        snprintf(left, sizeof left, "%s[=%s]", option->name, option->arg);
    else
        snprintf(left, sizeof left, "%s%s%s", option->name, option->arg ? " " : "",
                 option->arg ? option->arg : "");
    const char *fallback = default_of(option);
    const char *roles = show_roles ? option->roles : NULL;
    int used = snprintf(text, sizeof text, "%s%s%s%s", roles ? "(" : "", roles ? roles : "",
                        roles ? ") " : "", option->help);
    if (option->kind == SL_LIST && used > 0 && (size_t)used < sizeof text)
        used += snprintf(text + used, sizeof text - (size_t)used, " (repeatable)");
    if (fallback[0] != '\0' && used > 0 && (size_t)used < sizeof text)
        snprintf(text + used, sizeof text - (size_t)used, " (default %s)", fallback);
    print_wrapped(left, text);
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
            print_wrapped(left, r->help);
        }
    } else {
        printf("\n%s\n", role->help);
    }
    printf("\noptions:\n");
    for (const struct sl_option *o = program->options; o->name != NULL; o++) {
        if (applies_to_role(o, role ? role->name : NULL))
            print_option_help(o, role == NULL);
    }
    for (const struct sl_option *o = common_options; o->name != NULL; o++) {
        if (applies_to_role(o, role ? role->name : NULL))
            print_option_help(o, role == NULL);
    }
    print_wrapped("--help", "this help (also after a role)");
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
    case SL_MAYBE:
        *(const char **)option->value = text != NULL ? text : "";
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
    for (const struct sl_option *o = common_options; o->name != NULL; o++) {
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

/* --step and --ladder, checked and kept for classroom_begin(). */
static void apply_classroom_options(void)
{
    classroom.step = 0;
    if (step_option != NULL && step_option[0] == '\0')
        classroom.step = 1;
    else if (step_option != NULL && strcmp(step_option, "call") == 0)
        classroom.step = 2;
    else if (step_option != NULL)
        sl_usage_error("--step: '%s' is not call (--step alone: at each scene)", step_option);
    classroom.ladder = ladder_option != NULL;
    classroom.ladder_svg = NULL;
    if (ladder_option != NULL && ladder_option[0] != '\0') {
        size_t length = strlen(ladder_option);
        if (length < 5 || strcmp(ladder_option + length - 4, ".svg") != 0)
            sl_usage_error("--ladder: '%s' is not a FILE.svg (--ladder alone: as text)",
                           ladder_option);
        classroom.ladder_svg = ladder_option;
    }
}

/* Hands --quiet, --color and --width to the narration. */
static void apply_common_options(void)
{
    apply_classroom_options();
    sl_set_quiet(quiet_option);
    sl_set_width(width_option);
    if (strcmp(color_option, "auto") == 0)
        sl_set_color(SL_COLOR_AUTO);
    else if (strcmp(color_option, "always") == 0)
        sl_set_color(SL_COLOR_ALWAYS);
    else if (strcmp(color_option, "never") == 0)
        sl_set_color(SL_COLOR_NEVER);
    else
        sl_usage_error("--color: '%s' is not auto, always or never", color_option);
}

struct sl_args sl_parse_command_line(const struct sl_program *program, int argc, char **argv)
{
    struct sl_args args = { NULL, NULL, 0 };
    char roles[256];

    keep_standard_fds_open();
    sl_set_program_name(program->name);
    quiet_option = 0;
    color_option = "auto";
    width_option = 0;
    step_option = NULL;
    ladder_option = NULL;
    memset(&classroom, 0, sizeof classroom);
    default_count = 0;
    for (const struct sl_option *o = program->options; o->name != NULL; o++)
        remember_default(o);
    for (const struct sl_option *o = common_options; o->name != NULL; o++)
        remember_default(o);
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
        if (option->kind == SL_MAYBE) {
            store_option(option, equals ? equals + 1 : NULL);
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
    apply_common_options();
    return args;
}

