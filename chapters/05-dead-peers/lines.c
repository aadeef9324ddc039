/* lines.c: chapter 5's protocol, one line at a time.
 *
 * TCP carries bytes, not lines: a recv() may return half a line or three of
 * them. Both sides keep what arrived in a buffer of one line's size and cut
 * lines out of it; a peer that sends a line longer than that is refused
 * rather than allowed to grow the buffer.
 *
 * Usage: see lines.h.
 * See also: server.c, client.c, chapters/02-fixed-length (the same carving,
 *           with fixed-size messages).
 */
#include "lines.h"

#include "narrate.h"
#include "../01-blocking/sockets.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

_Static_assert(sizeof ANSWER_PREFIX <= sizeof REQUEST_PREFIX,
               "the answer to the longest request must fit in a line");

int take_line(struct line_buffer *buf, char *line)
{
    char *newline = memchr(buf->bytes, '\n', buf->used);
    if (newline == NULL)
        return buf->used >= sizeof buf->bytes ? -1 : 0;
    size_t length = (size_t)(newline - buf->bytes);
    memcpy(line, buf->bytes, length);
    line[length] = '\0';
    if (length > 0 && line[length - 1] == '\r')
        line[length - 1] = '\0';
    buf->used -= length + 1;
    memmove(buf->bytes, newline + 1, buf->used);
    return 1;
}

const char *after_prefix(const char *line, const char *prefix)
{
    size_t length = strlen(prefix);
    return strncmp(line, prefix, length) == 0 ? line + length : NULL;
}

int send_line(int fd, const char *text)
{
    char line[LINE_MAX_BYTES + 1];
    int length = snprintf(line, sizeof line, "%s\n", text);
    if (length < 0 || (size_t)length > LINE_MAX_BYTES) {
        sl_narrate("a line of %s is over this protocol's %d: not sent",
                   sl_plural((long long)strlen(text) + 1, "byte"), LINE_MAX_BYTES);
        errno = EMSGSIZE;
        return -1;
    }
    return send_all(fd, line, (size_t)length, NULL);
}
