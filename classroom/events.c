/* events.c: a demo's record stream split into events, kept in showing order.
 *
 * The stream is one pipe written by every process of the demo: records (a
 * mark byte, then one line, written in one write so they never mix) and raw
 * text from stdout between them. A pipe keeps the order of writes, so an
 * untimed event is shown in the order it arrived; only a timed event (a
 * wire segment, stamped when the packet was seen) moves back to its time.
 *
 * See also: events.h, common/narrate.h (the record format).
 */
#include "events.h"

#include "narrate.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A line printed on stdout carries no time: it was written after the record
 * before it and at most this long before it arrived. */
#define RAW_LEAD 0.03

static int grow(struct event_list *list)
{
    if (list->count < list->capacity)
        return 0;
    size_t capacity = list->capacity ? list->capacity * 2 : 64;
    struct event *items = realloc(list->items, capacity * sizeof *items);
    if (items == NULL)
        return -1;
    list->items = items;
    list->capacity = capacity;
    return 0;
}

int events_add(struct event_list *list, struct event *event)
{
    if (grow(list) == -1) {
        event_free(event);
        return -1;
    }
    if (!event->timed) {
        if (event->time < list->last_time)
            event->time = list->last_time;
        list->last_time = event->time;
    }
    size_t at = list->count;
    while (at > 0 && list->items[at - 1].time > event->time)
        at--;
    memmove(list->items + at + 1, list->items + at, (list->count - at) * sizeof *list->items);
    list->items[at] = *event;
    list->count++;
    list->bytes += strlen(event->text) + 1;
    event->text = NULL;
    return 0;
}

struct event events_take_first(struct event_list *list)
{
    struct event first = list->items[0];
    list->count--;
    memmove(list->items, list->items + 1, list->count * sizeof *list->items);
    list->bytes -= strlen(first.text) + 1;
    return first;
}

int events_append_copy(struct event_list *list, const struct event *event)
{
    if (grow(list) == -1)
        return -1;
    struct event copy = *event;
    copy.text = strdup(event->text);
    if (copy.text == NULL)
        return -1;
    list->items[list->count++] = copy;
    list->bytes += strlen(copy.text) + 1;
    return 0;
}

void event_free(struct event *event)
{
    free(event->text);
    event->text = NULL;
}

void events_free(struct event_list *list)
{
    for (size_t i = 0; i < list->count; i++)
        event_free(&list->items[i]);
    free(list->items);
    memset(list, 0, sizeof *list);
}

/* "K SECONDS ROLE\tTEXT" (the mark already gone) into EVENT; 0, or -1 when
 * it is not a record (then it is shown as text, not lost). */
static int parse_record(const char *line, struct event *event)
{
    static const char kinds[] = "NASE";
    if (line[0] == '\0' || strchr(kinds, line[0]) == NULL || line[1] != ' ')
        return -1;
    char *end;
    double when = strtod(line + 2, &end);
    const char *tab = strchr(end, '\t');
    if (end == line + 2 || *end != ' ' || tab == NULL || (size_t)(tab - end - 1) >= EVENT_ROLE_MAX)
        return -1;
    memset(event, 0, sizeof *event);
    event->kind = line[0] == 'S' ? EVENT_SCENE : line[0] == 'E' ? EVENT_MESSAGE : EVENT_LINE;
    event->timed = line[0] == 'A';
    event->time = when;
    memcpy(event->role, end + 1, (size_t)(tab - end - 1));
    event->text = strdup(tab + 1);
    return event->text == NULL ? -1 : 0;
}

static int hold(struct event_text *text, char c)
{
    if (text->length + 2 > text->capacity) {
        size_t capacity = text->capacity ? text->capacity * 2 : 256;
        char *data = realloc(text->data, capacity);
        if (data == NULL)
            return -1;
        text->data = data;
        text->capacity = capacity;
    }
    text->data[text->length++] = c;
    text->data[text->length] = '\0';
    return 0;
}

/* TEXT (a record's, if IS_RECORD, else a raw line) becomes an event. NOW < 0:
 * replaying a file, where a record arrives at its own time. */
static int deliver(struct event_text *text, int is_record, double now, struct event_list *list)
{
    struct event event;
    const char *content = text->data != NULL ? text->data : "";
    text->length = 0;
    if (!is_record || parse_record(content, &event) == -1) {
        memset(&event, 0, sizeof event);
        event.kind = EVENT_OUTPUT;
        event.time = now < 0 ? list->last_time : now - RAW_LEAD;
        event.text = strdup(content);
        if (event.text == NULL)
            return -1;
    }
    event.arrival = now < 0 ? event.time : now;
    return events_add(list, &event);
}

int reader_feed(struct event_reader *reader, const char *bytes, size_t n, double now,
                struct event_list *list)
{
    for (size_t i = 0; i < n; i++) {
        char c = bytes[i];
        int failed;
        if (reader->in_record && c == '\n') {
            reader->in_record = 0;
            failed = deliver(&reader->record, 1, now, list);
        } else if (reader->in_record) {
            failed = hold(&reader->record, c);
        } else if (c == SL_RECORD_MARK) {
            reader->in_record = 1;
            failed = 0;
        } else if (c == '\n') {
            failed = deliver(&reader->raw, 0, now, list);
        } else {
            failed = hold(&reader->raw, c);
        }
        if (failed)
            return -1;
    }
    return 0;
}

int reader_finish(struct event_reader *reader, double now, struct event_list *list)
{
    int failed = 0;
    if (reader->in_record && reader->record.length > 0)
        failed = deliver(&reader->record, 1, now, list);
    if (reader->raw.length > 0)
        failed = deliver(&reader->raw, 0, now, list) || failed;
    free(reader->raw.data);
    free(reader->record.data);
    memset(reader, 0, sizeof *reader);
    return failed ? -1 : 0;
}

int events_read_file(const char *path, struct event_list *list)
{
    int fd = open(path, O_RDONLY);
    if (fd == -1)
        return -1;
    struct event_reader reader;
    memset(&reader, 0, sizeof reader);
    char buffer[4096];
    ssize_t n;
    int failed = 0;
    while (!failed && (n = read(fd, buffer, sizeof buffer)) != 0) {
        if (n == -1 && errno == EINTR)
            continue;
        failed = n == -1 || reader_feed(&reader, buffer, (size_t)n, -1, list) == -1;
    }
    int saved = errno;
    failed = reader_finish(&reader, -1, list) == -1 || failed;
    close(fd);
    errno = saved;
    return failed ? -1 : 0;
}
