/* demo.c: chapter 3's demo, the same numbers as text, as binary, then wrong.
 *
 * Harness, not lesson: it opens a text and a binary listener, then for each
 * scene forks a server for one connection (serve() from server.c), runs the
 * client's exchange() against it, and reaps the server before the next
 * scene begins, so that each scene's lines end before the next one's start.
 *
 * Usage: 03-byte-order demo [--quiet] [--width N]
 * See also: server.c, client.c, README.md ("The demo").
 */
#include "byteorder.h"

#include "../01-blocking/sockets.h"
#include "narrate.h"
#include "proc.h"
#include "wire.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A listener on a free port of 127.0.0.1, for requests of KIND. */
static int demo_listener(const char *kind)
{
    char why[256];
    int listener = open_listener("127.0.0.1", 0, 8, 1, why, sizeof why);
    if (listener == -1)
        sl_fail("%s", why);
    sl_narrate("fd %d: the %s server, on 127.0.0.1:%d", listener, kind, local_port(listener));
    return listener;
}

/* One scene's exchange: a server forked for one connection on LISTENER, the
 * client's request, then the server reaped, its last line printed. */
static struct outcome demo_exchange(int listener, const struct numbers *in, struct encoding how)
{
    pid_t server = sl_fork();
    if (server == 0) {
        sl_set_role("server");
        serve(listener, 1, how.text);
        exit(SL_EXIT_OK);
    }
    sl_set_role("client");
    struct client_settings settings = { "127.0.0.1", local_port(listener), how, 0, -1, 0 };
    struct outcome result = exchange(&settings, in);
    if (sl_reap(server, "server") != 0)
        sl_fail("the demo's server failed");
    return result;
}

static void print_outcome(const struct outcome *result)
{
    if (result->is_error)
        printf("  the server answers: error: %s\n", result->message);
    else
        printf("  the server answers: sum %" PRId64 "\n", result->sum);
}

static void print_table(const struct numbers *in, const struct outcome *as_text,
                        const struct outcome *as_binary)
{
    printf("%-22s %-22s %s\n", "", "text (--text)", "binary");
    for (size_t i = 0; i < in->count; i++)
        printf("%-22s %-22zu %d\n", in->words[i], strlen(in->words[i]) + 1, SUM_NUMBER_SIZE);
    printf("%-22s %-22s %s\n", "framing", "1 (the empty line)", "4 (the count)");
    printf("%-22s %-22zu %zu\n", "request", as_text->sent, as_binary->sent);
    printf("%-22s %-22zu %zu\n", "reply", as_text->received, as_binary->received);
    printf("%-22s %-22" PRId64 " %" PRId64 "\n", "sum", as_text->sum, as_binary->sum);
}

/* The two mistakes, against the binary server: what the server reads. */
static void demo_mistakes(int listener, const struct numbers *in, int64_t right_sum)
{
    const struct encoding wrong_all = { 0, 1, 1 }, wrong_numbers = { 0, 0, 1 };

    sl_scene("the mistake: count and numbers in host order (--wrong-order)");
    struct outcome wrong = demo_exchange(listener, in, wrong_all);
    uint32_t count = (uint32_t)in->count, misread = ntohl(count);
    printf("no htonl() before sending, on this %s machine:\n", host_byte_order());
    printf("  the count %" PRIu32 " is read as %" PRIu32 "\n", count, misread);
    print_outcome(&wrong);

    sl_scene("the same mistake in the numbers only (--wrong-order-numbers)");
    struct outcome wrong_sum = demo_exchange(listener, in, wrong_numbers);
    unsigned char in_memory[SUM_NUMBER_SIZE];
    memcpy(in_memory, &in->values[0], sizeof in_memory);
    int64_t misread_number = sum_decode_int64(in_memory);     /* what the server does */
    printf("the count is right, the numbers are not:\n");
    printf("  %" PRId64 " is read as %" PRId64 "\n", in->values[0], misread_number);
    print_outcome(&wrong_sum);
    printf("  the right sum is %" PRId64 ", and nothing on the wire says so\n", right_sum);
}

int run_demo(void)
{
    static const char *words[] = { "7", "-3", "1000", "1234567890123" };
    int64_t values[] = { 7, -3, 1000, INT64_C(1234567890123) };
    struct numbers in = { words, values, 4 };
    const struct encoding right_binary = { 0, 0, 0 }, right_text = { 1, 0, 0 };

    sl_scene("setup: a text server and a binary server, each on a free port");
    sl_set_role("server");
    int text_listener = demo_listener("text");
    int binary_listener = demo_listener("binary");

    sl_scene("7 -3 1000 1234567890123 as decimal lines (--text)");
    struct outcome as_text = demo_exchange(text_listener, &in, right_text);
    sl_scene("the same numbers in binary: 8 bytes each, big-endian");
    struct outcome as_binary = demo_exchange(binary_listener, &in, right_binary);
    sl_scene("the same numbers, both ways: bytes on the wire");
    print_table(&in, &as_text, &as_binary);

    demo_mistakes(binary_listener, &in, as_binary.sum);
    close(text_listener);
    close(binary_listener);
    return SL_EXIT_OK;
}
