/* narrate.h: what a socklab program says, and how it ends.
 *
 * One job: the lines a learner reads. Narration is one line per step on
 * stderr, "[role] call(...) -> result", failures named as strace names them
 * ("-1 ECONNRESET (Connection reset by peer)"); colour per role and wrapping
 * to a width are applied here, so lesson code only says what happened. Also
 * the address formatting those lines use, and the 0/1/2 exits with their
 * one-line messages.
 *
 * Usage: sl_narrate("recv(fd %d) -> -1 %s", fd, sl_errno(errno));
 *        if (fd == -1) sl_fail_errno("socket");
 * See also: common/cli.h (sets role, --quiet, --color, --width),
 *           CONTRIBUTING.md (the narration contract).
 */
#ifndef SOCKLAB_NARRATE_H
#define SOCKLAB_NARRATE_H

#include <stddef.h>
#include <sys/socket.h>

/* Exit statuses shared by every chapter; a chapter may add its own (>= 3),
 * listed in its --help. */
enum { SL_EXIT_OK = 0, SL_EXIT_RUNTIME = 1, SL_EXIT_USAGE = 2 };

/* Room for "[" IPv6 "%" scope "]:" port and the terminating NUL. */
#define SL_ADDR_STRLEN 96

/* ---- narration ------------------------------------------------------------ */

/* Sets the "[role]" prefix of narration lines (a forked child names its own
 * role); on Linux also the process's name (ps, /proc/PID/comm), which the
 * wire tap reads to name the ends of a connection. */
void sl_set_role(const char *role);

/* Silences (1) or restores (0) narration, e.g. for a demo's background helper. */
void sl_set_quiet(int on);

/* Colour: SL_COLOR_AUTO (on a terminal, unless NO_COLOR is set), _ALWAYS, _NEVER. */
enum sl_color { SL_COLOR_AUTO, SL_COLOR_ALWAYS, SL_COLOR_NEVER };
void sl_set_color(enum sl_color when);

/* Narration lines wider than WIDTH columns wrap, with the role prefix and an
 * indent, never mid-word. 0: the terminal's width on a terminal, else no limit. */
void sl_set_width(int width);

/* One narration line on stderr, "[role] " + text; nothing when quiet.
 * errno is left as it was, so a failure can be narrated before it is handled. */
void sl_narrate(const char *format, ...)
    __attribute__((format(printf, 1, 2)));

/* Has HOOK called at every sl_narrate() of this process (and of the children
 * it forks from then on), quiet or not. Every call of the course is narrated
 * as it returns, so a hook sees each socket right after the call that made,
 * bound, connected or accepted it: the wire tap learns there which process
 * holds which connection (classroom/wire.c). NULL removes it. */
void sl_set_narration_hook(void (*hook)(void));

/* Like sl_narrate, for an event that happened at WHEN (sl_now() seconds)
 * rather than now: the wire tap's segments, so that whatever orders lines
 * by time puts each segment where it happened. */
void sl_narrate_at(double when, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

/* Starts a demo scene: its heading on a line of its own, and the place where
 * --step waits for the teacher's Enter. */
void sl_scene(const char *title);

/* "ECONNRESET (Connection reset by peer)": the name a program tests for, then
 * the libc's text for people. Valid until four more calls. */
const char *sl_errno(int err);

/* "ECONNRESET", or "E?" for a number this table does not know. */
const char *sl_errno_name(int err);

/* Formats an address as "127.0.0.1:9001" or "[::1]:9001" into buf
 * (SL_ADDR_STRLEN bytes); returns buf, "?" inside it if it can't be formatted. */
const char *sl_format_address(const struct sockaddr *address, socklen_t length, char *buf);

/* "1 byte", "2 bytes": COUNT and NOUN, with an s unless COUNT is 1.
 * Valid until four more calls. */
const char *sl_plural(long long count, const char *noun);

/* ---- for the classroom console (classroom/console.c) ------------------------ */

/* Whether narration is coloured (--color, NO_COLOR, stderr a terminal), the
 * width lines wrap at (0: none), and a role's colour (an SGR code, "36"). */
int sl_color_on(void);
int sl_line_width(void);
const char *sl_role_color(const char *role);

/* "[ROLE] text" (or a scene's heading) as sl_narrate (sl_scene) prints it,
 * wrapped at WIDTH (0: not), coloured if COLORED, into OUT: its length. */
size_t sl_render_line(const char *role, const char *text, int width, int colored, char *out,
                      size_t size);
size_t sl_render_scene(const char *title, int colored, char *out, size_t size);

/* Where to break TEXT (LENGTH bytes) so that at most ROOM columns go on a
 * row: at the last space that fits, or at ROOM in a word longer than a row. */
size_t sl_break_point(const char *text, size_t length, size_t room);

/* Record mode, for a demo whose stderr is the console's pipe: each narration
 * line and scene leaves as one record instead of a line,
 *     "\036" KIND " " SECONDS " " ROLE "\t" TEXT "\n"
 * KIND 'N' (a narration line, SECONDS = sl_now()), 'A' (sl_narrate_at's line,
 * SECONDS its time), 'S' (a scene, TEXT its title) or 'E' (a fatal message,
 * TEXT the whole line); TEXT with no newline, the whole in one write of at
 * most PIPE_BUF bytes so that records of several processes never mix. If
 * GATE_FD is not -1, sl_scene then waits for one byte from it (--step). */
#define SL_RECORD_MARK '\036'
void sl_set_record_mode(int gate_fd);

/* ---- ending the program --------------------------------------------------- */

/* "PROGRAM: text" on stderr, exit 1: a runtime failure. */
_Noreturn void sl_fail(const char *format, ...)
    __attribute__((format(printf, 1, 2)));

/* "PROGRAM: call: ENAME (text)" for errno on stderr, exit 1. */
_Noreturn void sl_fail_errno(const char *call);

/* Like sl_fail, with the chapter's own exit STATUS (3 and up, named in --help). */
_Noreturn void sl_fail_status(int status, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

/* "PROGRAM: text (try --help)" on stderr, exit 2: bad usage. */
_Noreturn void sl_usage_error(const char *format, ...)
    __attribute__((format(printf, 1, 2)));

/* For cli.c: the name error messages start with. */
void sl_set_program_name(const char *name);

#endif
