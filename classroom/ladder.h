/* ladder.h: a scene drawn as a ladder (sequence) diagram, as text or SVG.
 *
 * Time goes down; each role has a lifeline, clients on the left and servers
 * on the right; each role's calls are written beside its own lifeline and
 * each wire segment is an arrow from sender to receiver, labelled with its
 * flags and length; a pause of half a second or more is marked with its
 * length. These are pure functions of the recorded events: the console
 * calls them after each scene (--ladder) or at the end (--ladder=FILE.svg),
 * and a test can feed them a recorded file.
 *
 * Usage: ladder_text(events, count, 80, colored, &out);
 *        ladder_svg(events, count, &out);   // every scene in EVENTS
 * See also: lanes.h (the text rows), events.h, console.c.
 */
#ifndef SOCKLAB_LADDER_H
#define SOCKLAB_LADDER_H

#include "events.h"

#include <stddef.h>

/* Pauses at least this long between two events are drawn, with their length. */
#define LADDER_GAP 0.5

/* One scene as text rows WIDTH columns wide: EVENTS[0..count), the first
 * one its EVENT_SCENE if it has one. */
void ladder_text(const struct event *events, size_t count, int width, int colored,
                 struct event_text *out);

/* Every scene of EVENTS as one SVG picture. It opens with a comment holding
 * ladder_sequence() of the same events, so that a test can tell whether a
 * picture still shows what the program does. */
void ladder_svg(const struct event *events, size_t count, struct event_text *out);

/* What a ladder shows, one line each: "scene: TITLE", "ROLE: text" for each
 * narration line and segment, in time order, with the numbers that change
 * from run to run (ports, timings, window sizes: numbers of 4 digits or
 * more, decimals) written as '#'. */
void ladder_sequence(const struct event *events, size_t count, struct event_text *out);

#endif
