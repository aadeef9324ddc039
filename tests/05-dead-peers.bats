#!/usr/bin/env bats
# Chapter 5: how each way of dying looks from the other side, and the bounds
# each remedy puts on a client's wait. See chapters/05-dead-peers/README.md.
CHAPTER=05-dead-peers
load test_helper

# The freeze and vanish demos wait several seconds on purpose. They start once,
# in the background, before the first test, so that their waits overlap with
# the lesson's; the tests about them read what they printed.
setup_file() {
    local name
    for name in freeze vanish; do
        # set +e: bats runs this with errexit, and a demo that fails must
        # still leave its status behind.
        { set +e; "$BIN" demo "$name" >"$BATS_FILE_TMPDIR/$name.log" 2>&1
          echo $? >"$BATS_FILE_TMPDIR/$name.status"; } 3>&- &
        echo $! >"$BATS_FILE_TMPDIR/$name.pid"
    done
}

teardown_file() {
    local name pid
    for name in freeze vanish; do
        pid=$(cat "$BATS_FILE_TMPDIR/$name.pid" 2>/dev/null) || continue
        kill "$pid" 2>/dev/null || true
    done
}

# demo_output NAME: waits (20 s at most) for the background demo NAME to end,
# then sets DEMO_LOG and DEMO_STATUS. A scenario that cannot run on this
# system (status 4) skips the test with the reason it printed.
demo_output() {
    local name=$1 i
    DEMO_LOG=$BATS_FILE_TMPDIR/$name.log
    for ((i = 0; i < 1000; i++)); do
        [[ -s $BATS_FILE_TMPDIR/$name.status ]] && break
        sleep 0.02
    done
    DEMO_STATUS=$(cat "$BATS_FILE_TMPDIR/$name.status" 2>/dev/null) || {
        echo "demo $name did not end within 20 s; its output:"
        cat "$DEMO_LOG"
        return 1
    }
    if [[ $DEMO_STATUS == 4 ]]; then
        skip "$(grep -m1 'cannot run here' "$DEMO_LOG")"
    fi
}

# dead_after FILE LABEL HOW: the seconds in "[LABEL] peer declared dead after
# X s (HOW)" (LABEL empty: the plain "05-dead-peers: " form); fails if absent.
dead_after() {
    local file=$1 label=$2 how=$3 prefix line
    if [[ -n $label ]]; then prefix="[$label] "; else prefix="05-dead-peers: "; fi
    line=$(grep -F -- "${prefix}peer declared dead after " "$file" | grep -F "($how)" | head -1)
    [[ -n $line ]] || { echo "no '${prefix}peer declared dead ... ($how)' in $file:" >&2; cat "$file" >&2; return 1; }
    line=${line#*dead after }
    echo "${line%% s *}"
}

# still_waiting FILE LABEL: the seconds in "client LABEL is still waiting, X s
# after ..."; fails if the demo did not find it still waiting.
still_waiting() {
    local line
    line=$(grep -F -- "[demo] client $2 is still waiting, " "$1" | head -1)
    [[ -n $line ]] || { echo "client $2 was not still waiting:" >&2; cat "$1" >&2; return 1; }
    line=${line#*still waiting, }
    echo "${line%% s *}"
}

# within LOW VALUE HIGH: LOW <= VALUE < HIGH, decimals allowed.
within() {
    awk -v low="$1" -v value="$2" -v high="$3" 'BEGIN { exit !(value >= low && value < high) }' ||
        { echo "expected $1 <= $2 < $3"; return 1; }
}

# start_client NAME ARGS...: a client in the background against $PORT, its
# stderr and stdout in $BATS_TEST_TMPDIR/NAME.log, its pid in NAME_PID.
start_client() {
    local name=$1
    shift
    start_background "$name" timeout 20 "$BIN" client --port "$PORT" "$@"
}

# client_status PID: waits (10 s at most) for a background client, then sets
# STATUS to its exit status. Not under `run`: a subshell can't wait for it.
client_status() {
    local i
    for ((i = 0; i < 500; i++)); do
        is_running "$1" || break
        sleep 0.02
    done
    STATUS=0
    wait "$1" || STATUS=$?
}

# has_line FILE REGEX: FILE has a line matching the extended REGEX; shows FILE if not.
has_line() {
    grep -Eq -- "$2" "$1" || { echo "no line matching '$2' in:"; cat "$1"; return 1; }
}

@test "lesson: every command in the chapter 5 README runs and prints what it says" {
    run_lesson
}

@test "usage: bad remedies, behaviours and scenarios are refused with exit 2" {
    run "$BIN" client --keepalive 1,2
    expect_usage_error
    [[ $output == *"'1,2' is not IDLE,INTERVAL,COUNT"* ]]
    run "$BIN" client --keepalive 1,0,2
    expect_usage_error
    run "$BIN" client --timeout 0
    expect_usage_error
    run "$BIN" client --user-timeout -5
    expect_usage_error
    run "$BIN" server --behave sleepy
    expect_usage_error
    run "$BIN" demo freezing
    expect_usage_error
    run "$BIN" demo freeze vanish
    expect_usage_error
}

@test "help: lists the chapter's exit statuses 3 (peer declared dead) and 4 (cannot run here)" {
    run -0 "$BIN" --help
    [[ $output == *"3: the client declared the peer dead"* ]]
    [[ $output == *"4: a demo scenario cannot run on this system"* ]]
}

@test "answer: a live server answers and the client prints the answer, exit 0" {
    start_server --behave answer
    run -0 --separate-stderr client --message 'are you there'
    [[ $output == "answer: are you there" ]]
}

@test "exit: the peer closes normally; recv returns 0 and the client declares it dead at once" {
    start_server --behave exit --once
    run -3 --separate-stderr client
    [[ -z $output ]]
    echo "$stderr" >"$BATS_TEST_TMPDIR/client.log"
    has_line "$BATS_TEST_TMPDIR/client.log" '^\[client\] recv\(fd [0-9]+\) -> 0: EOF, the peer closed the connection$'
    within 0 "$(dead_after "$BATS_TEST_TMPDIR/client.log" "" EOF)" 0.5
    run -0 wait "$SERVER_PID"
    has_line "$SERVER_LOG" 'close\(fd [0-9]+\), exit\(0\): a clean exit'
}

@test "crash: after kill -9 the client reads EOF; a send is accepted, the peer resets, the next send fails with EPIPE" {
    start_server --behave silent
    start_client probe --probe
    wait_for_line "$SERVER_LOG" 'staying silent' 5
    kill -9 "$SERVER_PID"
    client_status "$PROBE_PID"
    [[ $STATUS -eq 3 ]]
    cat "$BATS_TEST_TMPDIR/probe.log"
    has_line "$BATS_TEST_TMPDIR/probe.log" '^\[client\] recv\(fd [0-9]+\) -> 0: EOF'
    has_line "$BATS_TEST_TMPDIR/probe.log" '^\[client\] send\(fd [0-9]+, 5 bytes\) -> 5: accepted by my kernel$'
    has_line "$BATS_TEST_TMPDIR/probe.log" '^\[client\] send\(fd [0-9]+, 5 bytes\) -> -1 \(Broken pipe\)$'
    dead_after "$BATS_TEST_TMPDIR/probe.log" "" EOF
}

@test "crash: a client that does not ignore SIGPIPE is killed by it on that send" {
    start_server --behave silent
    start_client probe --probe --no-sigpipe-ignore
    wait_for_line "$SERVER_LOG" 'staying silent' 5
    kill -9 "$SERVER_PID"
    client_status "$PROBE_PID"
    cat "$BATS_TEST_TMPDIR/probe.log"
    [[ $STATUS -eq $((128 + 13)) ]]
    has_line "$BATS_TEST_TMPDIR/probe.log" '^\[client\] send\(fd [0-9]+, 5 bytes\) -> 5: accepted by my kernel$'
    ! grep -q 'Broken pipe\|declared dead' "$BATS_TEST_TMPDIR/probe.log"
}

@test "crash: killed with the request unread, the peer's kernel resets the connection: ECONNRESET" {
    start_server --behave deaf
    start_client probe --probe
    wait_for_line "$SERVER_LOG" 'I never read it' 5
    kill -9 "$SERVER_PID"
    client_status "$PROBE_PID"
    [[ $STATUS -eq 3 ]]
    cat "$BATS_TEST_TMPDIR/probe.log"
    has_line "$BATS_TEST_TMPDIR/probe.log" '^\[client\] recv\(fd [0-9]+\) -> -1 \(Connection reset by peer\)$'
    has_line "$BATS_TEST_TMPDIR/probe.log" '^\[client\] send\(fd [0-9]+, 5 bytes\) -> -1 \(Broken pipe\)$'
    dead_after "$BATS_TEST_TMPDIR/probe.log" "" reset
}

@test "freeze, by hand: without a remedy the client is still blocked 2 s in; --timeout 1 detects it in under 1.5 s" {
    start_server --behave silent
    local blocked_server=$SERVER_PID
    start_client blocked
    start_server --behave silent
    start_client deadline --timeout 1
    wait_for_line "$SERVER_LOG" 'staying silent' 5
    wait_for_line "$BATS_TEST_TMPDIR/blocked.log" 'recv\(fd [0-9]+\) \.\.\.' 5
    kill -STOP "$blocked_server" "$SERVER_PID"
    sleep 2     # the point of the test: nothing happens for 2 s
    is_running "$BLOCKED_PID"
    ! grep -q 'declared dead' "$BATS_TEST_TMPDIR/blocked.log"
    client_status "$DEADLINE_PID"
    [[ $STATUS -eq 3 ]]
    cat "$BATS_TEST_TMPDIR/deadline.log"
    within 0.9 "$(dead_after "$BATS_TEST_TMPDIR/deadline.log" "" timeout)" 1.5
    # teardown ends the blocked client and the frozen servers
}

# With the demo test below (the keepalive client outlives the 3 s that two
# unanswered probes would take), this proves keepalive does not notice a freeze:
# the option really took effect, so the client survives because its probes are
# answered by the frozen peer's kernel, not because none were sent.
@test "freeze: the keepalive client's connection really carries a keepalive timer" {
    command -v ss >/dev/null || PATH=$PATH:/sbin:/usr/sbin command -v ss >/dev/null ||
        skip "no ss(8) (iproute2) to look at the connection's timer"
    start_server --behave silent
    start_client probing --keepalive 1,1,2
    wait_for_line "$SERVER_LOG" 'staying silent' 5
    kill -STOP "$SERVER_PID"
    local line i
    for ((i = 0; i < 100; i++)); do
        line=$(PATH=$PATH:/sbin:/usr/sbin ss -tno state established "( dport = :$PORT )")
        [[ $line == *"timer:(keepalive"* ]] && break
        sleep 0.05
    done
    echo "$line"
    [[ $line == *"timer:(keepalive"* ]]
}

@test "freeze: keepalive and user timeout do not notice (TCP is alive); the heartbeat does" {
    demo_output freeze
    cat "$DEMO_LOG"
    [[ $DEMO_STATUS -eq 0 ]]
    within 0.9 "$(dead_after "$DEMO_LOG" "client --timeout 1" timeout)" 1.5
    within 2.0 "$(dead_after "$DEMO_LOG" "client --heartbeat 0.8" heartbeat)" 3.5
    # keepalive 1,1,2 would have given up 3 s into the silence
    within 4 "$(still_waiting "$DEMO_LOG" "--keepalive 1,1,2")" 60
    within 4 "$(still_waiting "$DEMO_LOG" "--user-timeout 1000")" 60
    within 2 "$(still_waiting "$DEMO_LOG" "(no remedy)")" 60
}

@test "vanish: with no FIN and no RST, the blocking client is still waiting 2 s after the host vanished" {
    demo_output vanish
    cat "$DEMO_LOG"
    grep -qF '[demo] check: connect(127.0.0.1:' "$DEMO_LOG"
    within 2 "$(still_waiting "$DEMO_LOG" "(no remedy)")" 60
    ! grep -qF '[client (no remedy)] peer declared dead' "$DEMO_LOG"
    [[ $DEMO_STATUS -eq 0 ]]
}

@test "vanish: --timeout 1 declares the peer dead in under 1.5 s" {
    demo_output vanish
    within 0.9 "$(dead_after "$DEMO_LOG" "client --timeout 1" timeout)" 1.5
}

@test "vanish: --keepalive 1,1,2 declares the peer dead within about 4 s of silence (ETIMEDOUT)" {
    demo_output vanish
    has_line "$DEMO_LOG" '^\[client --keepalive 1,1,2\] recv\(fd [0-9]+\) -> -1 \(Connection timed out\)$'
    within 2.0 "$(dead_after "$DEMO_LOG" "client --keepalive 1,1,2" keepalive)" 4.5
}

@test "vanish: --user-timeout 1000 declares the peer dead within about 3 s of the unacknowledged send" {
    demo_output vanish
    has_line "$DEMO_LOG" '^\[client --user-timeout 1000\] recv\(fd [0-9]+\) -> -1 \(Connection timed out\)$'
    within 0.9 "$(dead_after "$DEMO_LOG" "client --user-timeout 1000" user-timeout)" 3
}

@test "vanish: --heartbeat 0.8 declares the peer dead after three silent periods" {
    demo_output vanish
    has_line "$DEMO_LOG" '^\[client --heartbeat 0.8\] 1\.6.* s without a word from the server: PING$'
    within 2.0 "$(dead_after "$DEMO_LOG" "client --heartbeat 0.8" heartbeat)" 3.5
}

@test "slow is not dead: --timeout declares a slow server dead, --heartbeat waits and gets the answer" {
    start_server --behave answer --delay 1.5
    start_client deadline --timeout 1
    start_server --behave answer --delay 1.5
    run -0 --separate-stderr client --heartbeat 0.5
    [[ $output == "answer: hello" ]]
    [[ $stderr == *"PONG: the server is alive, just not done"* ]]
    ! [[ $stderr == *"declared dead"* ]]
    client_status "$DEADLINE_PID"
    [[ $STATUS -eq 3 ]]
    within 0.9 "$(dead_after "$BATS_TEST_TMPDIR/deadline.log" "" timeout)" 1.5
}

@test "the server survives a client that sends a line too long, and serves the next" {
    start_server --behave answer
    exec 5<>"/dev/tcp/127.0.0.1/$PORT"
    printf '%0300d' 0 >&5
    # The server closes without answering; with bytes it never read still
    # queued, its kernel resets the connection, so head may see an error.
    run --separate-stderr timeout 5 head -c 1 <&5
    exec 5<&-
    [[ $status -ne 124 && -z $output ]]
    run -0 --separate-stderr client
    [[ $output == "answer: hello" ]]
    grep -q 'a line longer than 256 bytes: closing' "$SERVER_LOG"
}
