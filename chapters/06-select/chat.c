/* chat.c: chapter 6, --chat: each line from one client to every other.
 *
 * A line goes into every other client's output buffer, not straight down
 * its socket: the end of the turn sends each buffer once, so 200 clients
 * pouring lines into a room cost one send() per listener per turn, not one
 * per line per listener. And a listener whose buffer is full has stopped
 * reading: it misses lines (the first miss is narrated, the rest counted),
 * rather than the server keeping the room's words for it without limit.
 *
 * Usage: called by handle_client_data() in clients.c: chat_take_lines(c).
 * See also: clients.h (queue_output, the buffers), README.md ("Chat").
 */
#include "clients.h"

#include <stdio.h>
#include <string.h>

static void broadcast_line(const struct client *author, const char *line, size_t length);

/* Sends on every complete line in the client's line buffer (or the whole
 * buffer once it is full with no newline) and keeps the rest. */
void chat_take_lines(struct client *c)
{
    size_t start = 0;
    for (size_t i = 0; i < c->line_length; i++) {
        if (c->line[i] == '\n') {
            broadcast_line(c, c->line + start, i + 1 - start);
            start = i + 1;
        }
    }
    if (start == 0 && c->line_length == CHAT_LINE_MAX) {
        broadcast_line(c, c->line, c->line_length);
        start = c->line_length;
    }
    memmove(c->line, c->line + start, c->line_length - start);
    c->line_length -= start;
}

/* At EOF: a last line with no newline is still a line. */
void chat_take_rest(struct client *c)
{
    if (c->line_length > 0)
        broadcast_line(c, c->line, c->line_length);
    c->line_length = 0;
}

/* Queues one line, prefixed with its author's address, for every client but
 * its author. */
static void broadcast_line(const struct client *author, const char *line, size_t length)
{
    char message[SL_ADDR_STRLEN + CHAT_LINE_MAX + 4];
    int prefix = snprintf(message, sizeof message, "%s: ", author->address);
    memcpy(message + prefix, line, length);
    size_t total = (size_t)prefix + length;
    if (message[total - 1] != '\n')
        message[total++] = '\n';

    for (int i = 0, count = clients_count(); i < count; i++) {
        struct client *c = client_by_rank(i);
        if (c == author || c->eof)
            continue;
        if (queue_output(c, message, total) == -1) {
            if (c->missed++ == 0)
                sl_narrate("fd %d has %zu bytes pending (--max-pending %zu): it misses this "
                           "line, and the next ones until there is room (counted, not "
                           "narrated)",
                           c->fd, c->pending_length, (size_t)clients_settings()->max_pending);
            continue;
        }
        /* Room again: the client read, or its kernel took more of the bytes
         * pending (a send buffer grows as the connection's window does). */
        if (c->missed > 0) {
            sl_narrate("fd %d has room again: it missed %s", c->fd, sl_plural(c->missed, "line"));
            c->missed = 0;
        }
    }
}
