/* lanes.h: a scene's roles side by side, one lane each, drawn as text rows.
 *
 * --columns and the text ladder draw the same picture: one lane per role,
 * clients on the left, servers on the right, anything else between them
 * (on each side by name, so a role's place is the same in every scene),
 * each lane a lifeline `|` with its role's lines to its right; a wire
 * segment is an arrow from the sender's lifeline to the receiver's, and the
 * demo's own remarks span the width. --columns grows the lanes as roles
 * appear; the ladder knows a finished scene's roles before it draws.
 *
 * Usage: struct lanes lanes; lanes_reset(&lanes, 80);
 *        if (lanes_place(&lanes, "server", why, sizeof why)) lanes_header(&lanes, colored, &out);
 *        lanes_event(&lanes, &event, colored, &out);
 * See also: console.c (--columns), ladder.c (--ladder), events.h.
 */
#ifndef SOCKLAB_LANES_H
#define SOCKLAB_LANES_H

#include "events.h"

#define LANES_MAX 8
#define LANES_ROLES_MAX 32
#define LANE_MIN_WIDTH 22   /* a lifeline, a space, and 20 columns of text */

struct lanes {
    int width;                                  /* the whole row, in columns */
    int count;
    char name[LANES_MAX][EVENT_ROLE_MAX];       /* the role the lane was made for */
    int shared[LANES_MAX];                      /* other roles draw in it too */
    int roles;
    struct { char role[EVENT_ROLE_MAX]; char lane[EVENT_ROLE_MAX]; } map[LANES_ROLES_MAX];
};

/* No lanes yet, rows WIDTH columns wide. */
void lanes_reset(struct lanes *lanes, int width);


/* Gives ROLE a lane: 1 when that added a lane (draw the header again), 0 when
 * it had one or now shares one; on sharing, WHY says why, once per role. */
int lanes_place(struct lanes *lanes, const char *role, char *why, size_t why_size);

/* Gives EVENT's role a lane (a narration line), or each end of a segment
 * that has none yet: 1 when that added a lane, as lanes_place. */
int lanes_place_event(struct lanes *lanes, const struct event *event, char *why,
                      size_t why_size);

/* Where ROLE draws; -1 for none (a remark, a role never placed). */
int lanes_of(const struct lanes *lanes, const char *role);

/* Where a segment's END (a role as the wire names it) draws: its own lane,
 * else the first lane of a role it begins ("client" for "client A"), else
 * the lane of the role it names with a letter ("server" for "server B"), or
 * -1. */
int lanes_of_end(const struct lanes *lanes, const char *end);

/* The demo's remarks ("demo") and the wire's segments ("wire") are not lanes. */
int lanes_is_lane_role(const char *role);

/* A row naming each lane's role. */
void lanes_header(const struct lanes *lanes, int colored, struct event_text *out);

/* EVENT (a narration line) as rows: in its role's lane, as an arrow between
 * two lanes (a wire segment), or across the width (a remark, or a role with
 * no lane). */
void lanes_event(const struct lanes *lanes, const struct event *event, int colored,
                 struct event_text *out);

/* A row saying SECONDS passed with nothing to show (the ladder's time breaks). */
void lanes_gap(const struct lanes *lanes, double seconds, struct event_text *out);

/* "client A -> server  FIN ACK  seq 25 ack 11 win 512 len 0": the two ends,
 * the flags and the rest (all at most SIZE bytes). 0, or -1 if TEXT is not a
 * segment. */
int lanes_parse_segment(const char *text, char *from, char *to, char *flags, char *rest,
                        size_t size);

/* Appends N bytes (or a C string) to OUT; out of memory drops them. */
void text_add(struct event_text *out, const char *data, size_t n);
void text_add_string(struct event_text *out, const char *string);

#endif
