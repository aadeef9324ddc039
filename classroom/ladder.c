/* ladder.c: scenes as ladder diagrams, text for terminals and SVG for lessons.
 *
 * The text ladder is the lanes of lanes.c with the scene's roles all known
 * before the first row, and time breaks marked. The SVG draws the same
 * thing for a README: a lifeline per role, each call beside its own, each
 * segment a sloping arrow (a packet takes time to cross, even if loopback's
 * is too short to see), in a monospace font so text can be measured in
 * characters. Both are pure: events in, text out.
 *
 * See also: ladder.h, lanes.h, events.h.
 */
#include "ladder.h"

#include "lanes.h"
#include "narrate.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the sequence a picture shows ----------------------------------------- */

/* Whether the number at P in TEXT is a process id ("child 886", "pid 886",
 * "kill(886", "kill -STOP 886"): the kernel hands those out, small or
 * large, run by run. */
static int is_pid(const char *text, const char *p)
{
    static const char *const before[] = { "child ", "pid ", "kill(", "kill -STOP " };
    for (size_t i = 0; i < sizeof before / sizeof before[0]; i++) {
        size_t n = strlen(before[i]);
        if ((size_t)(p - text) >= n && strncmp(p - n, before[i], n) == 0)
            return 1;
    }
    return 0;
}

/* TEXT with the numbers that differ between runs written as '#': a decimal
 * (a timing: "4.01"), 4 digits and more (a port, a window), or a process
 * id; an address like 127.0.0.1 and small counts (fds, bytes, relative seq)
 * stay. */
static void add_normalized(struct event_text *out, const char *text)
{
    for (const char *p = text; *p != '\0';) {
        if (*p < '0' || *p > '9' || (p > text && p[-1] >= 'A')) {
            text_add(out, p++, 1);
            continue;
        }
        size_t length = strspn(p, "0123456789."), digits = strspn(p, "0123456789");
        while (length > 0 && p[length - 1] == '.')
            length--;
        int dots = 0;
        for (size_t i = 0; i < length; i++)
            dots += p[i] == '.';
        if ((dots == 1 && length > digits + 1) || (dots == 0 && length >= 4) ||
            (dots == 0 && is_pid(text, p)))
            text_add(out, "#", 1);
        else
            text_add(out, p, length);
        p += length;
    }
}

/* A segment as its ends, flags and length (what its arrow shows; its
 * window and sequence numbers are the kernel's business from run to run);
 * any other line as it is. */
static const char *segment_summary(const struct event *e, char *summary, size_t size)
{
    char from[256], to[256], flags[256], rest[256];
    if (strcmp(e->role, "wire") != 0 ||
        lanes_parse_segment(e->text, from, to, flags, rest, sizeof flags) == -1)
        return e->text;
    const char *len = strstr(rest, "len ");
    snprintf(summary, size, "%s -> %s  %s%s%s", from, to, flags, len ? "  " : "", len ? len : "");
    return summary;
}

void ladder_sequence(const struct event *events, size_t count, struct event_text *out)
{
    char summary[1100];
    for (size_t i = 0; i < count; i++) {
        const struct event *e = &events[i];
        if (e->kind == EVENT_SCENE) {
            text_add_string(out, "scene: ");
            text_add_string(out, e->text);
            text_add(out, "\n", 1);
        } else if (e->kind == EVENT_LINE) {
            text_add_string(out, e->role);
            text_add(out, ": ", 2);
            add_normalized(out, segment_summary(e, summary, sizeof summary));
            text_add(out, "\n", 1);
        }
    }
}

/* ---- text ----------------------------------------------------------------- */

void ladder_text(const struct event *events, size_t count, int width, int colored,
                 struct event_text *out)
{
    struct lanes lanes;
    char why[256] = "";
    const char *title = count > 0 && events[0].kind == EVENT_SCENE ? events[0].text : NULL;
    lanes_reset(&lanes, width);
    for (size_t i = 0; i < count; i++) {
        char shared[256] = "";
        lanes_place_event(&lanes, &events[i], shared, sizeof shared);
        if (shared[0] != '\0' && why[0] == '\0')
            snprintf(why, sizeof why, "%s", shared);
    }
    text_add_string(out, colored ? "\n\033[1m-- ladder" : "\n-- ladder");
    text_add_string(out, title ? ": " : "");
    text_add_string(out, title ? title : "");
    text_add_string(out, colored ? "\033[0m\n" : "\n");
    if (why[0] != '\0') {
        text_add_string(out, why);
        text_add(out, "\n", 1);
    }
    lanes_header(&lanes, colored, out);
    double last = -1;
    for (size_t i = 0; i < count; i++) {
        if (events[i].kind != EVENT_LINE)
            continue;
        if (last >= 0 && events[i].time - last >= LADDER_GAP)
            lanes_gap(&lanes, events[i].time - last, out);
        lanes_event(&lanes, &events[i], colored, out);
        last = events[i].time;
    }
}

/* ---- SVG ------------------------------------------------------------------ */

#define CHAR_W 7.2          /* one character of 12px monospace */
#define ROW_H 16            /* one row of text */
#define LANE_CHARS 42       /* the text beside one lifeline */
#define LANE_W 320          /* one lane, lifeline to lifeline */
#define MARGIN 16

/* The lane colours of the terminal (common/narrate.c), for a white page. */
static const char *svg_color(const char *role, const char *text)
{
    static const struct { const char *sgr, *rgb; } colors[] = {
        { "36", "#1b7c83" }, { "33", "#9a6700" }, { "35", "#8250df" }, { "32", "#1a7f37" },
        { "34", "#0969da" }, { "36;1", "#0b5a60" }, { "33;1", "#7d4e00" },
        { "35;1", "#6639ba" }, { "32;1", "#116329" }, { "90", "#57606a" },
    };
    if (text != NULL && strstr(text, "-> -1") != NULL)
        return "#cf222e";
    const char *sgr = sl_role_color(role);
    for (size_t i = 0; i < sizeof colors / sizeof colors[0]; i++) {
        if (strcmp(colors[i].sgr, sgr) == 0)
            return colors[i].rgb;
    }
    return "#24292f";
}

static void add_escaped(struct event_text *out, const char *text, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        switch (text[i]) {
        case '&': text_add_string(out, "&amp;"); break;
        case '<': text_add_string(out, "&lt;"); break;
        case '>': text_add_string(out, "&gt;"); break;
        case '"': text_add_string(out, "&quot;"); break;
        default: text_add(out, text + i, 1); break;
        }
    }
}

static void add_printf(struct event_text *out, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
static void add_printf(struct event_text *out, const char *format, ...)
{
    char buffer[512];
    va_list ap;
    va_start(ap, format);
    int n = vsnprintf(buffer, sizeof buffer, format, ap);
    va_end(ap);
    if (n > 0)
        text_add(out, buffer, (size_t)n < sizeof buffer ? (size_t)n : sizeof buffer - 1);
}

/* TEXT wrapped at CHARS per row, each row a <text> from X, the first at *Y;
 * ATTRIBUTES go in each <text>. */
static void svg_text(struct event_text *out, double x, double *y, int chars, const char *text,
                     const char *attributes)
{
    size_t length = strlen(text);
    int first = 1;
    while (first || length > 0) {
        size_t indent = first ? 0 : 2, cut = sl_break_point(text, length, (size_t)chars - indent);
        add_printf(out, "<text x=\"%.1f\" y=\"%.1f\" %s>", x + (double)indent * CHAR_W, *y + 12,
                   attributes);
        add_escaped(out, text, cut);
        text_add_string(out, "</text>\n");
        *y += ROW_H;
        while (cut < length && text[cut] == ' ')
            cut++;
        text += cut;
        length -= cut;
        first = 0;
    }
}

static double lane_x(int lane)
{
    return MARGIN + lane * LANE_W + 0.5;
}

/* A segment: an arrow between two lifelines, sloping down, labelled above. */
static int svg_segment(struct event_text *out, const struct lanes *lanes,
                       const struct event *e, double *y)
{
    char from[256], to[256], flags[256], rest[256];
    if (strcmp(e->role, "wire") != 0 ||
        lanes_parse_segment(e->text, from, to, flags, rest, sizeof flags) == -1)
        return 0;
    int a = lanes_of_end(lanes, from), b = lanes_of_end(lanes, to);
    if (a < 0 || b < 0 || a == b)
        return 0;
    const char *len = strstr(rest, "len ");
    char label[600];
    snprintf(label, sizeof label, "%s%s%s", flags, len ? "  " : "", len ? len : "");
    double x1 = lane_x(a), x2 = lane_x(b), top = *y + ROW_H;
    add_printf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"%s\">",
               (x1 + x2) / 2, top - 3, svg_color("wire", NULL));
    add_escaped(out, label, strlen(label));
    text_add_string(out, "</text>\n");
    add_printf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
               "marker-end=\"url(#head)\"/>\n", x1, top, x2 + (x2 > x1 ? -2 : 2), top + 10,
               svg_color("wire", NULL));
    *y = top + 14;
    return 1;
}

/* One event's rows at *Y: a segment, a remark across the page, or a line
 * beside its role's lifeline, with a dot on the lifeline. */
static void svg_event(struct event_text *out, const struct lanes *lanes, const struct event *e,
                      double *y)
{
    if (svg_segment(out, lanes, e, y))
        return;
    int lane = lanes_of(lanes, e->role);
    char text[1200], attributes[80];
    if (lane < 0) {
        snprintf(text, sizeof text, "[%s] %s", e->role, e->text);
        snprintf(attributes, sizeof attributes, "fill=\"%s\" font-style=\"italic\"",
                 svg_color("wire", NULL));
        /* Before a scene's lanes (the tap's first words), two lanes' width:
         * the narrowest page the lanes of a scene make. */
        int lanes_wide = lanes->count > 0 ? lanes->count : 2;
        svg_text(out, MARGIN, y, (int)(lanes_wide * LANE_W / CHAR_W), text, attributes);
    } else {
        snprintf(attributes, sizeof attributes, "fill=\"%s\"", svg_color(e->role, e->text));
        add_printf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" %s/>\n", lane_x(lane),
                   *y + 8, attributes);
        svg_text(out, lane_x(lane) + 8, y, LANE_CHARS, e->text, attributes);
    }
    *y += 4;
}

/* The title, a box naming each lane's role at its lifeline's head. */
static void svg_heads(struct event_text *out, const struct lanes *lanes, const char *title,
                      double *y)
{
    if (title != NULL) {
        svg_text(out, MARGIN, y, 200, title, "font-weight=\"bold\" font-size=\"14\"");
        *y += 6;
    }
    for (int i = 0; i < lanes->count; i++) {
        char name[EVENT_ROLE_MAX + 2];
        snprintf(name, sizeof name, "[%s]", lanes->name[i]);
        double width = (double)strlen(name) * CHAR_W + 12;
        add_printf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%d\" rx=\"4\" "
                   "fill=\"none\" stroke=\"%s\"/>\n", lane_x(i) - 6, *y, width, ROW_H + 4,
                   svg_color(lanes->name[i], NULL));
        add_printf(out, "<text x=\"%.1f\" y=\"%.1f\" font-weight=\"bold\" fill=\"%s\">",
                   lane_x(i), *y + 14, svg_color(lanes->name[i], NULL));
        add_escaped(out, name, strlen(name));
        text_add_string(out, "</text>\n");
    }
    *y += ROW_H + 10;
}

/* One scene (EVENTS[0..count), its EVENT_SCENE first if it has one) from *Y
 * down; *WIDTH grows to hold it. */
static void svg_scene(struct event_text *out, const struct event *events, size_t count,
                      double *y, double *width)
{
    struct lanes lanes;
    char why[256];
    lanes_reset(&lanes, LANES_MAX * LANE_MIN_WIDTH);
    for (size_t i = 0; i < count; i++)
        lanes_place_event(&lanes, &events[i], why, sizeof why);
    svg_heads(out, &lanes, count > 0 && events[0].kind == EVENT_SCENE ? events[0].text : NULL, y);
    struct event_text body = { NULL, 0, 0 };
    double top = *y, last = -1;
    for (size_t i = 0; i < count; i++) {
        const struct event *e = &events[i];
        if (e->kind != EVENT_LINE)
            continue;
        if (last >= 0 && e->time - last >= LADDER_GAP) {
            add_printf(&body, "<text x=\"%.1f\" y=\"%.1f\" fill=\"%s\" font-style=\"italic\">"
                       "(%.1f s)</text>\n", lane_x(0) + 8, *y + 12, svg_color("wire", NULL),
                       e->time - last);
            *y += ROW_H + 4;
        }
        svg_event(&body, &lanes, e, y);
        last = e->time;
    }
    for (int i = 0; i < lanes.count; i++) {
        add_printf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                   "stroke-opacity=\"0.5\"/>\n", lane_x(i), top - 6, lane_x(i), *y + 4,
                   svg_color(lanes.name[i], NULL));
    }
    if (body.data != NULL)
        text_add(out, body.data, body.length);
    free(body.data);
    if (MARGIN * 2 + lanes.count * LANE_W > *width)
        *width = MARGIN * 2 + lanes.count * LANE_W;
    *y += 28;
}

/* TEXT in an XML comment, which may not hold "--": every second dash of a
 * run becomes '~'. */
static void add_comment_text(struct event_text *out, const char *text, size_t n)
{
    for (size_t i = 0; i < n; i++)
        text_add(out, i > 0 && text[i] == '-' && text[i - 1] == '-' ? "~" : text + i, 1);
}

void ladder_svg(const struct event *events, size_t count, struct event_text *out)
{
    struct event_text body = { NULL, 0, 0 }, sequence = { NULL, 0, 0 };
    double y = MARGIN, width = 400;
    for (size_t start = 0; start < count;) {
        size_t end = start + 1;
        while (end < count && events[end].kind != EVENT_SCENE)
            end++;
        svg_scene(&body, events + start, end - start, &y, &width);
        start = end;
    }
    ladder_sequence(events, count, &sequence);
    add_printf(out, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
               "viewBox=\"0 0 %.0f %.0f\" font-family=\"DejaVu Sans Mono, Menlo, Consolas, "
               "monospace\" font-size=\"12\">\n", width, y, width, y);
    text_add_string(out, "<!-- socklab ladder: what it shows, one event a line (ROLE: text, "
                         "changing numbers as #)\n");
    if (sequence.data != NULL)
        add_comment_text(out, sequence.data, sequence.length);
    text_add_string(out, "-->\n<defs><marker id=\"head\" viewBox=\"0 0 8 8\" refX=\"8\" "
                         "refY=\"4\" markerWidth=\"8\" markerHeight=\"8\" orient=\"auto\">"
                         "<path d=\"M0,0 L8,4 L0,8 z\" fill=\"#57606a\"/></marker></defs>\n"
                         "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n");
    if (body.data != NULL)
        text_add(out, body.data, body.length);
    text_add_string(out, "</svg>\n");
    free(body.data);
    free(sequence.data);
}
