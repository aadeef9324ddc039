/* client_options.h: the client's command-line checks, shared with chapter 7.
 *
 * Harness, not lesson: the combinations of the client's options that make no
 * sense, refused before anything connects (a mistake on the command line is
 * a usage error, exit 2, not something found on the wire).
 *
 * Usage: check_client_options(&settings, options, argc, argv);
 * See also: client_options.c, main.c, ../07-poll-epoll/main.c.
 */
#ifndef SOCKLAB_CLIENT_OPTIONS_H
#define SOCKLAB_CLIENT_OPTIONS_H

#include "cli.h"
#include "nonblocking.h"

/* A line of --message and its newline must fit the client's 64K buffer. */
#define MESSAGE_MAX 65535

/* Whether OPTION was given on the command line (OPTIONS: the program's table). */
int option_given(const struct sl_option *options, int argc, char **argv, const char *option);

/* Exits 2 naming the problem: --blocking or --stall without --bytes, --bytes
 * with --message or --timeout, a --message over MESSAGE_MAX bytes. */
void check_client_options(const struct client_settings *settings,
                          const struct sl_option *options, int argc, char **argv);

#endif
