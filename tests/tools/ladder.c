/* ladder.c: draws the ladders of a recorded demo, for the tests.
 *
 * Reads a file in the form a demo writes into the classroom console's pipe
 * (narration records, common/narrate.h, and plain lines) and prints what
 * the console would draw from it: each scene's text ladder, the SVG
 * picture, or the sequence an SVG embeds. It lets the drawing be tested on
 * fixed events, wire segments included, without running a demo.
 *
 * Usage: ladder text|svg|sequence [--width N] FILE
 * See also: classroom/ladder.h, tests/classroom.bats.
 */
#include "events.h"
#include "ladder.h"
#include "narrate.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Each scene's text ladder, one after the other. */
static void text_ladders(const struct event_list *events, int width, struct event_text *out)
{
    for (size_t start = 0; start < events->count;) {
        size_t end = start + 1;
        while (end < events->count && events->items[end].kind != EVENT_SCENE)
            end++;
        ladder_text(events->items + start, end - start, width, 0, out);
        start = end;
    }
}

int main(int argc, char **argv)
{
    int width = 80;
    if (argc == 5 && strcmp(argv[2], "--width") == 0)
        width = atoi(argv[3]);
    const char *what = argc >= 3 ? argv[1] : "";
    const char *path = argv[argc - 1];
    if ((argc != 3 && argc != 5) || width < 22 ||
        (strcmp(what, "text") != 0 && strcmp(what, "svg") != 0 && strcmp(what, "sequence") != 0)) {
        fprintf(stderr, "usage: ladder text|svg|sequence [--width N] FILE\n");
        return 2;
    }
    struct event_list events;
    memset(&events, 0, sizeof events);
    if (events_read_file(path, &events) == -1) {
        fprintf(stderr, "ladder: %s: %s\n", path, sl_errno(errno));
        return 1;
    }
    struct event_text out = { NULL, 0, 0 };
    if (strcmp(what, "text") == 0)
        text_ladders(&events, width, &out);
    else if (strcmp(what, "svg") == 0)
        ladder_svg(events.items, events.count, &out);
    else
        ladder_sequence(events.items, events.count, &out);
    int failed = out.data != NULL && fwrite(out.data, 1, out.length, stdout) != out.length;
    free(out.data);
    events_free(&events);
    return failed || fflush(stdout) != 0;
}
