/* show.c: chapter 3, which byte of an integer comes first.
 *
 * An integer wider than a byte sits in memory as several bytes, in an order
 * the processor chose. This prints that order for this machine, and each
 * integer's bytes as they sit in memory next to the same integer after
 * htonl() (or its 64-bit cousin): network byte order, big-endian. It also
 * counts what the integer costs as decimal text and as binary.
 *
 * Usage: 03-byte-order show [INTEGER...]
 * See also: wire.c (sum_host_to_network_64), README.md ("Which byte first"),
 *           byteorder(3) (htonl, ntohl), endian(3).
 */
#include "byteorder.h"

#include "narrate.h"
#include "wire.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* One row: the integer, its bytes in memory here, after htonl(), and its
 * size as text and as binary (4 bytes if it fits in an int32_t, else 8). */
static void show_row(int64_t value)
{
    unsigned char memory[8], network[8];
    size_t size;
    char hex_memory[3 * 8], hex_network[3 * 8], digits[24];

    if (value >= INT32_MIN && value <= INT32_MAX) {
        int32_t narrow = (int32_t)value;
        uint32_t converted = htonl((uint32_t)narrow);
        size = sizeof narrow;
        memcpy(memory, &narrow, size);          /* the bytes as this machine keeps them */
        memcpy(network, &converted, size);      /* the same after htonl() */
    } else {
        uint64_t converted = sum_host_to_network_64((uint64_t)value);
        size = sizeof value;
        memcpy(memory, &value, size);
        memcpy(network, &converted, size);
    }
    int text_size = snprintf(digits, sizeof digits, "%" PRId64, value);
    printf("%-20s  %-23s  %-23s %4d %4zu\n", digits, hex_bytes(memory, size, hex_memory),
           hex_bytes(network, size, hex_network), text_size, size);
}

/* "little-endian" or "big-endian": what this machine really does, found by
 * storing a known integer and looking at its first byte in memory. */
const char *host_byte_order(void)
{
    uint32_t probe = 0x01020304;
    unsigned char first;
    memcpy(&first, &probe, 1);
    return first == 0x04 ? "little-endian" : first == 0x01 ? "big-endian" : "mixed-endian";
}

/* The integers to show: COUNT words, each a usage error unless it is an
 * int64_t; none given, a few that make the point. */
static int parse_integers(int count, char **words, int64_t values[SHOW_MAX_INTEGERS])
{
    static const int64_t defaults[] = { 1, 258, 16777216, INT64_C(0x123456789abcdef0) };
    if (count > SHOW_MAX_INTEGERS)
        sl_usage_error("show takes at most %d integers, not %d", SHOW_MAX_INTEGERS, count);
    for (int i = 0; i < count; i++) {
        switch (sum_parse_int64(words[i], strlen(words[i]), &values[i])) {
        case SUM_PARSE_OK:
            break;
        case SUM_PARSE_OUT_OF_RANGE:
            sl_usage_error("'%s' is outside the signed 64-bit range", words[i]);
        case SUM_PARSE_NOT_A_NUMBER:
            sl_usage_error("'%s' is not a whole number", words[i]);
        }
    }
    if (count > 0)
        return count;
    memcpy(values, defaults, sizeof defaults);
    return (int)(sizeof defaults / sizeof defaults[0]);
}

int run_show(int count, char **integers)
{
    int64_t values[SHOW_MAX_INTEGERS];
    count = parse_integers(count, integers, values);
    const char *order = host_byte_order();
    printf("this machine is %s: it stores %s byte first\n", order,
           strcmp(order, "little-endian") == 0 ? "the least significant" : "the most significant");
    printf("network byte order is big-endian: the most significant byte first\n\n");
    printf("%-20s  %-23s  %-23s %4s %4s\n", "integer", "in memory here", "in network order",
           "text", "bin");
    for (int i = 0; i < count; i++)
        show_row(values[i]);
    printf("\ntext: its size as decimal digits, in bytes\n"
           "bin:  its size in binary: 4 bytes if it fits in an int32_t, else 8 (int64_t)\n");
    return SL_EXIT_OK;
}
