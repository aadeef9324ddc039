#!/usr/bin/env bats
# Chapter 1: blocking sockets. Each test proves one claim of the lesson on a real socket.

CHAPTER=01-blocking
load test_helper

@test "lesson: every command in the chapter 1 README runs and prints what it says" {
    run_lesson
}

@test "lines come back in order, an empty line and a 64 KiB line included" {
    start_server
    {
        echo first
        echo
        head -c 65536 /dev/zero | tr '\0' 'x'
        echo
        echo last
    } >"$BATS_TEST_TMPDIR/input"
    run --separate-stderr client --quiet <"$BATS_TEST_TMPDIR/input"
    [[ $status -eq 0 ]]
    diff <(printf '%s\n' "$output") "$BATS_TEST_TMPDIR/input"
    # The 64 KiB line needed several recv calls on the client: the stream has no lines.
    run client <<<"$(head -c 65536 /dev/zero | tr '\0' 'y')"
    [[ $(grep -c 'recv(fd [0-9]*) -> ' <<<"$output") -gt 1 ]]
}

@test "a 4 MiB line comes back whole: the client reads the echo while it sends" {
    # Sent whole before reading, a line this long would fill both sides'
    # buffers and leave client and server each waiting for the other.
    start_server
    head -c 4194304 /dev/zero | tr '\0' 'z' >"$BATS_TEST_TMPDIR/long"
    echo >>"$BATS_TEST_TMPDIR/long"
    run client --quiet <"$BATS_TEST_TMPDIR/long"
    [[ $status -eq 0 ]]
    [[ $(cksum <<<"$output") == $(cksum <"$BATS_TEST_TMPDIR/long") ]]
}

@test "--message lines are echoed, in order, and the narration names each call" {
    start_server
    run --separate-stderr client --message one --message 'two words' --message ''
    [[ $status -eq 0 ]]
    # `run` drops trailing newlines: the empty third line shows as the third recv.
    [[ $output == $'one\ntwo words' ]]
    [[ $(grep -c 'recv(fd [0-9]*) -> ' <<<"$stderr") -eq 3 ]]
    [[ $stderr == *"[client] connect(127.0.0.1:$PORT) -> 0, from 127.0.0.1:"* ]]
    [[ $stderr == *"[client] close(fd "* ]]
    grep -q "^\[server\] accept(fd [0-9]*) -> fd [0-9]* from 127.0.0.1:" "$SERVER_LOG"
}

@test "IPv6: a server on ::1 serves a client that connects to ::1" {
    ipv6_loopback_or_skip
    start_server --bind ::1
    [[ $SERVER_ADDR == "[::1]:"* ]]
    run --separate-stderr client --host ::1 --message 'over IPv6'
    [[ $status -eq 0 ]]
    [[ $output == "over IPv6" ]]
    grep -q "accept(fd [0-9]*) -> fd [0-9]* from \[::1\]:" "$SERVER_LOG"
}

@test "a second client connects at once but is echoed only after the first one leaves" {
    start_server
    # Client A: its stdin is a FIFO the test holds open, so A stays connected.
    mkfifo "$BATS_TEST_TMPDIR/a.in"
    exec {a_input}<>"$BATS_TEST_TMPDIR/a.in"
    start_background a "$BIN" client --port "$PORT" <"$BATS_TEST_TMPDIR/a.in"
    echo "from A" >&"$a_input"
    wait_for_line "$BATS_TEST_TMPDIR/a.log" '^from A$'

    start_background b "$BIN" client --port "$PORT" --message "from B"
    wait_for_line "$BATS_TEST_TMPDIR/b.log" 'send\(fd [0-9]+, 7 bytes\) -> 7'

    # B's connect and send succeeded, yet the server has accepted only A:
    # B's connection was completed by the kernel and waits in the backlog.
    grep -q "connect(127.0.0.1:$PORT) -> 0" "$BATS_TEST_TMPDIR/b.log"
    [[ $(grep -c 'accept(fd [0-9]*) -> fd' "$SERVER_LOG") -eq 1 ]]
    ! grep -q '^from B$' "$BATS_TEST_TMPDIR/b.log"
    is_running "$B_PID"

    exec {a_input}>&-     # A's input ends: A closes, and only now is B served
    wait_for_line "$BATS_TEST_TMPDIR/b.log" '^from B$'
    wait "$B_PID"

    # The server's own account, in order: A's end, then B's accept.
    local a_end b_accept
    a_end=$(grep -n 'recv(fd [0-9]*) -> 0' "$SERVER_LOG" | head -1 | cut -d: -f1)
    b_accept=$(grep -n 'accept(fd [0-9]*) -> fd' "$SERVER_LOG" | sed -n 2p | cut -d: -f1)
    [[ -n $a_end && -n $b_accept && $a_end -lt $b_accept ]]
}

@test "demo: B is connected before the server accepts it, and is served after A leaves" {
    run timeout "$DEMO_TIMEOUT" "$BIN" demo
    [[ $status -eq 0 ]]
    [[ $(grep -c '^hello from [AB]$\|^bye from A$' <<<"$output") -eq 3 ]]
    local b_connected a_closed b_accepted
    b_connected=$(grep -n '^\[client B\] connect(.*) -> 0' <<<"$output" | cut -d: -f1)
    a_closed=$(grep -n '^\[client A\] close' <<<"$output" | cut -d: -f1)
    b_accepted=$(grep -n '^\[server\] accept(fd [0-9]*) -> fd' <<<"$output" | sed -n 2p | cut -d: -f1)
    [[ $b_connected -lt $a_closed && $a_closed -lt $b_accepted ]]
}

# Holds a client connected to $PORT, then stops the server: the server's side
# closes first, so its end of the connection lingers on the server's port.
serve_and_kill_with_client_connected() {
    start_server
    mkfifo "$BATS_TEST_TMPDIR/held.in"
    exec {held_input}<>"$BATS_TEST_TMPDIR/held.in"
    start_background held "$BIN" client --port "$PORT" <"$BATS_TEST_TMPDIR/held.in"
    echo "hello" >&"$held_input"
    wait_for_line "$BATS_TEST_TMPDIR/held.log" '^hello$'
    stop_process "$SERVER_PID"
    exec {held_input}>&-
    wait "$HELD_PID" || true
}

@test "restart: without SO_REUSEADDR the port is still in use after the server dies" {
    serve_and_kill_with_client_connected
    run timeout 5 "$BIN" server --port "$PORT" --no-reuseaddr --quiet
    expect_runtime_error "bind: EADDRINUSE"
}

@test "restart: with SO_REUSEADDR (the default) the server binds the same port at once" {
    serve_and_kill_with_client_connected
    local old_port=$PORT
    start_server --port "$old_port"
    [[ $PORT -eq $old_port ]]
    run client --quiet --message again
    [[ $status -eq 0 && $output == again ]]
}

@test "restart: a server whose client left first restarts even without SO_REUSEADDR" {
    start_server --once
    run client --quiet --message bye     # the client closes first: TIME_WAIT is on its port
    [[ $output == bye ]]
    wait "$SERVER_PID"
    start_server --port "$PORT" --no-reuseaddr
}

# In a private network namespace, give the machine a second address besides
# 127.0.0.1 (192.0.2.1, from the range reserved for documentation) and see
# which servers a client reaches there. Prints "refused" or the echo, for
# a server bound to $1. Runs in the namespace's own shell, with wait_for_line.
reach_other_address() {
    ip link set lo up
    ip addr add 192.0.2.1/32 dev lo
    : >"$BATS_TEST_TMPDIR/ns-server.log"
    "$BIN" server --bind "$1" --port 0 --once --quiet >"$BATS_TEST_TMPDIR/ns-server.log" 2>&1 </dev/null 3>&- &
    local server=$!
    # (Not left running on failure: in the namespace, teardown can't see it.)
    wait_for_line "$BATS_TEST_TMPDIR/ns-server.log" '^listening on ' 10 "$server" ||
        { echo "no ready line:"; cat "$BATS_TEST_TMPDIR/ns-server.log"; kill "$server"; return 1; }
    local port
    port=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$BATS_TEST_TMPDIR/ns-server.log")
    if ! timeout 5 "$BIN" client --host 192.0.2.1 --port "$port" --quiet --message reached 2>&1; then
        kill "$server"
    fi
    wait "$server" 2>/dev/null || true
}

@test "loopback vs all interfaces: only a server on 0.0.0.0 answers at the machine's other address" {
    unshare -rn true 2>/dev/null || skip "unprivileged network namespaces are not allowed here"
    PATH=$PATH:/sbin:/usr/sbin command -v ip >/dev/null || skip "no ip(8) to add an address"
    local script
    script="$(declare -f wait_for_line file_has_line reach_other_address); nap() { sleep \"\$1\"; }"
    script+="; BIN='$BIN' BATS_TEST_TMPDIR='$BATS_TEST_TMPDIR'"
    run env PATH="$PATH:/sbin:/usr/sbin" unshare -rn bash -c "$script; reach_other_address 127.0.0.1"
    [[ $output == "01-blocking: connect: ECONNREFUSED ("*")" ]] || { echo "got: $output"; false; }
    run env PATH="$PATH:/sbin:/usr/sbin" unshare -rn bash -c "$script; reach_other_address 0.0.0.0"
    [[ $output == "reached" ]]
}

@test "--once: the server exits 0 after its one client" {
    start_server --once
    run client --quiet --message bye
    [[ $output == bye ]]
    wait "$SERVER_PID"
}

@test "the listening socket stays open: clients served one after another" {
    start_server
    for i in 1 2 3; do
        run client --quiet --message "client $i"
        [[ $output == "client $i" ]]
    done
    # The same two descriptors each time: fd N listens, fd N+1 is the client of the moment.
    [[ $(grep -o 'accept(fd [0-9]*) -> fd [0-9]* from' "$SERVER_LOG" | sort -u | wc -l) -eq 1 ]]
    [[ $(grep -c 'accept(fd [0-9]*) -> fd [0-9]* from' "$SERVER_LOG") -eq 3 ]]
}

@test "--help, for the program and for a role, exits 0 with usage on stdout" {
    run --separate-stderr "$BIN" --help
    [[ $status -eq 0 && $output == *"usage: 01-blocking ROLE"* && -z $stderr ]]
    run --separate-stderr "$BIN" server --help
    [[ $status -eq 0 && $output == *"--bind ADDR"* && $output != *"--message"* ]]
}

@test "bad usage exits 2 with one line naming the problem" {
    local -a cases=(
        "client --port abc|--port: 'abc' is not a whole number"
        "client --port 70000|--port: '70000' is out of range (0 to 65535)"
        "client --port -1|--port: '-1' is out of range (0 to 65535)"
        "client --port=|--port: '' is not a whole number"
        "client --port|--port needs a value (N)"
        "server --frobnicate|unknown option '--frobnicate'"
        "server --bind|--bind needs a value (ADDR)"
        "client --once|--once is not a client option"
        "client extra|unexpected argument 'extra' for client"
        "serve|unknown role 'serve'"
        "|missing ROLE"
    )
    local case args message
    for case in "${cases[@]}"; do
        args=${case%%|*} message=${case#*|}
        # shellcheck disable=SC2086  # the arguments are meant to split
        run timeout 5 "$BIN" $args
        expect_usage_error
        [[ $output == "01-blocking: $message"* ]] || { echo "for '$args': $output"; return 1; }
    done
}

@test "runtime failures exit 1 naming the call: unknown host, refused, bad bind address" {
    run timeout 10 "$BIN" client --host no-such-host.invalid --message x
    expect_runtime_error "01-blocking: getaddrinfo no-such-host.invalid: "

    start_server
    local port=$PORT
    stop_process "$SERVER_PID"
    run timeout 5 "$BIN" client --port "$port" --quiet --message x
    expect_runtime_error "01-blocking: connect: ECONNREFUSED"

    run timeout 5 "$BIN" server --bind 256.1.1.1 --port 0 --quiet
    expect_runtime_error "01-blocking: getaddrinfo 256.1.1.1: "
}

@test "the server survives a client that resets mid-echo, and serves the next" {
    start_server
    # A client that sends and vanishes at once, without reading its echo.
    exec {raw}<>"/dev/tcp/127.0.0.1/$PORT"
    printf 'gone\n' >&"$raw"
    exec {raw}>&-
    run client --quiet --message "still here"
    [[ $status -eq 0 && $output == "still here" ]]
    is_running "$SERVER_PID"
}


@test "--timeout: against a server that accepts and never answers, the client gives up in time with status 3" {
    make -s -C "$BATS_TEST_DIRNAME/hostile" >/dev/null
    start_background silent "$ROOT/build/tools/hostile" --hold 10 accept-close
    wait_for_line "$BATS_TEST_TMPDIR/silent.log" '^listening on ' 5
    local port started elapsed
    port=$(sed -n 's/^listening on .*://p' "$BATS_TEST_TMPDIR/silent.log")
    started=$(date +%s%N)
    run --separate-stderr timeout 5 "$BIN" client --port "$port" --timeout 1 --message hello
    elapsed=$((($(date +%s%N) - started) / 1000000))
    [[ $status -eq 3 ]] || { echo "status $status: $stderr"; return 1; }
    [[ $stderr =~ \[client\]\ recv\(fd\ [0-9]+\)\ -\>\ -1\ (EAGAIN|EWOULDBLOCK) ]] ||
        { echo "$stderr"; return 1; }
    [[ $stderr == *"01-blocking: recv: no answer within 1 s (--timeout)" ]]
    ((elapsed >= 900 && elapsed < 1500)) || { echo "took $elapsed ms"; return 1; }
}

@test "--timeout: a client left in the backlog of a busy server gives up with status 3; without it, it waits" {
    start_server --quiet
    start_background first bash -c "sleep 10 | exec '$BIN' client --port $PORT"
    wait_for_line "$BATS_TEST_TMPDIR/first.log" 'connect\(.*\) -> 0' 5
    run --separate-stderr timeout 5 "$BIN" client --port "$PORT" --quiet --timeout 1 --message hello
    [[ $status -eq 3 && $stderr == *"no answer within 1 s (--timeout)" ]]
    # The default waits as long as it takes: here, until timeout(1) ends it.
    run timeout 1.5 "$BIN" client --port "$PORT" --quiet --message hello
    [[ $status -eq 124 ]]
}

@test "the client notices a server that is not an echo server, instead of printing its bytes as the echo" {
    make -s -C "$BATS_TEST_DIRNAME/hostile" >/dev/null
    start_background liar "$ROOT/build/tools/hostile" serve-garbage 100
    wait_for_line "$BATS_TEST_TMPDIR/liar.log" '^listening on ' 5
    local port
    port=$(sed -n 's/^listening on .*://p' "$BATS_TEST_TMPDIR/liar.log")
    run --separate-stderr timeout 5 "$BIN" client --port "$port" --quiet --message 'hello'
    [[ $status -eq 1 ]]
    [[ $stderr == *"01-blocking: recv: the reply is not an echo of what was sent"* ]]
    [[ -z $output ]]
}

@test "EMFILE: a server with no descriptor left for a client says why it stops" {
    # fds 0-2 and the listener fill a limit of 4: accept() has no descriptor to give.
    (exec_with_std_fds_only bash -c 'ulimit -n 4 && exec "$0" server --port 0' "$BIN") \
        >"$BATS_TEST_TMPDIR/s.log" 2>&1 3>&- </dev/null &
    STARTED_PIDS+=("$!")
    wait_for_line "$BATS_TEST_TMPDIR/s.log" '^listening on ' 5
    local port
    port=$(sed -n 's/^listening on .*://p' "$BATS_TEST_TMPDIR/s.log")
    run timeout 5 "$BIN" client --port "$port" --quiet --timeout 2 --message x
    wait_for_line "$BATS_TEST_TMPDIR/s.log" 'no descriptor is left' 5
    grep -q '^\[server\] accept(fd 3) -> -1 EMFILE' "$BATS_TEST_TMPDIR/s.log"
    grep -q '^01-blocking: accept: EMFILE (.*): no descriptor is left for a client' "$BATS_TEST_TMPDIR/s.log"
}

@test "a client whose connect() meets a full backlog says it is waiting in connect()" {
    start_server --backlog 1 --quiet
    # One client served, two more queued (Linux queues backlog + 1): all held open.
    local i
    for i in 1 2 3; do
        start_background "held$i" bash -c "sleep 10 | exec '$BIN' client --port $PORT"
        wait_for_line "$BATS_TEST_TMPDIR/held$i.log" 'connect\(.*\) -> 0' 5
    done
    start_background blocked bash -c "sleep 10 | exec '$BIN' client --port $PORT"
    wait_for_line "$BATS_TEST_TMPDIR/blocked.log" 'connect\(127.0.0.1:[0-9]+\) \.\.\. \(blocks for the handshake\)' 5
    # It really is stuck in the handshake: its socket is in SYN-SENT.
    local deadline=$((SECONDS + 5))
    until ss -tan | grep -q "SYN-SENT.*127.0.0.1:$PORT"; do
        ((SECONDS < deadline)) || { ss -tan; return 1; }
        nap 0.05
    done
    ! grep -q 'connect(.*) -> 0' "$BATS_TEST_TMPDIR/blocked.log"
}

# ---- Claims judged by `make check 1` (tests/check/): this block is appended ----
# They prove what the exercise (serve and echo_until_eof in server.c) must get
# right beyond the tests above; they run in `make test` too. See tests/check/claims.bash.
load check/claims

@test "the server closes each client's socket: after three clients it holds no more descriptors than before" {
    proc_or_skip
    start_server
    local before after i
    before=$(open_descriptors "$SERVER_PID")
    for i in 1 2 3; do
        run client --quiet --message "client $i"
        [[ $output == "client $i" ]]
    done
    # The server closes the last client's socket once its recv() returns 0:
    # wait for that, bounded, instead of looking too early.
    for ((i = 0; i < 100; i++)); do
        after=$(open_descriptors "$SERVER_PID")
        ((after <= before)) && return 0
        nap 0.02
    done
    claim_failed descriptor-leak "$before descriptors open in the server, as before its clients" \
        "$after descriptors open after three clients came and left"
}

@test "after a client leaves, the server waits for the next without using CPU, and serves it" {
    # --quiet: a server that spins would otherwise fill its log as fast as it can.
    start_server --quiet
    run client --quiet --message first
    [[ $output == first ]]
    local cpu_before= used=
    [[ -r /proc/$SERVER_PID/stat ]] && cpu_before=$(cpu_seconds "$SERVER_PID")
    CLIENT_TIMEOUT=2 run client --quiet --message second
    if [[ -n $cpu_before ]] && is_running "$SERVER_PID"; then
        used=$(awk -v a="$cpu_before" -v b="$(cpu_seconds "$SERVER_PID")" 'BEGIN { print b - a }')
    fi
    local expected="the second client echoed, and the server idle in accept() until it came"
    # Waiting in accept() costs nothing; a loop that no longer waits costs
    # whatever CPU it is given (even on a crowded machine, more than a tenth).
    if [[ -n $used ]] && awk -v used="$used" 'BEGIN { exit !(used > 0.1) }'; then
        claim_failed cpu-spin "$expected" \
            "the server used $used s of CPU while the second client waited: it is spinning"
    fi
    [[ $status -eq 0 && $output == second ]] && return 0
    claim_failed left-hanging "$expected" \
        "no echo for the second client within 2 s (status $status): the server never went back to accept()"
}

@test "every byte is echoed even when each send() takes only 3 of them" {
    local log=$BATS_TEST_TMPDIR/short-sends preloaded
    preloaded=$(short_send_bin "$log") || skip "could not build tests/check/short-send.c"
    BIN=$preloaded start_server
    local line="echoed whole, though sent three bytes at a time"
    CLIENT_TIMEOUT=3 run --separate-stderr client --quiet --message "$line"
    short_send_loaded "$log" ||
        skip "the short-send library did not load (a static build, or not Linux)"
    [[ $status -eq 0 && $output == "$line" ]] && return 0
    local came="status $status, output '$output'"
    [[ -z $stderr ]] || came+=", message '$stderr'"
    ((status == 124)) && came="only '$output' came back, then nothing: the client gave up after 3 s"
    short_sends_seen "$log" || claim_failed "" "'$line' echoed whole" "$came"
    claim_failed short-send "'$line' echoed whole" "$came"
}
