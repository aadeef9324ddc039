/* numbers.c: where chapter 3's client gets its numbers.
 *
 * Harness, not lesson: the numbers come from the command line (a bad one is
 * a usage error) or from stdin, one a line up to an empty line or the end (a
 * bad one is a runtime error naming the line). Each is checked to be an
 * int64_t before anything is sent, unless --unchecked asks to send the words
 * as typed, so that the text server's own checks can be seen.
 *
 * Usage: 03-byte-order client 1 2 3; seq 100 | 03-byte-order client
 * See also: client.c (sends them), wire.c (sum_parse_int64).
 */
#include "byteorder.h"

#include "narrate.h"
#include "wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLIENT_MAX_LINE 4096        /* a stdin line the client reads, newline included */

/* Adds WORD (kept, not copied) to the numbers; a reason in WHY if it is no
 * int64_t (unless UNCHECKED): 0, or -1. */
static int add_word(struct numbers *in, size_t capacity, const char *word, int unchecked,
                    char *why, size_t why_size)
{
    char shown[80];
    sum_printable(shown, sizeof shown, word, strlen(word));
    if (in->count == capacity) {
        snprintf(why, why_size, "more than %d numbers", CLIENT_MAX_NUMBERS);
        return -1;
    }
    enum sum_parse_result parsed = sum_parse_int64(word, strlen(word), &in->values[in->count]);
    if (!unchecked && parsed == SUM_PARSE_NOT_A_NUMBER) {
        snprintf(why, why_size, "'%s' is not a whole number", shown);
        return -1;
    }
    if (!unchecked && parsed == SUM_PARSE_OUT_OF_RANGE) {
        snprintf(why, why_size, "'%s' is outside the signed 64-bit range", shown);
        return -1;
    }
    in->words[in->count++] = word;
    return 0;
}

static struct numbers allocate_numbers(size_t capacity)
{
    struct numbers in = { malloc(capacity * sizeof(char *)), malloc(capacity * sizeof(int64_t)),
                          0 };
    if (in.words == NULL || in.values == NULL)
        sl_fail_errno("malloc");
    return in;
}

/* Frees what numbers_from_arguments and numbers_from_stdin allocated. */
void free_numbers(struct numbers *in, int words_were_copied)
{
    for (size_t i = 0; words_were_copied && i < in->count; i++)
        free((char *)in->words[i]);
    free(in->words);
    free(in->values);
}

/* The numbers from the command line: a bad one is a usage error. */
struct numbers numbers_from_arguments(int argc, char **argv, int unchecked)
{
    if (argc > CLIENT_MAX_NUMBERS)
        sl_usage_error("at most %d numbers, not %d", CLIENT_MAX_NUMBERS, argc);
    struct numbers in = allocate_numbers(argc > 0 ? (size_t)argc : 1);
    char why[160];
    for (int i = 0; i < argc; i++) {
        if (add_word(&in, (size_t)argc, argv[i], unchecked, why, sizeof why) == -1)
            sl_usage_error("%s", why);
    }
    return in;
}

/* The numbers from stdin, one per line, up to an empty line or the end. */
struct numbers numbers_from_stdin(int unchecked)
{
    struct numbers in = allocate_numbers(CLIENT_MAX_NUMBERS);
    char buffer[CLIENT_MAX_LINE + 1], why[160];
    for (int line_number = 1; fgets(buffer, sizeof buffer, stdin) != NULL; line_number++) {
        size_t length = strcspn(buffer, "\r\n");
        if (buffer[length] == '\0' && !feof(stdin))
            sl_fail("stdin line %d is longer than %d bytes", line_number, CLIENT_MAX_LINE - 1);
        buffer[length] = '\0';
        if (length == 0)
            break;
        char *word = strdup(buffer);
        if (word == NULL)
            sl_fail_errno("strdup");
        if (add_word(&in, CLIENT_MAX_NUMBERS, word, unchecked, why, sizeof why) == -1) {
            free(word);
            sl_fail("stdin line %d: %s", line_number, why);
        }
    }
    if (ferror(stdin))
        sl_fail_errno("reading stdin");
    return in;
}
