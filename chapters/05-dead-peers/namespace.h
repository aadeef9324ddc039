/* namespace.h: the private network in which demo vanish makes a host vanish.
 *
 * Harness, not lesson: the vanish scene needs a host that disappears without
 * a word, and a machine can't unplug itself. A network namespace of our own
 * (Linux) has its own loopback interface, which the demo can take down once
 * every connection is up: from then on no packet arrives anywhere, as if the
 * cable were cut. Elsewhere each function ends the demo with exit status 4,
 * saying why.
 *
 * Usage: enter_private_network(); ...; set_loopback(0); check_line_is_cut(port);
 * See also: namespace.c, demo.c, unshare(2), netdevice(7) (SIOCSIFFLAGS).
 */
#ifndef SOCKLAB_NAMESPACE_H
#define SOCKLAB_NAMESPACE_H

/* Moves this process into a new user and network namespace, its loopback up.
 * Exits 4 (EXIT_CANNOT_RUN) with the reason where the system refuses. */
void enter_private_network(void);

/* Brings the loopback up (UP 1) or down (0), as `ip link set lo up|down`
 * does: 0, or -1 with errno set. */
int set_loopback(int up);

/* With the loopback down, a new connection to 127.0.0.1:PORT must go
 * unanswered; exits 4 if it completes (the scene would show nothing). */
void check_line_is_cut(int port);

#endif
