#!/usr/bin/env bats
# Chapter 7: poll() and epoll. Every test runs real sockets on loopback;
# tests/bench/loadgen (built here) drives the crowds.
CHAPTER=07-poll-epoll
load test_helper

LOADGEN="$BATS_TEST_DIRNAME/bench/loadgen"
CHATFLOOD="$BATS_TEST_DIRNAME/bench/chatflood"

setup_file() {
    make -s -C "$BATS_TEST_DIRNAME/bench" loadgen chatflood >/dev/null
}

# crowd_size: 10,000, or what this shell's descriptor limit allows for a
# server and a client of that many connections each.
crowd_size() {
    local hard
    hard=$(ulimit -Hn)
    [[ $hard == unlimited ]] && hard=1048576
    ulimit -n "$hard" 2>/dev/null || true
    local n=$(($(ulimit -n) - 100))
    ((n > 10000)) && n=10000
    echo "$n"
}

linux_or_skip() {
    [[ $(uname) == Linux ]] || skip "epoll is Linux's (kqueue elsewhere)"
}

@test "lesson: every command in the chapter 7 README runs and prints what it says" {
    run_lesson
}

@test "10,000 concurrent connections (or as many as the limit allows) each echoed by one thread: poll and epoll" {
    linux_or_skip
    local n loop
    n=$(crowd_size)
    ((n >= 1100)) || skip "the descriptor limit allows only $n connections"
    for loop in epoll poll; do
        start_server --quiet --loop "$loop"
        run timeout 60 "$LOADGEN" --port "$PORT" --clients "$n" --rounds 2 --size 64
        echo "$loop: $output"
        [[ $status -eq 0 ]]
        [[ $output == *"connected=$n served=$n refused=0 told=0 failed=0 round_trips=$((2 * n)) "* ]]
        # One thread: the server is one process with one thread.
        [[ $(awk '$1 == "Threads:" { print $2 }' "/proc/$SERVER_PID/status") -eq 1 ]]
        stop_process "$SERVER_PID"
    done
}

@test "past FD_SETSIZE: a descriptor over 1024 is served (select refuses it)" {
    linux_or_skip
    ulimit -n 4096 2>/dev/null || skip "can't raise the descriptor limit to 4096"
    start_server --loop poll
    run timeout 20 "$LOADGEN" --port "$PORT" --clients 1100 --rounds 2 --size 100
    [[ $output == *"served=1100 refused=0 told=0 failed=0"* ]]
    grep -Eq 'accept\(fd [0-9]+\) -> fd (10[3-9][0-9]|1[1-9][0-9]{2}) from ' "$SERVER_LOG"
    stop_process "$SERVER_PID"
    # The same crowd against --loop select: chapter 6's wall, as it was.
    start_server --loop select
    run timeout 20 "$LOADGEN" --port "$PORT" --clients 1100 --rounds 2 --size 100
    [[ $output == *" failed=0 "* && $output != *" refused=0 "* ]]
    grep -q 'at or over FD_SETSIZE (1024), select() can.t watch it: refused' "$SERVER_LOG"
}

@test "the descriptor limit: the server raises its soft limit to the hard limit and says so" {
    local hard
    hard=$(ulimit -Hn)
    [[ $hard != unlimited ]] || skip "the hard limit is unlimited here"
    ((hard > 512)) || skip "the hard limit is only $hard"
    ulimit -Sn 512
    start_server --loop poll
    grep -q "setrlimit(RLIMIT_NOFILE, soft $hard) -> 0: raised from 512 to the hard limit" "$SERVER_LOG"
    [[ $(awk '$1 == "Max" && $2 == "open" { print $4 }' "/proc/$SERVER_PID/limits") -eq $hard ]]
}

@test "edge-triggered: reading once per event stalls (--edge-bug); reading until EAGAIN does not" {
    linux_or_skip
    start_server --quiet --loop epoll --edge-bug
    run --separate-stderr client --bytes 4M --stall 0.5
    echo "$stderr"
    [[ $status -eq 3 ]]
    [[ ${stderr_lines[-1]} == "07-poll-epoll: stalled in select: "* ]]
    stop_process "$SERVER_PID"

    start_server --loop epoll --edge-bug
    run client --quiet --bytes 1M --stall 0.5
    [[ $status -eq 3 ]]
    grep -q 'reads once per event: the rest waits for an edge that will not come' "$SERVER_LOG"
    stop_process "$SERVER_PID"

    local mode
    for mode in --edge ""; do
        start_server --quiet --loop epoll $mode
        run --separate-stderr client --bytes 4M --stall 2
        [[ $status -eq 0 && $output == "4194304 bytes sent, 4194304 received and verified in "* ]]
        stop_process "$SERVER_PID"
    done
}

@test "EPOLLRDHUP: a half-close is seen, and edge-triggered still reads the last bytes and the EOF" {
    linux_or_skip
    start_server --loop epoll --edge
    run --separate-stderr client --message "last words" --timeout 2
    [[ $status -eq 0 && $output == "last words" ]]
    grep -q 'EPOLLRDHUP: the client closed its side' "$SERVER_LOG"
    grep -Eq 'recv\(fd [0-9]+\) -> 0: EOF' "$SERVER_LOG"
}

@test "backpressure still bounds memory: clients that never read, poll and epoll" {
    local loop
    for loop in poll epoll; do
        [[ $loop == epoll && $(uname) != Linux ]] && continue
        start_server --loop "$loop" --max-pending 64K
        local before peak hogs=()
        before=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$SERVER_PID/status")
        for i in 1 2 3; do
            "$BIN" client --port "$PORT" --bytes 64M --blocking --stall 0.5 \
                >"$BATS_TEST_TMPDIR/hog$i.log" 2>&1 3>&- &
            hogs+=("$!")
            STARTED_PIDS+=("$!")
        done
        for pid in "${hogs[@]}"; do
            local status=0
            wait "$pid" || status=$?
            [[ $status -eq 3 ]]
        done
        grep -q 'the --max-pending bound: not reading from it' "$SERVER_LOG"
        run --separate-stderr client --message "still served"
        [[ $status -eq 0 && $output == "still served" ]]
        peak=$(awk '$1 == "VmHWM:" { print $2 }' "/proc/$SERVER_PID/status")
        echo "$loop: VmRSS before $before kB, peak $peak kB (3 x 64M offered)"
        ((peak - before < 8192))
        stop_process "$SERVER_PID"
    done
}

@test "a client that resets, half-closes or vanishes disturbs no other (poll and epoll)" {
    make -s -C "$BATS_TEST_DIRNAME/hostile" >/dev/null
    local hostile="$ROOT/build/tools/hostile" loop
    for loop in poll epoll; do
        [[ $loop == epoll && $(uname) != Linux ]] && continue
        start_server --loop "$loop"
        start_line_client_kept "$loop"
        timeout 5 "$hostile" --port "$PORT" reset
        timeout 5 "$hostile" --port "$PORT" --hold 1 halfclose | grep -q 'then EOF'
        # Vanishes: killed with its connection open, unread bytes in flight.
        # --blocking: it sends and never reads, so it is still there to be
        # killed however fast the machine (a reading one can finish first).
        "$BIN" client --port "$PORT" --bytes 64M --blocking --stall 30 --quiet >/dev/null 2>&1 3>&- &
        local vanishing=$!
        STARTED_PIDS+=("$vanishing")
        wait_for_line "$SERVER_LOG" 'recv\(fd [0-9]+\) -> 16384 bytes' 5
        kill -KILL "$vanishing"
        wait "$vanishing" 2>/dev/null || true
        wait_for_line "$SERVER_LOG" 'close\(fd [0-9]+\): (recv|send) failed' 5
        # The one kept connected all along is still served.
        say_kept "$loop" "still here"
        wait_for_line "$BATS_TEST_TMPDIR/kept_$loop.log" '^still here$' 5
        run --separate-stderr client --message "and a newcomer"
        [[ $status -eq 0 && $output == "and a newcomer" ]]
        stop_process "$SERVER_PID"
    done
}

# start_line_client_kept NAME: a client kept connected, its stdin a fifo.
declare -gA KEPT_FD
start_line_client_kept() {
    local fifo="$BATS_TEST_TMPDIR/kept_$1.in" fd
    mkfifo "$fifo"
    exec {fd}<>"$fifo"
    KEPT_FD[$1]=$fd
    "$BIN" client --port "$PORT" <"$fifo" >"$BATS_TEST_TMPDIR/kept_$1.log" 2>&1 3>&- {fd}>&- &
    STARTED_PIDS+=("$!")
    wait_for_line "$BATS_TEST_TMPDIR/kept_$1.log" 'SO_ERROR\) -> 0: connected' 5
}
say_kept() {
    printf '%s\n' "$2" >&"${KEPT_FD[$1]}"
}

@test "--connections: idle connections held while one more measures round trips" {
    start_server --quiet --loop poll
    run --separate-stderr client --connections 300 --rounds 200
    echo "$stderr"
    [[ $status -eq 0 ]]
    [[ $output =~ ^200\ round\ trips\ of\ 32\ bytes\ in\ [0-9.]+\ s:\ [0-9.]+\ us\ each,\ with\ 300\ idle\ connections\ held$ ]]
    [[ $stderr == *"x 300 -> fds "*": idle, they send nothing"* ]]
}

@test "bad usage exits 2 with one line" {
    run "$BIN" server --loop kqueue
    expect_usage_error
    run "$BIN" server --loop poll --edge
    expect_usage_error
    run "$BIN" server --loop epoll --edge --edge-bug
    expect_usage_error
    run "$BIN" client --rounds 5
    expect_usage_error
    run "$BIN" client --connections 5 --bytes 1M
    expect_usage_error
    run "$BIN" client --stall 1
    expect_usage_error
    run "$BIN" demo --port 1
    expect_usage_error
    local role
    for role in "" server client demo; do
        run "$BIN" $role --help
        [[ $status -eq 0 && $(awk 'length($0) > 80' <<<"$output") == "" ]]
    done
}
