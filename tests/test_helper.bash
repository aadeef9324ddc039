# test_helper.bash: what every chapter's bats file shares.
#
# Load it with `load test_helper` after setting CHAPTER (e.g. CHAPTER=01-blocking).
#
#   start_server [ARGS...]   "$BIN" server --port 0 ARGS in the background, output in
#                            $SERVER_LOG, fd 3 closed; waits (bounded) for its ready line
#                            and sets SERVER_PID, PORT, SERVER_ADDR. Fails fast, showing
#                            the log, if the server dies first. Call it directly, never
#                            under `run` (a subshell would lose the variables).
#   start_background NAME CMD...   any other long-lived process (a client left
#                            connected): output in $BATS_TEST_TMPDIR/NAME.log, pid in
#                            the variable NAME_PID (NAME uppercased); killed in teardown.
#                            Its stdin is the caller's: `start_background a cmd <fifo`.
#   wait_for_line FILE REGEX [SECONDS]   waits until a line of FILE matches (bounded:
#                            SECONDS, else $WAIT_TIMEOUT, else 10);
#   nap SECONDS              a short pause inside a bounded polling loop (no process);
#                            this is how a test waits for an event, never with sleep.
#   client ARGS...           "$BIN" client --port $PORT ARGS under timeout ($CLIENT_TIMEOUT s)
#                            (a demo runs under timeout $DEMO_TIMEOUT)
#   teardown                 kills and reaps every process the test started.
#
# Rules these helpers enforce (COURSE.md): servers on --port 0, readiness read from
# the ready line, every client under timeout, every process reaped.

bats_require_minimum_version 1.5.0
# shellcheck source=bats-tracing.bash
source "$(dirname "${BASH_SOURCE[0]}")/bats-tracing.bash"

ROOT=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
# SOCKLAB_BIN: the same tests against another build of the chapter (`make check`
# runs a chapter's claims on a learner's build: tests/check/).
BIN=${SOCKLAB_BIN:-$ROOT/bin/$CHAPTER}
CLIENT_TIMEOUT=${CLIENT_TIMEOUT:-10}
# A whole demo, which takes well under a second here (make check: shorter).
DEMO_TIMEOUT=${DEMO_TIMEOUT:-20}
READY_TIMEOUT=${READY_TIMEOUT:-10}

# Every pid started by a test, for teardown.
STARTED_PIDS=()

# nap, is_our_child and the other process helpers, shared with the lesson
# runner.
# shellcheck source=processes.bash
source "$(dirname "${BASH_SOURCE[0]}")/processes.bash"
# Under a time limit per test (make check sets BATS_TEST_TIMEOUT), bats stops
# a test with a signal whose trap exits, and the test is nearly always in a
# nap then: bash (5.2 here) can crash leaving a `read -t` that way (a
# segfault, the test's result line lost: 9 of 30 runs of a starter's claim
# under load; with sleep, 0 of 30). A sleep costs a fork per nap.
[[ -z ${BATS_TEST_TIMEOUT:-} ]] || nap() { sleep "$1"; }

# file_has_line FILE REGEX: a line of FILE matches REGEX (extended, as grep -E),
# read by bash itself while the file is short, by grep once it is long.
file_has_line() {
    local -a lines
    local line
    [[ -f $1 ]] || return 1
    mapfile -t -n 2001 lines <"$1"
    if ((${#lines[@]} > 2000)); then
        grep -Eq -- "$2" "$1"
        return
    fi
    for line in "${lines[@]}"; do
        [[ $line =~ $2 ]] && return 0
    done
    return 1
}

# wait_for_line FILE REGEX [SECONDS] [PID]: 0 once a line of FILE matches REGEX
# (extended regex); 1 after SECONDS (default $WAIT_TIMEOUT or 10), or as soon as PID has exited
# without FILE matching.
wait_for_line() {
    local file=$1 regex=$2 seconds=${3:-${WAIT_TIMEOUT:-10}} pid=${4:-}
    local deadline=$((SECONDS + seconds + 1))
    while ((SECONDS < deadline)); do
        file_has_line "$file" "$regex" && return 0
        if [[ -n $pid ]] && ! kill -0 "$pid" 2>/dev/null; then
            file_has_line "$file" "$regex" && return 0
            return 1
        fi
        nap 0.02
    done
    return 1
}

# exec_with_std_fds_only CMD...: runs CMD with only stdin, stdout and stderr
# open. A background process must not inherit the test's other descriptors:
# holding the write end of a FIFO another client reads, it would keep that
# client from ever seeing end of file.
exec_with_std_fds_only() {
    local fd
    for fd in /dev/fd/*; do
        fd=${fd##*/}
        ((fd > 2)) && eval "exec $fd>&-" 2>/dev/null
    done
    exec "$@"
}

# start_server [ARGS...]: see the top of this file. A second call starts a second
# server; SERVER_PID, PORT and SERVER_LOG then describe the newest.
start_server() {
    SERVER_LOG=$(mktemp "$BATS_TEST_TMPDIR/server.XXXX")
    (exec_with_std_fds_only "$BIN" server --port 0 "$@") >"$SERVER_LOG" 2>&1 3>&- </dev/null &
    SERVER_PID=$!
    STARTED_PIDS+=("$SERVER_PID")
    if ! wait_for_line "$SERVER_LOG" '^listening on ' "$READY_TIMEOUT" "$SERVER_PID"; then
        echo "# server did not print its ready line; its output:" >&3
        sed 's/^/#   /' "$SERVER_LOG" >&3
        return 1
    fi
    SERVER_ADDR=$(grep -m1 '^listening on ' "$SERVER_LOG" | sed 's/^listening on //')
    PORT=${SERVER_ADDR##*:}
    export PORT SERVER_ADDR SERVER_LOG SERVER_PID
}

# start_background NAME CMD...: see the top of this file.
start_background() {
    local name=$1
    shift
    # <&0: without it, a background job of a script reads /dev/null, not our stdin.
    (exec_with_std_fds_only "$@") >"$BATS_TEST_TMPDIR/$name.log" 2>&1 3>&- <&0 &
    local pid=$!
    STARTED_PIDS+=("$pid")
    printf -v "${name^^}_PID" '%s' "$pid"
}

# client ARGS...: the chapter's client against the running server, bounded in time.
client() {
    timeout "$CLIENT_TIMEOUT" "$BIN" client --port "$PORT" "$@"
}

# is_running PID: true while PID is alive and not a zombie (read from /proc
# where there is one: ps would start a process per poll).
is_running() {
    local stat state
    if [[ -d /proc/self ]]; then
        { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
        state=${stat##*) }
        [[ ${state:0:1} != Z ]]
        return
    fi
    state=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
    [[ $state != Z* ]]
}

# stop_process PID: SIGTERM, then SIGKILL if it lingers; reaps it when it is our child.
stop_process() {
    local pid=$1 i
    if ! is_our_child "$pid"; then
        wait "$pid" 2>/dev/null || true
        return 0
    fi
    kill -CONT "$pid" 2>/dev/null || true   # a stopped process can't act on SIGTERM
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 100; i++)); do
        is_our_child "$pid" running || break
        nap 0.02
    done
    is_our_child "$pid" && kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null || true
}

teardown() {
    local pid
    for pid in "${STARTED_PIDS[@]}"; do
        stop_process "$pid"
    done
    STARTED_PIDS=()
}

# ipv6_loopback_or_skip: skips the test, saying why, where ::1 can't be bound.
ipv6_loopback_or_skip() {
    if [[ ! -e /proc/net/if_inet6 ]] && [[ $(uname) == Linux ]]; then
        skip "no IPv6 on this machine (/proc/net/if_inet6 missing)"
    fi
    if ! grep -q '^0\{31\}1 ' /proc/net/if_inet6 2>/dev/null && [[ $(uname) == Linux ]]; then
        skip "no IPv6 loopback address ::1 on this machine"
    fi
}

# expect_usage_error: after `run`, the program must have exited 2 with one line
# naming the problem and pointing at --help.
expect_usage_error() {
    [[ $status -eq 2 ]] || { echo "expected exit 2, got $status: $output"; return 1; }
    [[ ${#lines[@]} -eq 1 ]] || { echo "expected one line, got: $output"; return 1; }
    [[ $output == *"(try --help)" ]] || { echo "no '(try --help)' in: $output"; return 1; }
}

# expect_runtime_error TEXT: after `run`, exit 1 with one line containing TEXT.
expect_runtime_error() {
    [[ $status -eq 1 ]] || { echo "expected exit 1, got $status: $output"; return 1; }
    [[ ${#lines[@]} -eq 1 ]] || { echo "expected one line, got: $output"; return 1; }
    [[ $output == *"$1"* ]] || { echo "expected '$1' in: $output"; return 1; }
}

# run_lesson: runs every command of chapters/$CHAPTER/README.md and checks the output
# it shows (see tests/lesson-runner.bash), in a private network namespace so the
# lesson's default ports are free. Skips, saying why, where namespaces can't be made.
run_lesson() {
    command -v unshare >/dev/null || skip "no unshare(1): lessons run in a private network namespace"
    unshare -rn true 2>/dev/null ||
        skip "this system forbids unprivileged user and network namespaces (unshare -rn failed)"
    PATH=$PATH:/sbin:/usr/sbin command -v ip >/dev/null ||
        skip "no ip(8) (iproute2) to bring up the namespace's loopback"
    PATH=$PATH:/sbin:/usr/sbin run unshare -rn bash "$ROOT/tests/lesson-runner.bash" \
        "$ROOT/chapters/$CHAPTER/README.md"
    echo "$output"
    [[ $status -eq 0 ]]
}

# make check (tests/check/check) records what each test saw, for its report.
if [[ -n ${SOCKLAB_CHECK_HOOK:-} ]]; then
    # shellcheck source=check/hook.bash
    source "$SOCKLAB_CHECK_HOOK"
fi
