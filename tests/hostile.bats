#!/usr/bin/env bats
# Hostile peers: every server of the course (the rows of tests/hardening.bash)
# against clients that reset at once, never send, trickle, pour garbage,
# half-close early, or open hundreds of connections and drop them. After each,
# the server still serves a well-behaved client, its descriptors are back to
# where they started (/proc/PID/fd: no leak), and its peak memory stayed within
# a bound. Then SIGPIPE: no server or client dies writing to a closed peer.
#
# The peers are tests/hostile/hostile.c (built here): bash's /dev/tcp can't set
# SO_LINGER or hold a half-closed socket.
CHAPTER=01-blocking     # test_helper wants one; each row sets BIN to its own
load test_helper
load hardening

HOSTILE="$ROOT/build/tools/hostile"
# How far a server's peak memory (VmHWM) may rise above its resident size at
# start: 3 MiB, generous (stdio buffers, chapter 4's 1 MiB message limit, 300
# connections at once), yet under the 4 MiB of garbage below, so a server
# that kept what a peer sent fails. Under AddressSanitizer (its process maps
# terabytes of shadow memory) the allocator's own cost per block and its
# quarantine of freed ones grow the peak: 300 connections to chapter 6 cost
# 5-10 MiB there. The bound is 16 MiB then: it still catches a server that
# grows without limit, not one that keeps the 4 MiB; the normal build does.
GARBAGE_BYTES=$((4 * 1024 * 1024))
memory_bounds() {
    MEMORY_GROWTH_LIMIT_KB=3072
    if (($(memory_kb "$SERVER_PID" VmSize) > 1024 * 1024 * 1024)); then
        MEMORY_GROWTH_LIMIT_KB=16384
    fi
}

# One server per row for the whole file, started here: each test torments
# every one of them and checks it afterwards; a server one test broke fails
# the next ones too, and the first failure names the cause.
SERVERS="$BATS_FILE_TMPDIR/servers"     # lines: row index, pid, port, log, start VmRSS

setup_file() {
    make -s -C "$BATS_TEST_DIRNAME/hostile" >/dev/null
    local i BATS_TEST_TMPDIR=$BATS_FILE_TMPDIR
    for i in "${!SERVER_ROWS[@]}"; do
        split_row "${SERVER_ROWS[$i]}"
        BIN="$ROOT/bin/$R_CHAPTER"
        start_server "${R_SERVER_ARGS[@]}"
        echo "$i $SERVER_PID $PORT $SERVER_LOG $(memory_kb "$SERVER_PID" VmRSS)" >>"$SERVERS"
    done
}

teardown_file() {
    local i pid rest
    while read -r i pid rest; do
        stop_process "$pid"
    done <"$SERVERS"
}

# use_server I: makes row I's server the current one (BIN, SERVER_PID, PORT,
# SERVER_LOG, START_RSS) and sets the row's fields (split_row).
use_server() {
    split_row "${SERVER_ROWS[$1]}"
    BIN="$ROOT/bin/$R_CHAPTER"
    read -r _ SERVER_PID PORT SERVER_LOG START_RSS < <(grep "^$1 " "$SERVERS")
}

# end_process PID: SIGKILL and reap one of this test's background processes:
# a hostile helper or a client the test is done with (nothing to clean up:
# the kernel closes their sockets). Quicker than stop_process's polling.
end_process() {
    if is_our_child "$1"; then kill -KILL "$1" 2>/dev/null; fi
    wait "$1" 2>/dev/null || true
}

# hostile ARGS...: the hostile peer against the current server, bounded in time.
hostile() {
    timeout 10 "$HOSTILE" --port "$PORT" "$@"
}

fail() {
    echo "$R_LABEL: $*"
    return 1
}

# wait_for_fd_count PID N: up to 5 s for PID to be back to N descriptors.
wait_for_fd_count() {
    local i
    for ((i = 0; i < 250; i++)); do
        [[ $(fd_count "$1") -eq $2 ]] && return 0
        nap 0.02
    done
    return 1
}

# good_client: the row's well-behaved client gets the row's answer.
good_client() {
    local output
    output=$(timeout 5 "$BIN" client --port "$PORT" --quiet "${R_CLIENT_ARGS[@]}" </dev/null) ||
        fail "the good client failed (status $?), after the hostile peer"
    [[ $output == "$R_EXPECT" ]] || fail "the good client got '$output', not '$R_EXPECT'"
}

# against_every_server CASE: torments every row's server at once, then checks
# each. For each row, CASE ROW-INDEX starts the hostile peer (in the background
# when it takes time, so the rows' waits overlap); then, row by row,
# CASE_finish ROW-INDEX (if defined) waits for it and checks what it saw, and
# the server must still serve, have the descriptors it had before, and never
# have peaked above its starting size plus the bound.
against_every_server() {
    local case=$1 i peak base_fds=()
    for i in "${!SERVER_ROWS[@]}"; do
        use_server "$i"
        alive "$SERVER_PID" || fail "is not running (a test before broke it?)"
        base_fds[i]=$(fd_count "$SERVER_PID")
        "$case" "$i"
    done
    for i in "${!SERVER_ROWS[@]}"; do
        use_server "$i"
        if declare -F "${case}_finish" >/dev/null; then
            "${case}_finish" "$i"
        fi
        alive "$SERVER_PID" || fail "died: $(tail -3 "$SERVER_LOG")"
        good_client
        wait_for_fd_count "$SERVER_PID" "${base_fds[i]}" ||
            fail "has $(fd_count "$SERVER_PID") descriptors open, it had ${base_fds[i]}"
        peak=$(memory_kb "$SERVER_PID" VmHWM)
        memory_bounds
        ((peak - START_RSS <= MEMORY_GROWTH_LIMIT_KB)) ||
            fail "peak memory ${peak} kB, ${START_RSS} kB at the start: over the bound"
    done
}

reset_at_once() {
    run hostile reset
    [[ $status -eq 0 ]] || fail "hostile reset: $output"
}

# Chapters 1-4 serve one client at a time by design: a peer that never sends
# holds the server until it leaves, and the good client waits in the backlog
# meanwhile. What they must do is serve the next client once it has gone, with
# nothing leaked. Chapter 6's select() is the cure (chapter 5's timeouts are
# the other): there, the good client is served while the silent peer stays.
silent_peer() {
    local hold=0.2
    [[ $R_KIND == concurrent ]] && hold=30    # the test stops it
    start_background "silent_$1" "$HOSTILE" --port "$PORT" --hold "$hold" silent
    wait_for_line "$BATS_TEST_TMPDIR/silent_$1.log" '^silent: connected' 5
}

silent_peer_finish() {
    local pid="SILENT_$1_PID"
    if [[ $R_KIND == concurrent ]]; then
        good_client
        alive "${!pid}" || fail "the silent peer left before the good client was served"
        end_process "${!pid}"
    fi  # iterative: the good client of against_every_server waits for it to leave
}

# "One byte a second", sped up: 3 bytes, 0.05 s apart (concurrent: 100 bytes
# 0.3 s apart, and the good client is served meanwhile; the test stops it).
trickling_peer() {
    local interval=0.05 count=3
    [[ $R_KIND == concurrent ]] && interval=0.3 count=100
    start_background "trickle_$1" "$HOSTILE" --port "$PORT" --interval "$interval" trickle "$count"
    wait_for_line "$BATS_TEST_TMPDIR/trickle_$1.log" '^trickle: connected' 5
}

trickling_peer_finish() {
    local pid="TRICKLE_$1_PID"
    if [[ $R_KIND == concurrent ]]; then
        good_client
        alive "${!pid}" || fail "the trickling peer ended before the good client was served"
        end_process "${!pid}"
    else
        wait_for_line "$BATS_TEST_TMPDIR/trickle_$1.log" '^trickle: sent 3 of 3 bytes' 5 ||
            fail "hostile trickle: $(cat "$BATS_TEST_TMPDIR/trickle_$1.log")"
    fi
}

# More garbage than the memory bound: a server that kept what it was sent fails.
garbage_peer() {
    run hostile --hold 5 garbage "$GARBAGE_BYTES"
    [[ $status -eq 0 ]] || fail "hostile garbage: $output"
}

halfclosing_peer() {
    run hostile --hold 3 halfclose
    # The server answered (or not) and closed: a half-closed peer did not hang it.
    [[ $output == *'then EOF' ]] || fail "hostile halfclose: $output"
}

# 300 connections at once (the iterative servers' backlog holds a few; the
# rest are dropped half-open), all closed after 0.1 s.
flooding_peer() {
    start_background "flood_$1" "$HOSTILE" --port "$PORT" --hold 0.1 flood 300
}

flooding_peer_finish() {
    wait_for_line "$BATS_TEST_TMPDIR/flood_$1.log" '^flood: 300 opened' 5 ||
        fail "hostile flood: $(cat "$BATS_TEST_TMPDIR/flood_$1.log")"
}

flooding_peer_with_resets() {
    start_background "reset_flood_$1" "$HOSTILE" --port "$PORT" --hold 0.1 --reset flood 300
}

flooding_peer_with_resets_finish() {
    wait_for_line "$BATS_TEST_TMPDIR/reset_flood_$1.log" '^flood: 300 opened.*with RST' 5 ||
        fail "hostile flood --reset: $(cat "$BATS_TEST_TMPDIR/reset_flood_$1.log")"
}

@test "every chapter has a row in the hostile table (tests/hardening.bash)" {
    every_chapter_has_a_row
}

@test "hostile: a peer that connects and resets at once (SO_LINGER 0)" {
    against_every_server reset_at_once
}

@test "hostile: a peer that connects and never sends" {
    against_every_server silent_peer
}

@test "hostile: a peer that sends one byte at a time, slowly" {
    against_every_server trickling_peer
}

@test "hostile: a peer that sends 4 MiB of garbage (memory stays bounded)" {
    against_every_server garbage_peer
}

@test "hostile: a peer that sends 4 bytes and half-closes at once" {
    against_every_server halfclosing_peer
}

@test "hostile: 300 connections opened at once and dropped (FIN, then RST)" {
    against_every_server flooding_peer
    against_every_server flooding_peer_with_resets
}

@test "hostile: the select server serves others while a silent, a trickling and a garbage peer stay" {
    local i n base_fds log_lines name pid
    for i in "${!SERVER_ROWS[@]}"; do
        use_server "$i"
        [[ $R_KIND == concurrent ]] || continue
        base_fds=$(fd_count "$SERVER_PID")
        log_lines=$(wc -l <"$SERVER_LOG")
        # Each would stay 30 s: the test stops them.
        start_background "silent$i" "$HOSTILE" --port "$PORT" --hold 30 silent
        start_background "trickle$i" "$HOSTILE" --port "$PORT" --interval 1 trickle 30
        # --no-read: it pours bytes and reads nothing, so the echo backs up.
        start_background "pour$i" "$HOSTILE" --port "$PORT" --no-read --hold 30 garbage 1073741824
        wait_for_line "$BATS_TEST_TMPDIR/silent$i.log" '^silent: connected' 5
        wait_for_line "$BATS_TEST_TMPDIR/trickle$i.log" '^trickle: connected' 5
        for ((n = 0; n < 250; n++)); do     # a new line of the log, within 5 s
            tail -n +$((log_lines + 1)) "$SERVER_LOG" | grep -q 'max-pending' && break
            nap 0.02
        done
        ((n < 250)) || fail "the garbage peer's echo never backed up to the --max-pending bound"
        good_client
        good_client
        for name in SILENT TRICKLE POUR; do
            pid="$name${i}_PID"
            alive "${!pid}" || fail "the ${name,,} peer ended before the good clients were served"
            end_process "${!pid}"
        done
        wait_for_fd_count "$SERVER_PID" "$base_fds" ||
            fail "has $(fd_count "$SERVER_PID") descriptors open, it had $base_fds"
    done
}

# hostile_server NAME ARGS...: the hostile helper as a server (in the
# background, output in $BATS_TEST_TMPDIR/NAME.log, a name used once: a
# reused log could still show the last one's port); sets PORT.
hostile_server() {
    local name=$1
    shift
    start_background "$name" "$HOSTILE" "$@"
    wait_for_line "$BATS_TEST_TMPDIR/$name.log" '^listening on' 5 || fail "$name did not listen"
    PORT=$(sed -n 's/^listening on .*://p' "$BATS_TEST_TMPDIR/$name.log")
}

# SIGPIPE: a write to a peer that has closed gets EPIPE, and the signal SIGPIPE
# whose default action kills the writer. Every program ignores it. The proof
# has two parts: the SIG_IGN disposition read from /proc (SigIgn), and a real
# write to a closed peer that the program survives. Which write meets EPIPE
# (rather than ECONNRESET, or EOF first) depends on timing and the TCP stack:
# the tests print where a real EPIPE happened, and require survival throughout.

# A program inherits an ignored SIGPIPE: if this shell ignores it already, the
# SigIgn check can't tell a program that ignores it from one that doesn't.
sigpipe_default_here_or_skip() {
    ! ignores_sigpipe "$BASHPID" ||
        skip "SIGPIPE is ignored by the shell running the tests: every program inherits that"
}

@test "SIGPIPE: no server dies writing to a client that has gone" {
    sigpipe_default_here_or_skip
    local i tries pipes=()
    for i in "${!SERVER_ROWS[@]}"; do
        use_server "$i"
        ignores_sigpipe "$SERVER_PID" || fail "does not ignore SIGPIPE (SigIgn in /proc)"
        # burst: 1000 bytes, then close() at once: the echo meets a closed socket,
        # the RST it draws back makes the next send() fail with EPIPE.
        for tries in 1 2 3; do
            hostile burst 1000 >/dev/null
        done
        alive "$SERVER_PID" || fail "died: $(tail -3 "$SERVER_LOG")"
        good_client
        grep -q 'Broken pipe' "$SERVER_LOG" && pipes+=("$R_LABEL")
    done
    echo "# servers that met EPIPE and lived: ${pipes[*]:-none}" >&3
}

@test "SIGPIPE: no client dies writing to a server that has gone" {
    sigpipe_default_here_or_skip
    local i row args pipes=() status pid
    for i in "${!CLIENT_ROWS[@]}"; do
        row=${CLIENT_ROWS[i]}
        IFS='|' read -r R_CHAPTER args <<<"$row"
        read -r -a R_CLIENT_ARGS <<<"$args"
        BIN="$ROOT/bin/$R_CHAPTER"
        R_LABEL="$R_CHAPTER client $args"

        # 1: while it is connected, its disposition for SIGPIPE is SIG_IGN.
        hostile_server "holding$i" --hold 10 accept-close
        # (No timeout around it: the test stops it, and teardown would.)
        start_background "client$i" "$BIN" client --port "$PORT" "${R_CLIENT_ARGS[@]}" </dev/null
        wait_for_line "$BATS_TEST_TMPDIR/holding$i.log" '^accept-close: accepted' 5 ||
            fail "never connected: $(cat "$BATS_TEST_TMPDIR/client$i.log")"
        pid="CLIENT${i}_PID"
        ignores_sigpipe "${!pid}" || fail "does not ignore SIGPIPE (SigIgn in /proc)"
        end_process "${!pid}"
        pid="HOLDING${i}_PID"
        end_process "${!pid}"

        # 2: a server that accepts and closes at once, unread: its writes meet
        # a closed socket. It fails, never by a signal.
        hostile_server "closing$i" accept-close
        run timeout 10 "$BIN" client --port "$PORT" "${R_CLIENT_ARGS[@]}" </dev/null
        ((status < 128)) || fail "died by signal $((status - 128)): $output"
        # 0, 1, or a status of the chapter's own (05: 3, peer declared dead).
        ((status != 2 && status < 124)) || fail "exit $status: $output"
        [[ $output == *'Broken pipe'* ]] && pipes+=("$R_CHAPTER ${R_CLIENT_ARGS[*]}")
    done
    echo "# clients that met EPIPE and lived: ${pipes[*]:-none}" >&3
}

# The other way round: a server that answers with 1 MiB of garbage. Each
# client must end (bounded, under timeout) with one of its own statuses, not
# a usage error, a hang or a signal. (Chapter 3's client prints the error text
# a server sends as it came: garbage in, garbage out on stderr.)
@test "hostile server: no client crashes or hangs on 1 MiB of garbage for a reply" {
    local i row args status
    for i in "${!CLIENT_ROWS[@]}"; do
        row=${CLIENT_ROWS[i]}
        IFS='|' read -r R_CHAPTER args <<<"$row"
        read -r -a R_CLIENT_ARGS <<<"$args"
        BIN="$ROOT/bin/$R_CHAPTER"
        R_LABEL="$R_CHAPTER client $args"
        hostile_server "garbage$i" --hold 5 serve-garbage $((1024 * 1024))
        status=0
        timeout 10 "$BIN" client --port "$PORT" --quiet "${R_CLIENT_ARGS[@]}" </dev/null \
            >/dev/null 2>"$BATS_TEST_TMPDIR/client.err" || status=$?
        ((status != 2 && status < 124)) ||
            fail "exit $status: $(head -c 200 "$BATS_TEST_TMPDIR/client.err")"
    done
}

# ---- chapters 6 and 7: a line client that gives up (--timeout) ----------------
# Each chapter's line client, against a server that accepts and never answers
# and against one that never stops talking: --timeout 1 ends it with status 3
# and a line naming the wait, within 1.5 s of the start.
TIMEOUT_CLIENTS=(06-select 07-poll-epoll)

# timed_client NAME ARGS...: runs the current BIN's client (stdout dropped: an
# endless server's bytes), sets status, its stderr in $BATS_TEST_TMPDIR/NAME.err
# and elapsed (seconds) since the start.
timed_client() {
    local name=$1 started=$EPOCHREALTIME
    shift
    status=0
    timeout 5 "$BIN" client --port "$PORT" --quiet "$@" >/dev/null \
        2>"$BATS_TEST_TMPDIR/$name.err" </dev/null || status=$?
    elapsed=$(awk -v a="$started" -v b="$EPOCHREALTIME" 'BEGIN { print b - a }')
}

@test "hostile server: a line client with --timeout 1 gives up on a silent and an endless server (exit 3)" {
    local chapter elapsed
    for chapter in "${TIMEOUT_CLIENTS[@]}"; do
        [[ -d $ROOT/chapters/$chapter ]] || continue
        BIN=$ROOT/bin/$chapter
        R_LABEL="$chapter client --timeout 1"
        hostile_server "silent_server_${chapter//-/_}" --hold 10 accept-close
        timed_client "silent_$chapter" --message hello --timeout 1
        echo "$chapter, silent server: status $status after $elapsed s: $(cat "$BATS_TEST_TMPDIR/silent_$chapter.err")"
        ((status == 3)) || fail "against a silent server: status $status"
        [[ $(cat "$BATS_TEST_TMPDIR/silent_$chapter.err") == "$chapter: recv: no answer within 1 s (--timeout)" ]] ||
            fail "its message: $(cat "$BATS_TEST_TMPDIR/silent_$chapter.err")"
        awk -v e="$elapsed" 'BEGIN { exit !(e >= 1 && e < 1.5) }' || fail "took $elapsed s"

        # --no-read: it pours bytes whatever the client does, half-closed or not.
        hostile_server "endless_server_${chapter//-/_}" --no-read --hold 10 serve-garbage 1073741824
        timed_client "endless_$chapter" --message hello --timeout 1
        echo "$chapter, endless server: status $status after $elapsed s: $(cat "$BATS_TEST_TMPDIR/endless_$chapter.err")"
        ((status == 3)) || fail "against an endless server: status $status"
        grep -q 'did not close within 1 s of our input.s end (--timeout)' \
            "$BATS_TEST_TMPDIR/endless_$chapter.err" || fail "its message"
        awk -v e="$elapsed" 'BEGIN { exit !(e >= 1 && e < 1.5) }' || fail "took $elapsed s"
    done
}
