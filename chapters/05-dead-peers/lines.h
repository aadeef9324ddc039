/* lines.h: the little protocol chapter 5's server and client speak.
 *
 * Lines of text, each of which says what it is, so that no request can pass
 * for a heartbeat:
 *   client -> server   "request: TEXT"   or   "PING"
 *   server -> client   "answer: TEXT"    or   "PONG"   or   "error: WHY"
 * A request whose text is PING travels as "request: PING". A line is at most
 * LINE_MAX_BYTES bytes, its newline included, both ways; the answer to the
 * longest request fits in a line, "answer: " being shorter than "request: ".
 *
 * Usage: if (send_line(fd, "PING") == -1) ...;
 *        while (take_line(&buffer, line) == 1) ...;
 * See also: lines.c, server.c, client.c, remedies.c (the heartbeat).
 */
#ifndef SOCKLAB_LINES_H
#define SOCKLAB_LINES_H

#include <stddef.h>

#define LINE_MAX_BYTES 256
#define REQUEST_PREFIX "request: "
#define ANSWER_PREFIX "answer: "
#define ERROR_PREFIX "error: "

/* The longest TEXT a request can carry: a line, less its prefix and newline. */
#define REQUEST_TEXT_MAX (LINE_MAX_BYTES - 1 - (sizeof REQUEST_PREFIX - 1))

/* Bytes received and not yet cut into lines: never more than one line's worth. */
struct line_buffer {
    char bytes[LINE_MAX_BYTES];
    size_t used;
};

/* Moves the first complete line of BUF into LINE (LINE_MAX_BYTES bytes), without
 * its newline (or a \r before it): 1; 0 when no line is complete yet; -1 when
 * BUF is full and holds no newline (a line over the limit). */
int take_line(struct line_buffer *buf, char *line);

/* TEXT after PREFIX when LINE starts with it, else NULL. */
const char *after_prefix(const char *line, const char *prefix);

/* Sends TEXT and a newline with send_all (chapter 1): 0, or -1 with errno set
 * (EMSGSIZE, narrated, when the line would be over LINE_MAX_BYTES). */
int send_line(int fd, const char *text);

#endif
