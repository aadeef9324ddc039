/* classroom.h: what a demo needs to be taught from: pacing, stepping,
 * columns, the wire tap and ladder diagrams.
 *
 * Harness for teachers, never a lesson: a chapter's main.c calls
 * classroom_begin() first thing in its demo role, and the demo's narration
 * then flows through whatever the command line asked for (--step, --pace,
 * --columns, --wire, --ladder). Without those options it changes nothing.
 *
 * Usage: if (strcmp(args.role, "demo") == 0) { classroom_begin(); return run_demo(...); }
 * See also: common/narrate.h (sl_scene), README.md ("For teachers").
 */
#ifndef SOCKLAB_CLASSROOM_H
#define SOCKLAB_CLASSROOM_H

/* Starts what the demo's classroom options ask for; returns in the process
 * that runs the demo. */
void classroom_begin(void);

#endif
