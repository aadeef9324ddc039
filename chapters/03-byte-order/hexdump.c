/* hexdump.c: chapter 3's --hexdump printer and its hex formatting.
 *
 * Harness, not lesson: it prints the bytes the client sent (>) and received
 * (<) on stdout, one field a row, each row saying what the field means, so
 * a learner sees every byte of the wire format. Text goes 8 bytes a row with
 * its characters beside it. hex_bytes() is also what the narration uses to
 * show a field's bytes.
 *
 * Usage: 03-byte-order client --hexdump [--quiet] NUMBER...
 * See also: client.c (calls dump_request, dump_reply), wire.h (the fields).
 */
#include "byteorder.h"

#include "wire.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define ROW 8   /* bytes a row */

const char *hex_bytes(const unsigned char *bytes, size_t length, char *out)
{
    char *end = out;
    *end = '\0';
    for (size_t i = 0; i < length; i++)
        end += sprintf(end, "%s%02x", i == 0 ? "" : " ", bytes[i]);
    return out;
}

/* One field: "> 00 00 00 03    count 3", ROW bytes a row. */
static void dump_field(char direction, const unsigned char *bytes, size_t length,
                       const char *note)
{
    char hex[3 * ROW];
    for (size_t row = 0; row < length || (row == 0 && length == 0); row += ROW) {
        size_t n = length - row < ROW ? length - row : ROW;
        printf("%c %-24s %s\n", direction, hex_bytes(bytes + row, n, hex), row == 0 ? note : "");
    }
}

/* Text: ROW bytes a row, each row's characters beside it, "\n" for a newline. */
static void dump_text(char direction, const unsigned char *bytes, size_t length)
{
    char hex[3 * ROW], shown[ROW * 2 + 1];
    for (size_t row = 0; row < length; row += ROW) {
        size_t n = length - row < ROW ? length - row : ROW, used = 0;
        for (size_t i = row; i < row + n; i++) {
            if (bytes[i] == '\n' || bytes[i] == '\r') {
                shown[used++] = '\\';
                shown[used++] = bytes[i] == '\n' ? 'n' : 'r';
            } else {
                shown[used++] = (bytes[i] >= ' ' && bytes[i] <= '~') ? (char)bytes[i] : '.';
            }
        }
        shown[used] = '\0';
        printf("%c %-24s \"%s\"\n", direction, hex_bytes(bytes + row, n, hex), shown);
    }
}

/* A text request, one line at a time, as far as SENT bytes. */
static void dump_text_request(const struct request *request, size_t sent)
{
    for (size_t offset = 0, size; offset < sent; offset += size) {
        const unsigned char *newline = memchr(request->bytes + offset, '\n',
                                              request->length - offset);
        size = (size_t)(newline - (request->bytes + offset)) + 1;
        if (offset + size > sent)
            size = sent - offset;
        dump_text('>', request->bytes + offset, size);
    }
}

void dump_request(const struct request *request, size_t sent, const struct numbers *in,
                  struct encoding how)
{
    if (how.text) {
        dump_text_request(request, sent);
        return;
    }
    char note[SUM_MAX_LINE + 64];
    size_t offset = 0;
    for (size_t field = 0; offset < sent; field++) {
        size_t size = field == 0 ? SUM_COUNT_SIZE : SUM_NUMBER_SIZE;
        if (field == 0)
            snprintf(note, sizeof note, "count %zu%s", in->count,
                     how.host_order_count ? " in host order (htonl skipped)" : "");
        else
            snprintf(note, sizeof note, "%" PRId64 "%s", in->values[field - 1],
                     how.host_order_numbers ? " in host order (not converted)" : "");
        if (offset + size > sent) {
            size = sent - offset;
            snprintf(note + strlen(note), sizeof note - strlen(note), " (cut: --stop-after)");
        }
        dump_field('>', request->bytes + offset, size, note);
        offset += size;
    }
}

void dump_reply(const struct outcome *result, int text)
{
    const unsigned char *reply = result->reply;
    char note[64];
    if (text) {
        const unsigned char *newline = memchr(reply, '\n', result->received);
        dump_text('<', reply, newline ? (size_t)(newline - reply) + 1 : result->received);
        return;
    }
    if (reply[0] == SUM_STATUS_OK) {
        dump_field('<', reply, 1, "status 0: the sum follows");
        snprintf(note, sizeof note, "sum %" PRId64, result->sum);
        dump_field('<', reply + 1, SUM_NUMBER_SIZE, note);
        return;
    }
    snprintf(note, sizeof note, "status %d: an error, its text follows", reply[0]);
    dump_field('<', reply, 1, note);
    snprintf(note, sizeof note, "length %d: that many bytes of text follow", reply[1]);
    dump_field('<', reply + 1, 1, note);
    dump_text('<', reply + 2, reply[1]);
}
