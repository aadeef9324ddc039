/* events.h: what the classroom console reads from a demo, one event each.
 *
 * A demo run under the console writes one stream into a pipe: narration
 * records (common/narrate.h, record mode) and, between them, whatever it
 * prints on stdout (the ready line, echoes). This splits that stream into
 * events and keeps them in the order they are to be shown: the order they
 * arrived in, except that an event stamped with its own time (a wire
 * segment, sl_narrate_at) goes where that time puts it.
 *
 * Usage: struct event_reader reader = { 0 };
 *        reader_feed(&reader, bytes, n, sl_now(), &list);  ... reader_finish(&reader, now, &list);
 *        while (list.count > 0) { struct event e = events_take_first(&list); ...; event_free(&e); }
 * See also: console.c (reads the pipe), ladder.h (draws events).
 */
#ifndef SOCKLAB_EVENTS_H
#define SOCKLAB_EVENTS_H

#include <stddef.h>

enum event_kind {
    EVENT_LINE,         /* a narration line: [role] text */
    EVENT_SCENE,        /* a scene begins: text is its title */
    EVENT_MESSAGE,      /* a fatal message for stderr, text the whole line */
    EVENT_OUTPUT        /* a line the demo printed on stdout */
};

#define EVENT_ROLE_MAX 48

struct event {
    enum event_kind kind;
    int timed;                  /* its time came with it (sl_narrate_at): it may move */
    double time;                /* when it happened, sl_now()'s clock: what orders events */
    double arrival;             /* when the console read it */
    char role[EVENT_ROLE_MAX];  /* "" for EVENT_OUTPUT */
    char *text;                 /* owned by the event */
};

/* Events in showing order (by time; equal times in arrival order). */
struct event_list {
    struct event *items;
    size_t count, capacity;
    size_t bytes;               /* text held, to bound what a stalled console keeps */
    double last_time;           /* time of the newest untimed event, for ordering */
};

/* Splits a byte stream into events; keep one per stream, zeroed to begin. */
struct event_text {
    char *data;
    size_t length, capacity;
};
struct event_reader {
    struct event_text raw;      /* a line printed on stdout, so far */
    struct event_text record;   /* a record, so far (they may cut a raw line in two) */
    int in_record;
};

/* Adds an event (taking its text), in showing order: an untimed event after
 * everything that arrived before it, a timed one by its time. 0, or -1 when
 * out of memory (the event's text is freed). */
int events_add(struct event_list *list, struct event *event);

/* Removes and returns the first event (list not empty). */
struct event events_take_first(struct event_list *list);

/* Appends a copy of EVENT at the end, whatever its time (a history). 0 or -1. */
int events_append_copy(struct event_list *list, const struct event *event);

void event_free(struct event *event);
void events_free(struct event_list *list);

/* Feeds N bytes read at time NOW: each complete record or line becomes an
 * event in LIST. 0, or -1 when out of memory. */
int reader_feed(struct event_reader *reader, const char *bytes, size_t n, double now,
                struct event_list *list);

/* End of the stream: a last line without its newline becomes an event too.
 * Frees what the reader holds. 0 or -1. */
int reader_finish(struct event_reader *reader, double now, struct event_list *list);

/* Reads a whole recorded stream (a record file, as the demo writes its pipe)
 * into LIST, each event arriving at its own time. 0, or -1 with errno set. */
int events_read_file(const char *path, struct event_list *list);

#endif
