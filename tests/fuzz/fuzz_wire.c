/* fuzz_wire.c: chapter 3's wire format (chapters/03-byte-order/wire.c).
 *
 * The input is bytes a peer could send. Every decoder is run on them and
 * compared with a second, differently written answer: ntohl() on copied
 * memory for the big-endian readers, strtoll() for the decimal parser,
 * the compiler's overflow builtin for the checked add. Encoders must give
 * back what the decoders read. The whole input is also parsed as one text
 * line, at its exact length, so a read past it is an ASan error.
 *
 * See also: fuzz.h, wire.h (the contracts checked here), tests/README.md.
 */
#include "fuzz.h"
#include "../../chapters/03-byte-order/wire.h"   /* by path: classroom/ has a wire.h too */

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

/* The first 8 bytes of DATA (zeros where it is shorter). */
static void first_eight(const uint8_t *data, size_t size, unsigned char out[8])
{
    memset(out, 0, 8);
    memcpy(out, data, size < 8 ? size : 8);
}

static uint32_t reference_be32(const unsigned char in[4])
{
    uint32_t network;
    memcpy(&network, in, 4);
    return ntohl(network);
}

static uint64_t reference_be64(const unsigned char in[8])
{
    return (uint64_t)reference_be32(in) << 32 | reference_be32(in + 4);
}

static void check_binary_numbers(const unsigned char bytes[8])
{
    uint32_t count = sum_get_be32(bytes);
    FUZZ_CHECK(count == reference_be32(bytes));
    FUZZ_CHECK(sum_decode_count(bytes) == count);

    uint64_t bits = sum_get_be64(bytes);
    FUZZ_CHECK(bits == reference_be64(bytes));

    /* Two's complement by reinterpreting the bits: what the shifts must match. */
    int64_t number = sum_decode_int64(bytes), expected;
    memcpy(&expected, &bits, sizeof expected);
    FUZZ_CHECK(number == expected);

    unsigned char again[8];
    sum_encode_int64(again, number);
    FUZZ_CHECK(memcmp(again, bytes, 8) == 0);
    sum_put_be32(again, count);
    FUZZ_CHECK(memcmp(again, bytes, 4) == 0);

    /* htonl for 64 bits: in memory, the value's bytes in big-endian order. */
    uint64_t network = sum_host_to_network_64(bits);
    unsigned char in_memory[8];
    memcpy(in_memory, &network, 8);
    FUZZ_CHECK(memcmp(in_memory, bytes, 8) == 0);
    FUZZ_CHECK(sum_network_to_host_64(network) == bits);

    unsigned char reply[SUM_REPLY_OK_SIZE];
    FUZZ_CHECK(sum_encode_ok_reply(reply, number) == SUM_REPLY_OK_SIZE);
    FUZZ_CHECK(reply[0] == SUM_STATUS_OK && sum_decode_int64(reply + 1) == number);
}

static void check_checked_add(const uint8_t *data, size_t size)
{
    if (size < 16)
        return;
    int64_t a = sum_decode_int64(data), b = sum_decode_int64(data + 8);
    int64_t expected, sum = 12345;
    int overflows = __builtin_add_overflow(a, b, &expected);
    int result = sum_add_checked(a, b, &sum);
    if (overflows)
        FUZZ_CHECK(result == -1 && sum == 12345);   /* *sum untouched */
    else
        FUZZ_CHECK(result == 0 && sum == expected);
}

/* What sum_parse_int64 promises, worked out another way. */
static void check_decimal(const char *text, size_t length)
{
    size_t first = (length > 0 && text[0] == '-') ? 1 : 0;
    int syntax_ok = length > first;
    for (size_t i = first; i < length; i++)
        syntax_ok = syntax_ok && text[i] >= '0' && text[i] <= '9';

    int64_t value = 777;
    enum sum_parse_result result = sum_parse_int64(text, length, &value);
    if (!syntax_ok) {
        FUZZ_CHECK(result == SUM_PARSE_NOT_A_NUMBER && value == 777);
        return;
    }
    /* Only digits and a sign now, so strtoll reads exactly these bytes. */
    char *copy = malloc(length + 1);
    FUZZ_CHECK(copy != NULL);
    memcpy(copy, text, length);
    copy[length] = '\0';
    errno = 0;
    long long expected = strtoll(copy, NULL, 10);
    int out_of_range = (errno == ERANGE);
    free(copy);
    if (out_of_range) {
        FUZZ_CHECK(result == SUM_PARSE_OUT_OF_RANGE && value == 777);
    } else {
        FUZZ_CHECK(result == SUM_PARSE_OK && value == expected);
    }
}

static void check_replies(const uint8_t *data, size_t size)
{
    /* The message is a C string: the input up to its first NUL. */
    char *message = malloc(size + 1);
    FUZZ_CHECK(message != NULL);
    memcpy(message, data, size);
    message[size] = '\0';
    size_t length = strlen(message), kept = length > SUM_MAX_MESSAGE ? SUM_MAX_MESSAGE : length;

    unsigned char reply[2 + SUM_MAX_MESSAGE];
    size_t used = sum_encode_error_reply(reply, SUM_STATUS_OVERFLOW, message);
    FUZZ_CHECK(used == 2 + kept && reply[0] == SUM_STATUS_OVERFLOW && reply[1] == kept);
    FUZZ_CHECK(memcmp(reply + 2, message, kept) == 0);

    /* Printable copies into buffers of every small size, cut where they must be. */
    for (size_t room = 0; room <= 70; room += (room < 4 ? 1 : 11)) {
        char *out = malloc(room > 0 ? room : 1);
        FUZZ_CHECK(out != NULL);
        sum_printable(out, room, (const char *)data, size);
        if (room > 0) {
            size_t copied = size < room - 1 ? size : room - 1;
            FUZZ_CHECK(out[copied] == '\0' && strlen(out) == copied);
            for (size_t i = 0; i < copied; i++)
                FUZZ_CHECK(out[i] == ((data[i] >= ' ' && data[i] <= '~') ? (char)data[i] : '?'));
        }
        free(out);
    }
    free(message);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char eight[8];
    first_eight(data, size, eight);
    check_binary_numbers(eight);
    if (size >= 8)
        check_binary_numbers(data);     /* in place: misaligned reads too */
    check_checked_add(data, size);
    check_decimal((const char *)data, size);
    check_replies(data, size);
    return 0;
}
