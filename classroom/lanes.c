/* lanes.c: roles side by side as text rows, for --columns and the ladder.
 *
 * Every row draws each lane's lifeline, so that an exchange reads down the
 * page as a conversation across it: what a client did on the left, what
 * the server did on the right, and the segments between them as arrows.
 * Text is wrapped inside its lane the way narration wraps (never mid-word,
 * continuation rows indented), so a lane's lines read as its narration.
 *
 * See also: lanes.h, common/narrate.c (colours, wrapping).
 */
#include "lanes.h"

#include "narrate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void text_add(struct event_text *out, const char *data, size_t n)
{
    if (out->length + n + 1 > out->capacity) {
        size_t capacity = out->capacity ? out->capacity : 1024;
        while (out->length + n + 1 > capacity)
            capacity *= 2;
        char *grown = realloc(out->data, capacity);
        if (grown == NULL)
            return;
        out->data = grown;
        out->capacity = capacity;
    }
    memcpy(out->data + out->length, data, n);
    out->length += n;
    out->data[out->length] = '\0';
}

void text_add_string(struct event_text *out, const char *string)
{
    text_add(out, string, strlen(string));
}

static void add_spaces(struct event_text *out, int count)
{
    static const char spaces[] = "                                ";
    while (count > 0) {
        int n = count < (int)sizeof spaces - 1 ? count : (int)sizeof spaces - 1;
        text_add(out, spaces, (size_t)n);
        count -= n;
    }
}

static void add_colored(struct event_text *out, const char *color, const char *text, size_t n)
{
    if (color != NULL) {
        text_add_string(out, "\033[");
        text_add_string(out, color);
        text_add_string(out, "m");
    }
    text_add(out, text, n);
    if (color != NULL)
        text_add_string(out, "\033[0m");
}

/* Clients draw on the left, servers on the right, other roles between. */
static int side_of(const char *role)
{
    if (strstr(role, "client") != NULL)
        return 0;
    if (strstr(role, "server") != NULL)
        return 2;
    return 1;
}

int lanes_is_lane_role(const char *role)
{
    return strcmp(role, "demo") != 0 && strcmp(role, "wire") != 0 && role[0] != '\0';
}

void lanes_reset(struct lanes *lanes, int width)
{
    memset(lanes, 0, sizeof *lanes);
    lanes->width = width;
}

static int lane_named(const struct lanes *lanes, const char *name)
{
    for (int i = 0; i < lanes->count; i++) {
        if (strcmp(lanes->name[i], name) == 0)
            return i;
    }
    return -1;
}

int lanes_of(const struct lanes *lanes, const char *role)
{
    for (int i = 0; i < lanes->roles; i++) {
        if (strcmp(lanes->map[i].role, role) == 0)
            return lane_named(lanes, lanes->map[i].lane);
    }
    return -1;
}

/* ROLE draws in lane LANE (a copy: LANE may be one of the lanes' names). */
static void map_role(struct lanes *lanes, const char *role, int lane)
{
    snprintf(lanes->map[lanes->roles].role, EVENT_ROLE_MAX, "%s", role);
    memcpy(lanes->map[lanes->roles].lane, lanes->name[lane], EVENT_ROLE_MAX);
    lanes->roles++;
}

int lanes_place(struct lanes *lanes, const char *role, char *why, size_t why_size)
{
    if (!lanes_is_lane_role(role) || lanes_of(lanes, role) >= 0 ||
        lanes->roles >= LANES_ROLES_MAX)
        return 0;
    int fit = lanes->width / LANE_MIN_WIDTH;
    if (fit > LANES_MAX)
        fit = LANES_MAX;
    /* Clients left, servers right; on a side, by name ("client A", "client B"). */
    int side = side_of(role), at = 0;
    while (at < lanes->count && (side_of(lanes->name[at]) < side ||
                                 (side_of(lanes->name[at]) == side &&
                                  strcmp(lanes->name[at], role) < 0)))
        at++;
    if (lanes->count < fit) {
        for (int i = lanes->count; i > at; i--) {
            memcpy(lanes->name[i], lanes->name[i - 1], EVENT_ROLE_MAX);
            lanes->shared[i] = lanes->shared[i - 1];
        }
        snprintf(lanes->name[at], EVENT_ROLE_MAX, "%s", role);
        lanes->shared[at] = 0;
        lanes->count++;
        map_role(lanes, role, at);
        return 1;
    }
    if (lanes->count == 0)
        return 0;   /* narrower than one lane: lines go across the width */
    int host = at > 0 ? at - 1 : 0;
    lanes->shared[host] = 1;
    map_role(lanes, role, host);
    snprintf(why, why_size,
             "--columns: %d columns of at least %d fit in %d: [%s] shares [%s]'s (--width)",
             fit, LANE_MIN_WIDTH, lanes->width, role, lanes->name[host]);
    return 0;
}

int lanes_place_event(struct lanes *lanes, const struct event *event, char *why,
                      size_t why_size)
{
    char from[256], to[256], flags[256], rest[256];
    if (event->kind != EVENT_LINE)
        return 0;
    if (strcmp(event->role, "wire") != 0)
        return lanes_place(lanes, event->role, why, why_size);
    if (lanes_parse_segment(event->text, from, to, flags, rest, sizeof flags) == -1)
        return 0;
    int added = 0;
    if (lanes_of_end(lanes, from) < 0)
        added = lanes_place(lanes, from, why, why_size);
    if (lanes_of_end(lanes, to) < 0)
        added = lanes_place(lanes, to, why, why_size) || added;
    return added;
}

static int lane_start(const struct lanes *lanes, int lane)
{
    return lane * (lanes->width / lanes->count);
}

static int lane_width(const struct lanes *lanes, int lane)
{
    int end = lane == lanes->count - 1 ? lanes->width : lane_start(lanes, lane + 1);
    return end - lane_start(lanes, lane);
}

/* One row: every lane's lifeline (MARK), and PIECE (N bytes) in lane LANE
 * (-1: none), coloured COLOR. */
static void row(const struct lanes *lanes, int lane, const char *piece, size_t n,
                const char *color, char mark, struct event_text *out)
{
    for (int i = 0; i < lanes->count; i++) {
        text_add(out, &mark, 1);
        int last = i == lanes->count - 1;
        if (i == lane) {
            text_add(out, " ", 1);
            add_colored(out, color, piece, n);
            if (!last)
                add_spaces(out, lane_width(lanes, i) - 2 - (int)n);
        } else if (!last) {
            add_spaces(out, lane_width(lanes, i) - 1);
        }
    }
    text_add(out, "\n", 1);
}

void lanes_header(const struct lanes *lanes, int colored, struct event_text *out)
{
    for (int i = 0; i < lanes->count; i++) {
        char name[EVENT_ROLE_MAX + 8];
        int n = snprintf(name, sizeof name, "[%s]%s", lanes->name[i], lanes->shared[i] ? "+" : "");
        int room = lane_width(lanes, i) - (i == lanes->count - 1 ? 2 : 3);
        if (n > room)
            n = room;
        char color[16];
        snprintf(color, sizeof color, "1;%s", sl_role_color(lanes->name[i]));
        text_add(out, "| ", 2);
        add_colored(out, colored ? color : NULL, name, (size_t)n);
        if (i < lanes->count - 1)
            add_spaces(out, room + 1 - n);
    }
    text_add(out, "\n", 1);
}

/* TEXT wrapped in lane LANE, as narration wraps: at spaces, continuation
 * rows indented by two. */
static void lane_text(const struct lanes *lanes, int lane, const char *text, const char *color,
                      struct event_text *out)
{
    /* A space before the next lifeline, so text never touches it. */
    int last = lane == lanes->count - 1;
    size_t room = (size_t)lane_width(lanes, lane) - (last ? 2 : 3), length = strlen(text);
    int first = 1;
    while (first || length > 0) {
        char piece[1100];
        size_t indent = first ? 0 : 2;
        size_t cut = sl_break_point(text, length, room - indent);
        snprintf(piece, sizeof piece, "%s%.*s", first ? "" : "  ", (int)cut, text);
        row(lanes, lane, piece, strlen(piece), color, '|', out);
        while (cut < length && text[cut] == ' ')
            cut++;
        text += cut;
        length -= cut;
        first = 0;
    }
}

int lanes_parse_segment(const char *text, char *from, char *to, char *flags, char *rest,
                        size_t size)
{
    const char *arrow = strstr(text, " -> ");
    if (arrow == NULL)
        return -1;
    const char *to_start = arrow + 4, *to_end = strstr(to_start, "  ");
    if (to_end == NULL)
        return -1;
    const char *flags_start = to_end + 2, *flags_end = strstr(flags_start, "  ");
    const char *rest_start = flags_end != NULL ? flags_end + 2 : "";
    if (flags_end == NULL)
        flags_end = flags_start + strlen(flags_start);
    snprintf(from, size, "%.*s", (int)(arrow - text), text);
    snprintf(to, size, "%.*s", (int)(to_end - to_start), to_start);
    snprintf(flags, size, "%.*s", (int)(flags_end - flags_start), flags_start);
    snprintf(rest, size, "%s", rest_start);
    return 0;
}

int lanes_of_end(const struct lanes *lanes, const char *end)
{
    int lane = lanes_of(lanes, end);
    size_t length = strlen(end);
    for (int i = 0; lane < 0 && i < lanes->count; i++) {
        if (strncmp(lanes->name[i], end, length) == 0 && lanes->name[i][length] == ' ')
            lane = i;
    }
    /* "server B": the tap's name for a second process that says it is the
     * server (a new one each scene, say); where no lane has that name, its
     * arrows go to the lane of the role it says it is. */
    if (lane < 0 && length > 2 && end[length - 2] == ' ' && end[length - 1] >= 'A' &&
        end[length - 1] <= 'Z') {
        for (int i = 0; lane < 0 && i < lanes->count; i++) {
            if (strncmp(lanes->name[i], end, length - 2) == 0 && lanes->name[i][length - 2] == '\0')
                lane = i;
        }
    }
    return lane;
}

/* The label that fits ROOM columns: "FLAGS  len N", else FLAGS (cut). */
static void arrow_label(const char *flags, const char *rest, int room, char *label, size_t size)
{
    const char *len = strstr(rest, "len ");
    snprintf(label, size, "%s%s%s", flags, len ? "  " : "", len ? len : "");
    if ((int)strlen(label) > room)
        snprintf(label, size, "%.*s", room > 0 ? room : 0, flags);
}

/* An arrow from lane FROM's lifeline to lane TO's, labelled. */
static void arrow(const struct lanes *lanes, int from, int to, const char *flags,
                  const char *rest, int colored, struct event_text *out)
{
    char line[1024];
    int width = lanes->width < (int)sizeof line - 1 ? lanes->width : (int)sizeof line - 1;
    memset(line, ' ', (size_t)width);
    for (int i = 0; i < lanes->count; i++)
        line[lane_start(lanes, i)] = '|';
    int a = lane_start(lanes, from), b = lane_start(lanes, to);
    int low = a < b ? a : b, high = a < b ? b : a;
    memset(line + low + 1, '-', (size_t)(high - low - 1));
    line[a < b ? high - 1 : low + 1] = a < b ? '>' : '<';
    char label[600];
    arrow_label(flags, rest, high - low - 7, label, sizeof label);
    int n = (int)strlen(label);
    if (n > 0) {
        int at = low + (high - low - n) / 2;
        line[at - 1] = ' ';
        memcpy(line + at, label, (size_t)n);
        line[at + n] = ' ';
    }
    int end = width;
    while (end > 0 && line[end - 1] == ' ')
        end--;
    int span = high - low + 1, after = end - high - 1;
    text_add(out, line, (size_t)low);
    add_colored(out, colored ? sl_role_color("wire") : NULL, line + low, (size_t)span);
    text_add(out, line + high + 1, (size_t)after);
    text_add(out, "\n", 1);
}

/* A line across the width, as narration prints it: a remark, or a role
 * that has no lane. */
static void across(const struct lanes *lanes, const struct event *event, int colored,
                   struct event_text *out)
{
    char line[4096];
    size_t n = sl_render_line(event->role, event->text, lanes->width, colored, line, sizeof line);
    text_add(out, line, n);
}

void lanes_event(const struct lanes *lanes, const struct event *event, int colored,
                 struct event_text *out)
{
    char from[256], to[256], flags[256], rest[256];
    if (strcmp(event->role, "wire") == 0 &&
        lanes_parse_segment(event->text, from, to, flags, rest, sizeof flags) == 0) {
        int a = lanes_of_end(lanes, from), b = lanes_of_end(lanes, to);
        if (a >= 0 && b >= 0 && a != b && lanes->width < 1024) {
            arrow(lanes, a, b, flags, rest, colored, out);
            return;
        }
    }
    int lane = lanes_of(lanes, event->role);
    if (lane < 0) {
        across(lanes, event, colored, out);
        return;
    }
    const char *color = NULL;
    if (colored)
        color = strstr(event->text, "-> -1") != NULL ? "31;1" : sl_role_color(event->role);
    if (!lanes->shared[lane]) {
        lane_text(lanes, lane, event->text, color, out);
        return;
    }
    char text[1200];
    snprintf(text, sizeof text, "[%s] %s", event->role, event->text);
    lane_text(lanes, lane, text, color, out);
}

void lanes_gap(const struct lanes *lanes, double seconds, struct event_text *out)
{
    char label[64];
    int n = snprintf(label, sizeof label, "(%.1f s)", seconds);
    row(lanes, lanes->count > 0 ? 0 : -1, label, (size_t)n, NULL, ':', out);
}
