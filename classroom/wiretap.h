/* wiretap.h: the wire tap, every TCP segment on the loopback narrated beside
 * the system calls that caused it.
 *
 * Harness for the classroom, never a lesson. In a private network (a new
 * user and network namespace: no root needed where the system allows them)
 * a packet socket on `lo` records each segment with the kernel's time, and
 * a tap process narrates it as "[wire] client -> server  FIN ACK  seq 25
 * ack 11 win 512 len 0": ends named by the role of the process holding the
 * socket, sequence numbers counted from each end's first, windows scaled.
 * Linux only (AF_PACKET, namespaces); elsewhere, and where namespaces are
 * refused, it says so and exits WIRE_EXIT_UNAVAILABLE.
 *
 * classroom_begin() calls wire_begin() for a demo run with --wire, in the
 * process about to run the demo once its output goes to the console, which
 * orders the segments among the calls by their time and draws them as
 * arrows in --columns and --ladder (lanes.h parses the line's form).
 *
 * Usage: wire_begin();               a demo with --wire, before any socket
 *        return wire_run(argc, argv);    the `wire` role: a shell (or COMMAND)
 *                                        in a private network, for hand runs
 * See also: wiretap.c, segment.h (the decoder), conversation.h (the numbering),
 *           owners.h (the names), classroom.h, packet(7), user_namespaces(7).
 */
#ifndef SOCKLAB_WIRETAP_H
#define SOCKLAB_WIRETAP_H

/* The exit status when this system can't run the tap (it says why). */
enum { WIRE_EXIT_UNAVAILABLE = 4 };

/* The `wire` role's row, for a program's roles table. */
#define WIRE_ROLE                                                                              \
    { "wire", "[-- COMMAND...]", 64,                                                           \
      "A shell (or COMMAND) in a private network, with every TCP segment on its loopback "    \
      "narrated; exits 4 where the system allows no such network." }

/* For a demo: moves this process into a private network with the tap
 * running, so every socket made after it is seen. Returns in the demo's
 * process; the tap ends (its last segments printed) when that process
 * exits, or at wire_end(). Exits WIRE_EXIT_UNAVAILABLE, saying why, where
 * it can't. */
void wire_begin(void);

/* Stops the tap and waits until it has narrated every segment it saw.
 * Called at exit by itself; a no-op without a tap, or in a forked child. */
void wire_end(void);

/* 1 while this process's tap runs: a scene that would make a network of its
 * own (and so hide from the tap) can stay in the tap's. */
int wire_is_on(void);

/* The `wire` role: runs COMMAND (ARGC words of ARGV; none: the user's
 * $SHELL) in a private network with the tap narrating on stderr, each
 * segment with its time since the tap started and its first payload bytes.
 * What COMMAND leaves running (a server in the background) is ended when it
 * ends. Returns COMMAND's exit status (128 + a signal that killed it). */
int wire_run(int argc, char **argv);

#endif
