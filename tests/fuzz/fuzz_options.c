/* fuzz_options.c: the command-line parser, sl_parse_command_line
 * (common/cli.c), on any argv a user could type.
 *
 * The input is the words, separated by NUL bytes, after a program name. The
 * parser is driven with a table that has one option of every kind, and two
 * roles, one taking positional arguments. It either returns, or exits: 0
 * after --help, 2 after a usage error, nothing else. Its exits are caught
 * (linked with -Wl,--wrap=exit, see the Makefile) and jump back here, so one
 * process can try millions of command lines. When it returns, everything it
 * stored must hold: values in their ranges, positional arguments taken from
 * argv in order and no more than the role accepts, list items from argv.
 *
 * See also: fuzz.h, common/cli.h (the contract), fuzz_numbers.c.
 */
#include "fuzz.h"
#include "cli.h"
#include "narrate.h"

#include <setjmp.h>
#include <string.h>

/* ---- catching exit() ---------------------------------------------------- */

/* The linker's --wrap dictates these names, reserved or not. */
void __real_exit(int status);   /* NOLINT(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp) */
void __wrap_exit(int status);   /* NOLINT(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp) */

static jmp_buf back_to_the_target;
static int inside_the_parser;
static int exit_status;

/* Every call to exit() in the program comes here (the linker's --wrap):
 * from the parser, back to the target; from anyone else (libFuzzer itself,
 * the replay program), on to the real exit. */
void __wrap_exit(int status)
{
    if (inside_the_parser) {
        inside_the_parser = 0;
        exit_status = status;
        longjmp(back_to_the_target, 1);
    }
    __real_exit(status);
}

/* ---- the program the parser is given ------------------------------------ */

static struct {
    int port, once;
    const char *host;
    long long size;
    double timeout;
    struct sl_list messages;
} opt;

static const struct sl_role roles[] = {
    { "server", NULL, 0, "serve" },
    { "client", "[TEXT...]", 3, "talk" },
    { NULL, NULL, 0, NULL }
};

static const struct sl_option options[] = {
    { "--port", SL_INT, &opt.port, 0, 65535, NULL, "N", "a port" },
    { "--once", SL_FLAG, &opt.once, 0, 0, "server", NULL, "a flag" },
    { "--host", SL_TEXT, &opt.host, 0, 0, "client", "HOST", "a text" },
    { "--size", SL_SIZE, &opt.size, 1, 1 << 20, "server client", "N", "a size" },
    { "--timeout", SL_SECONDS, &opt.timeout, 0, 3600, "client", "S", "seconds" },
    { "--message", SL_LIST, &opt.messages, 0, 0, "client", "TEXT", "a list" },
    { NULL, 0, NULL, 0, 0, NULL, NULL, NULL }
};

static const struct sl_program program = {
    "fuzz-options", "the parser under a fuzzer", roles, options, NULL
};

/* ---- the checks ----------------------------------------------------------- */

#define MAX_WORDS 40

/* Where P is among ARGV[first, argc), or -1. */
static int index_in(char **argv, int first, int argc, const char *p)
{
    for (int i = first; i < argc; i++) {
        if (argv[i] == p)
            return i;
    }
    return -1;
}

static void check_result(const struct sl_args *args, char **original, int argc)
{
    FUZZ_CHECK(args->role != NULL);
    int max_args = strcmp(args->role, "client") == 0 ? 3 : 0;
    FUZZ_CHECK(strcmp(args->role, "client") == 0 || strcmp(args->role, "server") == 0);
    FUZZ_CHECK(args->argc >= 0 && args->argc <= max_args);
    int previous = 1;
    for (int k = 0; k < args->argc; k++) {      /* from argv, in order */
        int at = index_in(original, 2, argc, args->argv[k]);
        FUZZ_CHECK(at > previous);
        previous = at;
    }
    FUZZ_CHECK(opt.port == -1 || (opt.port >= 0 && opt.port <= 65535));
    FUZZ_CHECK(opt.size == -1 || (opt.size >= 1 && opt.size <= 1 << 20));
    FUZZ_CHECK(opt.timeout == -1 || (opt.timeout >= 0 && opt.timeout <= 3600));
    FUZZ_CHECK(opt.host == NULL || strcmp(args->role, "client") == 0);
    FUZZ_CHECK(opt.messages.count >= 0 && opt.messages.count <= SL_LIST_MAX);
    for (int k = 0; k < opt.messages.count; k++) {
        /* a whole word (--message X) or what follows '=' in one (--message=X) */
        const char *item = opt.messages.items[k];
        int whole = index_in(original, 2, argc, item) >= 0;
        FUZZ_CHECK(whole || (item[-1] == '=' && item > original[2]));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The words, as argv: NUL-separated in a copy that ends with one more NUL. */
    char *text = malloc(size + 1);
    FUZZ_CHECK(text != NULL);
    memcpy(text, data, size);
    text[size] = '\0';
    char *argv[MAX_WORDS + 2], *original[MAX_WORDS + 2];
    int argc = 0;
    static char program_word[] = "fuzz-options";
    argv[argc++] = program_word;
    for (size_t at = 0; at <= size && argc <= MAX_WORDS; at += strlen(text + at) + 1)
        argv[argc++] = text + at;
    argv[argc] = NULL;
    memcpy(original, argv, sizeof argv);    /* the parser may reorder argv[2..] */

    memset(&opt, 0, sizeof opt);
    opt.port = -1;
    opt.size = -1;
    opt.timeout = -1;
    if (setjmp(back_to_the_target) == 0) {
        inside_the_parser = 1;
        struct sl_args args = sl_parse_command_line(&program, argc, argv);
        inside_the_parser = 0;
        check_result(&args, original, argc);
    } else {
        FUZZ_CHECK(exit_status == SL_EXIT_OK || exit_status == SL_EXIT_USAGE);
    }
    sl_set_quiet(0);
    free(text);
    return 0;
}
