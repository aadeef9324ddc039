/* sockets.h: the socket plumbing chapter 1 teaches, linked by every chapter.
 *
 * Listening, accepting, connecting and sending a whole buffer, each call
 * narrated with its result. Chapter 1 is where you read how they work; from
 * chapter 2 on, a chapter includes this header ("see chapter 1") and its own
 * files hold only what is new. Every function returns -1 on failure and
 * never exits: the caller decides what a failure means.
 *
 * Usage: char why[256];
 *        int listener = open_listener("127.0.0.1", 9001, 8, 1, why, sizeof why);
 *        if (listener == -1) sl_fail("%s", why);
 * See also: chapters/01-blocking/sockets.c, getaddrinfo(3), socket(7).
 */
#ifndef SOCKLAB_SOCKETS_H
#define SOCKLAB_SOCKETS_H

#include <stddef.h>

/* getaddrinfo(ADDRESS), then socket, SO_REUSEADDR (if REUSE_ADDRESS), bind and
 * listen on the first address that works: the listening fd, or -1 with the
 * failed call and its errno name in WHY ("bind: EADDRINUSE (...)"). */
int open_listener(const char *address, int port, int backlog, int reuse_address, char *why,
                  size_t why_size);

/* For chapters after this one, whose lessons are elsewhere: open_listener
 * with SO_REUSEADDR and the ready line, or exit 1 with the reason. */
int start_listening(const char *address, int port, int backlog);

/* The ready line: "listening on ADDR:PORT" with the real port, first on
 * stdout, flushed. 0, or -1 with errno set (getsockname failed). */
int announce_listening(int listener);

/* The local port of a bound socket (the kernel's choice after port 0), or -1. */
int local_port(int fd);

/* accept(), narrated before it blocks and when it returns, retried on EINTR:
 * the connected fd, or -1 with errno set. */
int accept_client(int listener);

/* accept_client for a server that serves one client at a time, so holds no
 * other connection between clients: the connected fd. A connection that died
 * before it was accepted (ECONNABORTED) is skipped. Any other failure ends
 * the program (exit 1) with the reason; for EMFILE/ENFILE, that no descriptor
 * is left and such a server has none it could close to make room. */
int accept_or_exit(int listener);

/* SO_RCVTIMEO and SO_SNDTIMEO of SECONDS on a blocking socket: a recv() or
 * send() that waits longer fails with EAGAIN. Narrated; 0, or -1 with errno. */
int set_timeouts(int fd, double seconds);

/* getaddrinfo(HOST), then socket and connect on each address in turn, IPv6
 * and IPv4, until one answers: the connected fd, or -1 with the last reason
 * in WHY. */
int connect_to_server(const char *host, int port, char *why, size_t why_size);

/* send() until all LENGTH bytes are gone, narrating each call; WHAT, if not
 * NULL, names the bytes in the narration ("the marker"). 0, or -1 with errno. */
int send_all(int fd, const void *data, size_t length, const char *what);

#endif
