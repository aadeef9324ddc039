/* fuzz_numbers.c: the command line's number parsers (common/cli.c):
 * sl_parse_integer, sl_parse_size and sl_parse_seconds.
 *
 * Input layout: byte 0 picks the parser and one of a few ranges like the
 * chapters' option tables use, the rest is the text as typed (up to its
 * first NUL, since argv strings are C strings). Each answer is compared with
 * a reference that follows cli.h's contract literally: exact integer
 * arithmetic in 128 bits for the whole numbers, strtold for seconds. An
 * accepted value must be the right one and in range; a refusal must say
 * EINVAL for text that is not a number and ERANGE for a number out of range.
 *
 * See also: fuzz.h, common/cli.h (the contracts).
 */
#include "fuzz.h"
#include "cli.h"
#include "narrate.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <string.h>

__extension__ typedef __int128 wide;

struct whole_range { long long min, max; };
static const struct whole_range whole_ranges[] = {
    { 0, 65535 },                   /* --port */
    { 1, 1LL << 30 },               /* a size in bytes */
    { 0, INT_MAX },
    { -5, 5 },
    { LLONG_MIN, LLONG_MAX },       /* no limit but the type's */
    { 1, 0 },                       /* empty: everything is out of range */
};
#define WHOLE_RANGES (sizeof whole_ranges / sizeof whole_ranges[0])

struct seconds_range { double min, max; };
static const struct seconds_range seconds_ranges[] = {
    { 0, 3600 }, { 0.001, 86400 }, { 0, 1e12 }, { 0.5, 0.5 },
};
#define SECONDS_RANGES (sizeof seconds_ranges / sizeof seconds_ranges[0])

/* An optional '-' and at least one digit, nothing else: the whole-number
 * syntax. Sets *value (saturated past 10^20, far beyond any long long). */
static int reference_digits(const char *text, size_t length, wide *value)
{
    size_t first = (length > 0 && text[0] == '-') ? 1 : 0;
    if (length == first)
        return 0;
    wide magnitude = 0;
    for (size_t i = first; i < length; i++) {
        if (text[i] < '0' || text[i] > '9')
            return 0;
        if (magnitude < (wide)1e20)
            magnitude = magnitude * 10 + (text[i] - '0');
    }
    *value = first ? -magnitude : magnitude;
    return 1;
}

/* What a parser's answer must be: 0 and VALUE, or -1 and EXPECTED_ERRNO. */
static void check_whole(int result, int error, long long got, int syntax_ok, wide value,
                        const struct whole_range *range)
{
    if (!syntax_ok) {
        FUZZ_CHECK(result == -1 && error == EINVAL);
    } else if (value < range->min || value > range->max) {
        FUZZ_CHECK(result == -1 && error == ERANGE);
    } else {
        FUZZ_CHECK(result == 0 && got == (long long)value);
    }
}

static void check_integer(const char *text, const struct whole_range *range)
{
    wide value = 0;
    int syntax_ok = reference_digits(text, strlen(text), &value);
    long long got = 0;
    errno = 0;
    int result = sl_parse_integer(text, range->min, range->max, &got);
    check_whole(result, errno, got, syntax_ok, value, range);
}

static void check_size(const char *text, const struct whole_range *range)
{
    size_t length = strlen(text);
    wide multiplier = 1;
    if (length > 0) {
        switch (text[length - 1]) {
        case 'K': case 'k': multiplier = (wide)1 << 10; break;
        case 'M': case 'm': multiplier = (wide)1 << 20; break;
        case 'G': case 'g': multiplier = (wide)1 << 30; break;
        default: break;
        }
    }
    if (multiplier != 1)
        length--;
    wide value = 0;
    int syntax_ok = reference_digits(text, length, &value);
    long long got = 0;
    errno = 0;
    int result = sl_parse_size(text, range->min, range->max, &got);
    check_whole(result, errno, got, syntax_ok, value * multiplier, range);
}

static void check_seconds(const char *text, const struct seconds_range *range)
{
    /* digits, optionally '.' and digits, at least one digit in all */
    size_t integer_digits = strspn(text, "0123456789");
    const char *rest = text + integer_digits;
    size_t fraction_digits = 0;
    if (*rest == '.') {
        fraction_digits = strspn(rest + 1, "0123456789");
        rest += 1 + fraction_digits;
    }
    int syntax_ok = (*rest == '\0' && integer_digits + fraction_digits > 0);
    /* The same digits read in more precision than the double the parser returns. */
    long double value = syntax_ok ? strtold(text, NULL) : 0;

    double got = -1;
    errno = 0;
    int result = sl_parse_seconds(text, range->min, range->max, &got);
    int error = errno;
    if (!syntax_ok) {
        FUZZ_CHECK(result == -1 && error == EINVAL);
        return;
    }
    /* cli.h: more than 12 whole digits (over 31,000 years) is out of range. */
    if (integer_digits > 12) {
        FUZZ_CHECK(result == -1 && error == ERANGE);
        return;
    }
    /* Rounding may differ in the last bits: judge only values clearly in or out. */
    long double slack = value * 1e-12L + 1e-300L;
    if (value < range->min - slack || value > range->max + slack) {
        FUZZ_CHECK(result == -1 && error == ERANGE);
    } else if (value > range->min + slack && value < range->max - slack) {
        FUZZ_CHECK(result == 0 && fabsl(got - value) <= slack);
    } else if (result == 0) {
        FUZZ_CHECK(got >= range->min && got <= range->max);
    } else {
        FUZZ_CHECK(error == ERANGE);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    char *text = malloc(size);
    FUZZ_CHECK(text != NULL);
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    unsigned choice = data[0];
    switch (choice % 3) {
    case 0: check_integer(text, &whole_ranges[choice / 3 % WHOLE_RANGES]); break;
    case 1: check_size(text, &whole_ranges[choice / 3 % WHOLE_RANGES]); break;
    default: check_seconds(text, &seconds_ranges[choice / 3 % SECONDS_RANGES]); break;
    }
    free(text);
    return 0;
}
