/* holders.h: TCP sockets as the kernel knows them, and the processes that
 * hold them, for the wire tap's names (owners.h).
 *
 * Linux only. The sockets come from sock_diag (NETLINK_SOCK_DIAG, what ss(8)
 * uses): one connection looked up by its addresses and ports is a hash
 * lookup, and the listeners alone are a short list, where /proc/net/tcp
 * would walk the machine's whole connection table (a millisecond per read
 * here). The holders come from /proc/PID/fd, whose links name the socket
 * inodes a process holds, for the processes of this network namespace.
 *
 * Usage: struct socket_row row;
 *        if (holders_lookup(&wanted, &row) == 0) { holders_find(&row, 1); ... }
 * See also: holders.c, owners.c, sock_diag(7), proc(5) (/proc/PID/fd, comm).
 */
#ifndef SOCKLAB_HOLDERS_H
#define SOCKLAB_HOLDERS_H

#include <stddef.h>
#include <sys/types.h>

/* A TCP socket: its ends as the tap sees them on the wire, and its holder. */
struct socket_row {
    pid_t pid;                  /* the process holding it; 0 while not known */
    char comm[16];              /* that process's name: its role */
    unsigned long inode;        /* the socket's: a new one is a new connection */
    int family;                 /* 4 or 6 (an IPv4 peer of an IPv6 socket is 4) */
    unsigned char local[16], remote[16];    /* network order; IPv4 in the first 4 */
    unsigned local_port, remote_port;       /* remote_port 0: not connected (a listener) */
};

/* The socket WANTED's family and ends name, else the listener on its local
 * port (the kernel's own lookup, as for an arriving segment): 0 with *FOUND
 * filled (pid 0), or -1 when there is none, or only one no process holds
 * yet (a connection still in a listener's queue, one in TIME_WAIT). */
int holders_lookup(const struct socket_row *wanted, struct socket_row *found);

/* Would LISTENER (a row not connected) take a connection for WANTED's local
 * end? Same port, and its address WANTED's, or any (an IPv6 "::" listener
 * takes IPv4 connections too). */
int holders_listens_for(const struct socket_row *listener, const struct socket_row *wanted);

/* Every listening TCP socket of this network namespace, at most MAX of them
 * into ROWS (pid 0): how many. */
size_t holders_listeners(struct socket_row *rows, size_t max);

/* Gives each of the COUNT ROWS a process of this network namespace holds
 * that process's pid and name, from what the last look through /proc saw,
 * or from a new look (the newest processes first: a client that connected
 * just now is the newest, and may be gone in a millisecond). With over a
 * thousand new sockets at a look, looks are rationed to a quarter of the
 * time: a row may then stay without a holder. */
void holders_find(struct socket_row *rows, size_t count);

#endif
