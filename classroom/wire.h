/* wire.h: the wire tap, the TCP segments of a demo beside its narration.
 *
 * Harness for teachers (--wire), never a lesson. classroom_begin() calls
 * wire_begin() in the process that is about to run the demo, after its
 * output has been handed to the console; from then on every TCP segment the
 * demo sends or receives is narrated by role "wire" with sl_narrate_at(),
 * stamped with the time it was seen, in the form
 *     client -> server  FIN ACK  seq 25 ack 11 win 512 len 0
 * (the ends named by role; lanes.h parses that form to draw arrows).
 *
 * Usage: if (asked->wire) wire_begin();
 * See also: classroom.c, lanes.h (lanes_parse_segment), common/narrate.h.
 */
#ifndef SOCKLAB_WIRE_H
#define SOCKLAB_WIRE_H

/* Starts the tap, or ends the program (status 2) saying why it can't. */
void wire_begin(void);

#endif
