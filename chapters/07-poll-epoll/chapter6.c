/* chapter6.c: chapter 6's files, built into this program as they are.
 *
 * Harness, not lesson: chapter 7 changes only how the server waits, so it
 * runs chapter 6's own table of clients and handlers, its listener, its
 * non-blocking connect and its client. The Makefile builds each program from
 * its own chapter's folder (and chapter 1's sockets.c), so they are compiled
 * here, each from chapter 6's folder: read them there, in chapter 6's order.
 *
 * Usage: nothing to call here; see ../06-select/clients.h, nonblocking.h.
 * See also: chapters/06-select/README.md (the files, in reading order).
 */
#include "../06-select/clients.c" // NOLINT(bugprone-suspicious-include): on purpose, see above
#include "../06-select/handlers.c" // NOLINT(bugprone-suspicious-include): on purpose, see above
#include "../06-select/chat.c" // NOLINT(bugprone-suspicious-include): on purpose, see above
#include "../06-select/server.c" // NOLINT(bugprone-suspicious-include): on purpose, see above
#include "../06-select/connect.c" // NOLINT(bugprone-suspicious-include): on purpose, see above
#include "../06-select/client.c" // NOLINT(bugprone-suspicious-include): on purpose, see above
#include "../06-select/stream.c" // NOLINT(bugprone-suspicious-include): on purpose, see above
#include "../06-select/pattern.c" // NOLINT(bugprone-suspicious-include): on purpose, see above
#include "../06-select/client_options.c" // NOLINT(bugprone-suspicious-include): on purpose, see above
