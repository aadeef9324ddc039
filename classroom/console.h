/* console.h: the classroom console, the process a teacher's demo is shown by.
 *
 * Harness for teachers, never a lesson. classroom_begin() forks: the demo
 * runs in its own process group, every line it writes going into one pipe
 * (narration as records, common/narrate.h), and the parent becomes this
 * console. It reads the pipe until every demo process has closed it, shows
 * each line when its time comes (ordered, paced, in columns, stopped at
 * each scene), draws ladders, reads Enter and q from the terminal, and
 * ends with the demo's exit status. On q, or Ctrl-C, it kills the demo's
 * process group and reaps every process of it before it exits.
 *
 * Usage: exit(console_run(&setup));
 * See also: classroom.c (the fork), events.h, lanes.h, ladder.h.
 */
#ifndef SOCKLAB_CONSOLE_H
#define SOCKLAB_CONSOLE_H

#include "cli.h"

#include <sys/types.h>

struct console_setup {
    const struct sl_classroom *asked;   /* the demo's classroom options */
    pid_t demo;                         /* the demo's first process: its process group */
    int feed;                           /* the pipe's read end: all the demo writes */
    int gate;                           /* --step: a byte here lets the demo into a scene; -1 */
    int tty;                            /* --step: the terminal keys come from; -1 */
};

/* Shows the demo until it ends or the teacher quits: the program's exit
 * status (the demo's; 0 after q). A Ctrl-C ends it by the same signal. */
int console_run(const struct console_setup *setup);

#endif
