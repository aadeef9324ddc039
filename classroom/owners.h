/* owners.h: which process holds a TCP connection, so that the tap can name
 * its ends by role ("client A", "server") rather than by port.
 *
 * Two ways to know, both Linux only. Reports: a demo's processes tell the
 * tap, at every narration line, each connection they hold (a narration hook;
 * every socket call is narrated as it returns, so a socket is reported while
 * its process still holds it, however short its life). And /proc, for
 * processes that don't report (a server and client run by hand in the `wire`
 * role's shell): /proc/net/tcp and tcp6 give the socket's inode,
 * /proc/PID/fd who holds it, /proc/PID/comm the name, which sl_set_role()
 * sets to the role. /proc can only answer while the process holds the
 * socket: a client that is done before the tap looks stays unnamed.
 *
 * Usage: in a demo process, at each narration: owners_report(report_fd);
 *        in the tap: if (owner_name(report_fd, 4, local, 51234, remote, 9001,
 *                                   name, sizeof name) == 0) ...
 * See also: owners.c, wiretap.c, proc(5) (/proc/net/tcp, /proc/PID/fd, comm).
 */
#ifndef SOCKLAB_OWNERS_H
#define SOCKLAB_OWNERS_H

#include <stddef.h>

/* In a process watched by the tap: writes to FD one report for each TCP
 * socket it holds that is bound or connected, and not reported so yet. */
void owners_report(int fd);

/* In the tap: reads the reports waiting on FD (non-blocking), if any. */
void owners_collect(int fd);

/* In the tap: notes who holds each listener of the moment, so that a
 * server keeps its name after it ends (one run --once can be gone before
 * the tap reads its last segments): from the reports waiting on REPORT_FD
 * (-1: none) first, then, for listeners nobody reported, from /proc. Cheap
 * when nothing is new: a sock_diag dump of the listeners. */
void owners_watch(int report_fd);

/* The name of the process holding the TCP socket LOCAL:LOCAL_PORT ->
 * REMOTE:REMOTE_PORT (FAMILY 4 or 6, addresses in network order), or, for a
 * connection still in a listener's queue (no process holds it yet), of the
 * process holding the listener on LOCAL_PORT. The reports waiting on
 * REPORT_FD (-1: none) are read first. Two processes of the same name get
 * different ones: "client", then "client B", "client C".
 * 0, or -1 when neither the reports nor /proc know. */
int owner_name(int report_fd, int family, const unsigned char *local, unsigned local_port,
               const unsigned char *remote, unsigned remote_port, char *name, size_t size);

#endif
