/* client_options.c: the client's command-line checks, shared with chapter 7.
 *
 * Harness, not lesson: see client_options.h.
 *
 * Usage: see client_options.h.
 * See also: main.c.
 */
#include "client_options.h"

#include "narrate.h"

#include <string.h>

/* The table's defaults can't say whether an option was given (--stall 2 is
 * the default and a choice). Words are walked as the parser walks them, so a
 * --message whose text is "--stall" is a message, not the option. */
int option_given(const struct sl_option *options, int argc, char **argv, const char *option)
{
    size_t length = strlen(option);
    for (int i = 2; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (strncmp(argv[i], option, length) == 0 &&
            (argv[i][length] == '\0' || argv[i][length] == '='))
            return 1;
        for (const struct sl_option *o = options; o->name != NULL; o++) {
            if (o->kind != SL_FLAG && strcmp(argv[i], o->name) == 0)
                i++;    /* its value is the next word */
        }
    }
    return 0;
}

void check_client_options(const struct client_settings *settings,
                          const struct sl_option *options, int argc, char **argv)
{
    if (settings->bytes < 0 && settings->blocking)
        sl_usage_error("--blocking needs --bytes N");
    if (settings->bytes < 0 && option_given(options, argc, argv, "--stall"))
        sl_usage_error("--stall needs --bytes N (lines have --timeout)");
    if (settings->bytes >= 0 && settings->message_count > 0)
        sl_usage_error("--bytes and --message are two modes: give one of them");
    if (settings->bytes >= 0 && option_given(options, argc, argv, "--timeout"))
        sl_usage_error("--timeout is for lines; --bytes has --stall");
    for (int i = 0; i < settings->message_count; i++) {
        size_t length = strlen(settings->messages[i]);
        if (length > MESSAGE_MAX)
            sl_usage_error("--message: at most %d bytes (this one has %zu)", MESSAGE_MAX,
                           length);
    }
}
