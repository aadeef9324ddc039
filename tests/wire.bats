#!/usr/bin/env bats
# run-bats: alone (its captures wait on segments with timing of their own; see issue 15's note)
# The wire tap (classroom/wiretap.c): what each lesson says happens on the wire,
# proven on the segments the tap captured, not on the calls' results.
#
# Each test runs chapter programs inside `bin/01-blocking wire -- bash -c
# SCRIPT` (the hand-run mode a learner uses): a private network whose every
# TCP segment the tap narrates on stderr, here into $WIRE_LOG, one line each:
#   [wire] 0.021 s  client -> server  FIN ACK  seq 25 ack 11 win 512 len 0
# The scripts get small helpers (exported below): serve, wait_for.
# Where this system allows no private network, every test skips, saying why.

CHAPTER=01-blocking
load test_helper

setup_file() {
    local why status=0
    why=$("$ROOT/bin/01-blocking" wire -- true 2>&1 >/dev/null) || status=$?
    if ((status == 4)); then
        skip "the wire tap can't run here: ${why##*: no private network here: }"
    fi
    ((status == 0)) || { echo "bin/01-blocking wire -- true exited $status: $why"; return 1; }
}

# serve LOG CMD...: (inside a script) starts the server CMD --port 0 in the
# background, output in LOG, and waits (10 s at most) for its ready line;
# its port is then in $port.
serve() {
    local log=$1 i
    shift
    "$@" --port 0 >"$log" 2>&1 </dev/null &
    for ((i = 0; i < 500; i++)); do
        if grep -q '^listening on ' "$log"; then
            port=$(sed -n 's/^listening on .*://p' "$log" | head -n 1)
            return 0
        fi
        sleep 0.02
    done
    echo "no ready line from $*" >&2
    return 1
}

# wait_for FILE REGEX: (inside a script) waits, 10 s at most, for a line of
# FILE to match REGEX (extended).
wait_for() {
    local i
    for ((i = 0; i < 500; i++)); do
        grep -Eq -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.02
    done
    echo "waited 10 s in vain for /$2/ in $1" >&2
    return 1
}

# in_wire SCRIPT: runs SCRIPT (bash, with serve and wait_for) in the tap's
# private network, from the top of the repository, under `run`: its stdout
# in $output, the tap's lines (and the script's stderr) in $WIRE_LOG.
# Whatever SCRIPT leaves running in the background is stopped when it ends.
in_wire() {
    export WIRE_LOG="$BATS_TEST_TMPDIR/wire.log" DIR="$BATS_TEST_TMPDIR"
    declare -f serve wait_for >"$DIR/helpers.bash"
    cd "$ROOT" || return 1
    run wire_script "set -e; source \"\$DIR/helpers.bash\"
        trap 'kill \$(jobs -p) 2>/dev/null || true; wait' EXIT
        $1"
    if ((status != 0)); then
        echo "the script exited $status; its output: $output"
        echo "--- the wire:"
        cat "$WIRE_LOG"
    fi
}

wire_script() {
    timeout -k 5 60 "$ROOT/bin/01-blocking" wire -- bash -c "$1" 2>"$WIRE_LOG"
}

# segments [REGEX]: the wire log's segment lines (only those matching REGEX),
# without the "[wire]" prefix and the time.
segments() {
    sed -n 's/^\[wire\] [0-9.]* s  //p' "$WIRE_LOG" | grep -E -- "${1:-.}"
}

# time_of REGEX: the time (seconds since the tap started) of the first
# segment line matching REGEX.
time_of() {
    grep -E -- "$1" "$WIRE_LOG" | head -n 1 | sed -n 's/^\[wire\] \([0-9.]*\) s  .*/\1/p'
}

# ---- the tap itself ------------------------------------------------------------

@test "wire: the command runs in a private network, and its exit status is the role's" {
    in_wire 'exit 3'
    [[ $status -eq 3 ]]
    run head -n 1 "$WIRE_LOG"
    [[ $output == "[wire] capturing every TCP segment on lo, in a private network"* ]]
    # Private: a server of this machine's own network is not there.
    in_wire 'cat /proc/net/tcp | wc -l'
    [[ $status -eq 0 && $output -eq 1 ]]   # the header line, no socket at all
}

@test "wire: nothing is left running when the command ends, nor when the role is stopped" {
    # The role's tree while its command runs: the tap, the command, and a
    # server the command left in the background.
    local tree="$BATS_TEST_TMPDIR/tree" how pids
    for how in "the command ends" "the role gets SIGTERM"; do
        "$ROOT/bin/01-blocking" wire -- bash -c '
            bin/01-blocking server --port 0 >"$0.server" 2>&1 </dev/null &
            until grep -q "^listening" "$0.server"; do sleep 0.02; done
            echo ready >"$0.ready"
            sleep "$1"' "$tree" "$([[ $how == *ends ]] && echo 0.3 || echo 30)" \
            >/dev/null 2>&1 3>&- &
        local role=$!
        wait_for_line "$tree.ready" ready
        pids=$(ps -o pid= --ppid "$role")
        pids="$pids $(for pid in $pids; do ps -o pid= --ppid "$pid"; done)"
        echo "$how: $role and $pids"
        [[ $(wc -w <<<"$pids") -eq 3 ]]   # the tap, the command, its server
        [[ $how == *ends ]] || kill -TERM "$role"
        local ended=0
        wait "$role" || ended=$?
        [[ $ended -eq $([[ $how == *ends ]] && echo 0 || echo 143) ]]
        for pid in $pids; do
            ! kill -0 "$pid" 2>/dev/null
        done
        rm -f "$tree".*
    done
}

@test "wire: where no private network can be made, it says why and exits 4" {
    # A user namespace whose quota of nested ones is used up, as an ordinary user.
    unshare -r true 2>/dev/null || skip "no user namespace to test in"
    run unshare -r sh -c 'echo 1 >/proc/sys/user/max_user_namespaces &&
        exec unshare --user --map-user=1000 --map-group=1000 "$0" wire -- true' \
        "$ROOT/bin/01-blocking"
    [[ $status -eq 4 ]]
    [[ ${#lines[@]} -eq 1 ]]
    [[ $output == "01-blocking: wire: no private network here: unshare(CLONE_NEWUSER | CLONE_NEWNET) -> -1 E"* ]]
    [[ $output == *"tcpdump -i lo"* ]]
    # A demo's --wire the same, before any scene has run.
    run unshare -r sh -c 'echo 1 >/proc/sys/user/max_user_namespaces &&
        exec unshare --user --map-user=1000 --map-group=1000 "$0" demo --wire' \
        "$ROOT/bin/01-blocking"
    [[ $status -eq 4 ]]
    [[ $output == *"01-blocking: --wire: no private network here: unshare("* ]]
    [[ $output != *"== "* ]]
}

@test "demo --wire: the segments among the calls, in time order, each end named by its role" {
    run --separate-stderr timeout 30 "$ROOT/bin/01-blocking" demo --wire
    [[ $status -eq 0 ]]
    echo "$stderr"
    # Client B's handshake: all three segments on the wire before the server
    # accepts it, which the console shows by ordering every line by its time.
    # (Each end is named by its role: the client reports its connection at
    # the narration after connect(), the server its listener before it forks
    # the clients, which hold it too for a moment; the tap waits for reports.)
    local syn ack accepted
    syn=$(grep -n '^\[wire\] client B -> server  SYN  seq 0 ' <<<"$stderr" | cut -d: -f1)
    ack=$(grep -n '^\[wire\] client B -> server  ACK  seq 1 ack 1 ' <<<"$stderr" | cut -d: -f1)
    grep -q '^\[wire\] server -> client B  SYN ACK  seq 0 ack 1 ' <<<"$stderr"
    accepted=$(grep -n '^\[server\] accept(fd [0-9]*) -> fd ' <<<"$stderr" | sed -n 2p | cut -d: -f1)
    [[ -n $syn && -n $ack && -n $accepted ]]
    ((syn < ack && ack < accepted))
    # Each connect is narrated once its handshake is on the wire.
    ((ack < $(grep -n '^\[client B\] connect(.*) -> 0' <<<"$stderr" | cut -d: -f1)))
    # No end named by a port: every process reported its connections.
    ! grep -E '^\[wire\] .*port [0-9]' <<<"$stderr"
    ! grep -q missed <<<"$stderr"
}

@test "wire: the tap misses no segment and invents none (the kernel's TCP_INFO counts agree)" {
    local program="$BATS_TEST_TMPDIR/segcount"
    # A test tool, not a course program: the system's compiler, whatever CC the course uses.
    cc -std=c11 -O1 -o "$program" "$ROOT/tests/wire/segcount.c"
    in_wire "$program"
    [[ $status -eq 0 ]]
    # The kernel's count for the client's socket, then the tap's: one line per
    # packet, and "(N segments of M)" for a packet standing for several (GSO).
    local kernel=${lines[0]} window=${lines[1]} tap
    tap=$(awk '
        function count(line, parts, i) {
            if (line ~ /segments of/ && split(line, parts, "(") > 1)
                for (i in parts) if (parts[i] ~ /^[0-9]+ segments of/) return parts[i] + 0
            return 1
        }
        /s  client -> server  / { out += count($0); if (/\(retransmission\)/) again += count($0) }
        /s  server -> client  / { in_ += count($0) }
        END { printf "segs_out %d segs_in %d total_retrans %d\n", out, in_, again }' "$WIRE_LOG")
    echo "kernel: $kernel"
    echo "tap:    $tap"
    [[ $tap == "$kernel" ]]
    [[ $kernel =~ total_retrans\ [1-9] ]]   # the load did retransmit
    ! grep -q 'missed' "$WIRE_LOG"
    # The window as the client's kernel scaled it is the one the tap shows.
    local last
    last=$(segments '^server -> client  ' | tail -n 1)
    echo "$window; the tap: $last"
    [[ $last == *" win ${window##* } len "* ]]
}

@test "wire: IPv6 segments are decoded and named like IPv4's" {
    ipv6_loopback_or_skip
    in_wire 'serve "$DIR/server.log" bin/01-blocking server --bind ::1
        bin/01-blocking client --host ::1 --port "$port" --message six'
    [[ $status -eq 0 && $output == six ]]
    cat "$WIRE_LOG"
    segments 'client -> server  SYN  seq 0 win [0-9]+ len 0  mss 65476'
    segments 'server -> client  PSH ACK  seq 1 ack 5 win [0-9]+ len 4$'
}

# ---- chapter 1: the handshake does not wait for accept() ----------------------------

@test "ch1 wire: a second client's handshake completes (and its line is ACKed) while the server is busy" {
    in_wire 'serve "$DIR/server.log" bin/01-blocking server
        mkfifo "$DIR/a.in"
        bin/01-blocking client --host 127.0.0.1 --port "$port" <"$DIR/a.in" >"$DIR/a.out" 2>&1 &
        exec 4>"$DIR/a.in"
        echo "from A" >&4
        wait_for "$DIR/a.out" "^from A$"
        bin/01-blocking client --host 127.0.0.1 --port "$port" --message "from B" \
            >"$DIR/b.out" 2>&1 4>&- &
        wait_for "$WIRE_LOG" "server -> client B  ACK  seq 1 ack 8 "
        grep -c "accept(fd [0-9]*) -> fd" "$DIR/server.log" >"$DIR/accepted-while-busy"
        exec 4>&-
        wait_for "$DIR/b.out" "^from B$"'
    [[ $status -eq 0 ]]
    # All three segments of B's handshake, and B's line, were on the wire and
    # acknowledged by the server's kernel while the program had accepted only A.
    [[ $(cat "$BATS_TEST_TMPDIR/accepted-while-busy") -eq 1 ]]
    segments 'client B -> server  SYN  seq 0 '
    segments 'server -> client B  SYN ACK  seq 0 ack 1 '
    segments 'client B -> server  ACK  seq 1 ack 1 '
    segments 'client B -> server  PSH ACK  seq 1 ack 1 .* len 7$'
    # Then A left and the server accepted B, and answered it.
    [[ $(grep -c 'accept(fd [0-9]*) -> fd' "$BATS_TEST_TMPDIR/server.log") -eq 2 ]]
    segments 'server -> client B  PSH ACK  seq 1 ack 8 .* len 7$'
}

# ---- chapter 2: segments are not messages; Nagle ----------------------------------

@test "ch2 wire: one send() of 200000 bytes leaves as several segments" {
    in_wire 'serve "$DIR/server.log" bin/02-fixed-length server --msglen 200000
        bin/02-fixed-length client --host 127.0.0.1 --port "$port" --msglen 200000 \
            --message big 2>"$DIR/client.log" >/dev/null'
    [[ $status -eq 0 ]]
    # One call...
    [[ $(grep -c 'send(fd' "$BATS_TEST_TMPDIR/client.log") -eq 1 ]]
    grep -q 'send(fd [0-9]*, 200000 bytes) -> 200000' "$BATS_TEST_TMPDIR/client.log"
    # ...and on the wire: several data segments, their lengths adding up, each
    # at most the loopback's MSS (65483 bytes with timestamps).
    run segments '^client -> server .* len [1-9]'
    echo "$output"
    [[ ${#lines[@]} -ge 2 ]]
    # A segment the kernel sent again (on a busy machine) carries bytes already
    # counted: the tap marks it, and it does not add to the total.
    local total=0 length
    for line in "${lines[@]}"; do
        [[ $line == *"(retransmission)"* ]] && continue
        length=${line##* len }
        total=$((total + ${length%% *}))
    done
    [[ $total -eq 200000 ]]
}

@test "ch2 wire: Nagle holds the small pieces until the ACK, then sends them as one; --nodelay does not" {
    # Segments are told apart by what they carry, not by the names of their
    # ends (a hand run's client can be gone before the tap has named it):
    # only the client sends 256-byte pieces, and at seq 4097 the client's
    # pieces are 256 bytes, the server's echo 4096.
    in_wire 'serve "$DIR/server.log" bin/02-fixed-length server --msglen 4096
        seq 2 | bin/02-fixed-length client --host 127.0.0.1 --port "$port" --msglen 4096 \
            --chunk 256 --quiet >/dev/null'
    [[ $status -eq 0 ]]
    # The second message (the first one is ACKed at once: a new connection's
    # quick ACKs). Its first 256-byte piece leaves; the other 15 wait for
    # that piece's ACK, which the server's kernel delays (40 ms on Linux)
    # hoping to send it with a reply; then they leave together, 15 sends in
    # one segment.
    local piece ack rest
    piece=$(grep -nE '  PSH ACK  seq 4097 ack [0-9]+ win [0-9]+ len 256$' "$WIRE_LOG")
    ack=$(grep -nE '  ACK  seq 4097 ack 4353 win [0-9]+ len 0$' "$WIRE_LOG")
    rest=$(grep -nE '  PSH ACK  seq 4353 ack [0-9]+ win [0-9]+ len 3840$' "$WIRE_LOG")
    echo "$piece"$'\n'"$ack"$'\n'"$rest"
    [[ -n $piece && -n $ack && -n $rest ]]
    ((${ack%%:*} < ${rest%%:*}))
    awk -v sent="$(sed 's/^[0-9]*:\[wire\] //' <<<"$piece")" \
        -v acked="$(sed 's/^[0-9]*:\[wire\] //' <<<"$ack")" \
        'BEGIN { exit !(acked - sent >= 0.030) }'
    # --nodelay, in a capture of its own: the pieces leave as segments of
    # their own, mostly (Linux may still put two in one segment when the one
    # before has not yet left the machine: "autocorking"), and no piece
    # waits for an ACK: the one carrying the second message's byte 257
    # (seq 4353) leaves before the server's kernel acknowledges any of it.
    in_wire 'serve "$DIR/server.log" bin/02-fixed-length server --msglen 4096
        seq 2 | bin/02-fixed-length client --host 127.0.0.1 --port "$port" --msglen 4096 \
            --chunk 256 --nodelay --quiet >/dev/null'
    [[ $status -eq 0 ]]
    local pieces second first_ack
    pieces=$(grep -cE '  PSH ACK  seq [0-9]+ ack [0-9]+ win [0-9]+ len 256$' "$WIRE_LOG")
    # The client's segments of the second message: seq from 4097 on, ack
    # 4097 (the server's echo of it has seq 4097 and ack 8193).
    second=$(awk '/  PSH ACK  seq [0-9]+ ack 4097 win / {
            for (i = 1; i < NF; i++) { if ($i == "seq") seq = $(i + 1); if ($i == "len") len = $(i + 1) }
            if (seq <= 4353 && 4353 < seq + len) { print NR; exit } }' "$WIRE_LOG")
    # The server's first ACK of the second message: its seq is 4097 (it has
    # echoed the first), and it acknowledges more than the first message.
    first_ack=$(awk '/  ACK  seq 4097 ack [0-9]+ win [0-9]+ len 0$/ {
            for (i = 1; i < NF; i++) if ($i == "ack" && $(i + 1) + 0 > 4097) { print NR; exit } }' \
        "$WIRE_LOG")
    echo "$pieces of 32 pieces alone in a segment; byte 4353 at line $second, the server's first ACK at line $first_ack"
    # (With Nagle, 17 of them are: the first message's, ACKed at once.)
    ((pieces >= 24)) || { cat "$WIRE_LOG"; false; }
    [[ -n $second && -n $first_ack ]]
    ((second < first_ack))
}

# ---- chapter 3: the request's bytes ------------------------------------------------

@test "ch3 wire: the sum request's bytes are in the segment, big-endian, and the reply's too" {
    in_wire 'serve "$DIR/server.log" bin/03-byte-order server
        bin/03-byte-order client --host 127.0.0.1 --port "$port" 1 2 3 2>/dev/null
        serve "$DIR/text.log" bin/03-byte-order server --text
        bin/03-byte-order client --text --host 127.0.0.1 --port "$port" 1 2 3 2>/dev/null'
    [[ $status -eq 0 && $output == $'6\n6' ]]
    # count 3 (4 bytes), then 1, 2, 3 (8 bytes each), most significant byte first
    grep -A2 -E 'client -> server  PSH ACK  seq 1 ack 1 .* len 28$' "$WIRE_LOG" >"$BATS_TEST_TMPDIR/request"
    cat "$BATS_TEST_TMPDIR/request"
    grep -q '^\[wire\]  *00 00 00 03 00 00 00 00 00 00 00 01 00 00 00 00$' "$BATS_TEST_TMPDIR/request"
    grep -q '^\[wire\]  *00 00 00 02 00 00 00 00 00 00 00 03$' "$BATS_TEST_TMPDIR/request"
    # the reply: status 0, then the sum, 6
    grep -A1 -E 'server -> client  PSH ACK  seq 1 ack 29 .* len 9$' "$WIRE_LOG" |
        grep -q '^\[wire\]  *00 00 00 00 00 00 00 00 06$'
    # as text: the same numbers as decimal lines, and an empty line to end them
    grep -q '^\[wire\]  *"1\\n2\\n3\\n\\n"$' "$WIRE_LOG"
    grep -q '^\[wire\]  *"6\\n"$' "$WIRE_LOG"
}

# ---- chapter 4: FIN, RST, and the FIN on the last data -------------------------------

@test "ch4 wire: after shutdown(SHUT_WR) the client's FIN is on the wire, and data still flows back" {
    # Markers that don't match: the server replies only once it has read the
    # client's EOF, so the reply must come after the FIN.
    in_wire 'serve "$DIR/server.log" bin/04-shutdown server
        bin/04-shutdown client --host 127.0.0.1 --port "$port" --marker "CLIENT WRONG MARKER" \
            hello 2>"$DIR/client.log"'
    [[ $status -eq 0 && $output == "ERROR:no end!" ]]
    grep -q 'shutdown(fd [0-9]*, SHUT_WR) -> 0' "$BATS_TEST_TMPDIR/client.log"
    run segments
    echo "$output"
    local fin reply acked
    fin=$(segments | grep -nE '^client -> server  FIN ' | cut -d: -f1)
    reply=$(segments | grep -nE '^server -> client  PSH ACK  seq 1 ack 26 .* len 13$' | cut -d: -f1)
    acked=$(segments | grep -nE '^client -> server  ACK  seq 26 ack 14 ' | cut -d: -f1)
    [[ -n $fin && -n $reply && -n $acked ]]
    ((fin < reply && reply < acked))   # FIN, then the 13 bytes back, which the client ACKs
    segments '^server -> client  FIN ACK  seq 14 ack 26 '
}

@test "ch4 wire: with a long payload the FIN rides on the marker, in one segment ([FP.])" {
    # Nagle holds the 19-byte marker while the payload's last segment is
    # unacknowledged; shutdown() then sets FIN on the segment still waiting.
    # Whether the ACK came first is a race: up to 5 tries (about 1 in 6 is
    # separate here).
    local try
    for try in 1 2 3 4 5; do
        in_wire 'serve "$DIR/server.log" bin/04-shutdown server
            head -c 100000 /dev/zero | tr "\0" a |
                bin/04-shutdown client --host 127.0.0.1 --port "$port" --quiet >/dev/null'
        [[ $status -eq 0 ]]
        segments '^client -> server  FIN PSH ACK  seq 100001 ack 1 .* len 19' && break
    done
    echo "FIN on the marker after $try tries"
    ((try <= 5))
    segments '^client -> server  FIN PSH ACK  seq 100001 ack 1 .* len 19'
}

@test "ch4 wire: a process closing a socket with unread bytes sends RST, not FIN" {
    # Chapter 5's server: deaf never reads the request, silent reads it; both
    # are killed, and their kernel closes the socket: the unread request
    # makes it a reset.
    local behave
    for behave in deaf silent; do
        in_wire "serve \"\$DIR/server.log\" bin/05-dead-peers server --behave $behave
            bin/05-dead-peers client --host 127.0.0.1 --port \"\$port\" --timeout 5 >/dev/null 2>&1 &
            client=\$!
            wait_for \"\$WIRE_LOG\" 's  server -> client  ACK  seq 1 ack [0-9]+ '
            kill %1
            wait_for \"\$WIRE_LOG\" 's  server -> client  (RST|FIN) '
            wait \$client || true"
        [[ $status -eq 0 ]]
        cp "$WIRE_LOG" "$BATS_TEST_TMPDIR/$behave.wire"
    done
    cat "$BATS_TEST_TMPDIR/deaf.wire"
    grep -E 's  server -> client  RST ACK  seq 1 ack [0-9]+ ' "$BATS_TEST_TMPDIR/deaf.wire"
    ! grep -E 's  server -> client  FIN' "$BATS_TEST_TMPDIR/deaf.wire"
    grep -E 's  server -> client  FIN ACK  seq 1 ack [0-9]+ ' "$BATS_TEST_TMPDIR/silent.wire"
    ! grep -E 'RST' "$BATS_TEST_TMPDIR/silent.wire"
}

# ---- chapter 5: keepalive, user timeout, a vanished peer -----------------------------

@test "ch5 wire: keepalive probes at IDLE, then every INTVL, CNT of them, then the reset; user timeout: retransmissions, backing off" {
    # The server's host vanishes: a route that drops everything it sends
    # (policy routing, in the private network), while what the clients send
    # still reaches the wire, unanswered. (Taking lo down would show nothing
    # at all: a packet for a device that is down never leaves.)
    in_wire 'serve "$DIR/server.log" bin/05-dead-peers server --bind 127.0.0.2 --behave silent
        bin/05-dead-peers client --host 127.0.0.2 --port "$port" --keepalive 1,1,2 \
            >"$DIR/keepalive.log" 2>&1 &
        keepalive=$!
        wait_for "$WIRE_LOG" "server -> client  ACK  seq 1 ack [0-9]+ "
        bin/05-dead-peers client --host 127.0.0.2 --port "$port" --heartbeat 1 --user-timeout 1500 \
            >"$DIR/user-timeout.log" 2>&1 &
        user_timeout=$!
        wait_for "$WIRE_LOG" "server -> client B  ACK  seq 1 ack [0-9]+ "
        ip rule add pref 100 table local && ip rule del pref 0
        ip rule add pref 10 from 127.0.0.2 blackhole
        wait $keepalive || echo "keepalive client: $?"
        wait $user_timeout || echo "user-timeout client: $?"'
    echo "$output"
    [[ $status -eq 0 ]]
    [[ $output == *"keepalive client: 3"*"user-timeout client: 3"* ]]
    run segments
    echo "$output"
    # keepalive 1,1,2: the server's last word (its ACK), probes 1 s later and
    # 1 s after that (an empty segment one byte below what was acknowledged),
    # then 1 s later the reset; each interval within 0.3 s.
    local last p1 p2 reset
    last=$(time_of 'server -> client  ACK  seq 1 ack [0-9]+ ')
    p1=$(time_of 'client -> server  ACK  seq [0-9]+ ack 1 .* len 0  \(keepalive probe\)')
    p2=$(grep -E 'client -> server  ACK  seq [0-9]+ ack 1 .*\(keepalive probe\)' "$WIRE_LOG" | sed -n '2s/^\[wire\] \([0-9.]*\).*/\1/p')
    reset=$(time_of 'client -> server  RST ')
    echo "last word $last, probes $p1 $p2, reset $reset"
    [[ $(grep -cE 'client -> server  .*\(keepalive probe\)' "$WIRE_LOG") -eq 2 ]]
    awk -v a="$last" -v b="$p1" -v c="$p2" -v d="$reset" 'BEGIN {
        ok = b - a >= 0.7 && b - a <= 1.3 && c - b >= 0.7 && c - b <= 1.3 && d - c >= 0.7 && d - c <= 1.3
        exit !ok }'
    # user timeout, a vanished peer: the PING, then only its retransmissions,
    # each wait longer than the one before (RTO backoff), the last one at least
    # three times the first; no FIN, no RST; and not a word from the server.
    local ping
    ping=$(segments '^client B -> server  PSH ACK  seq [0-9]+ ack 1 ' | sed -n '2s/.*  seq \([0-9]*\) .*/\1/p')
    run grep -E "client B -> server  PSH ACK  seq $ping ack 1 .* len [0-9]+" "$WIRE_LOG"
    local times=($(sed 's/^\[wire\] \([0-9.]*\).*/\1/' <<<"$output"))
    echo "PING and retransmissions at: ${times[*]}"
    [[ ${#times[@]} -ge 4 ]]
    [[ $(grep -cE "client B -> server  PSH ACK  seq $ping .*\(retransmission\)" "$WIRE_LOG") -eq $((${#times[@]} - 1)) ]]
    awk -v list="${times[*]}" 'BEGIN {
        n = split(list, t, " "); first = t[2] - t[1]
        for (i = 3; i <= n; i++) if (t[i] - t[i-1] < (t[i-1] - t[i-2]) - 0.05) exit 1
        exit !(t[n] - t[n-1] >= 3 * first) }'
    ! segments '^client B -> server  (FIN|RST)'
    local after=${times[0]}
    ! awk -v t="$after" '/s  server -> / { if ($2 + 0 > t) found = 1 } END { exit !found }' "$WIRE_LOG"
}

# ---- chapter 6: the zero window ------------------------------------------------------

@test "ch6 wire: the client that never reads advertises a zero window, and the server's kernel probes it" {
    in_wire 'serve "$DIR/server.log" bin/06-select server
        bin/06-select client --host 127.0.0.1 --port "$port" --bytes 64M --blocking --stall 1 \
            >/dev/null 2>"$DIR/client.log" || echo "client: $?"'
    [[ $status -eq 0 && $output == "client: 3" ]]
    ! grep -q 'missed' "$WIRE_LOG"
    # The client's receive buffer fills (it never reads): it says win 0...
    local zero probe1 probe2 probe3
    zero=$(grep -nE 's  client -> server  ACK  .* win 0 len 0$' "$WIRE_LOG" | head -n 1 | cut -d: -f1)
    [[ -n $zero ]]
    # ...and the server's kernel, with echo data waiting, sends window probes
    # (an empty segment one byte below what was acknowledged), ever further apart.
    run grep -nE 's  server -> client  ACK  .* len 0  \(window probe\)$' "$WIRE_LOG"
    echo "$output"
    [[ ${#lines[@]} -ge 2 ]]
    ((${lines[0]%%:*} > zero))
    local times=($(sed 's/^[0-9]*:\[wire\] \([0-9.]*\).*/\1/' <<<"$output"))
    awk -v a="${times[0]}" -v b="${times[1]}" -v z="$(time_of 's  client -> server  ACK  .* win 0 len 0$')" \
        'BEGIN { exit !(b - a > a - z - 0.05) }'
    # The server's buffer fills too once its output backs up: both sides at win 0.
    grep -qE 's  server -> client  ACK  .* win 0 len 0' "$WIRE_LOG"
}

# ladder_sequence SVG: what a ladder picture claims, in a form two runs of
# one program share: its calls in order for each role, with a role's run of
# recv()s as one (how a stream is cut into reads is the kernel's timing), its
# count as # (small, or already # in the picture from 4 digits up; the total
# so far, where it says one, still counts),
# then its segments as flags and length, sorted (which of two processes
# holding one socket an end is named after, and which FIN comes first, are
# timing too), pure ACKs left out (a delayed ACK may ride on data instead).
ladder_sequence() {
    local events
    events=$(mktemp "$BATS_TEST_TMPDIR/sequence.XXXXXX")
    # An errno's text is its libc's (musl and glibc word some differently).
    sed -n '/^<!-- socklab ladder/,/^-->/p' "$1" | sed '1d;$d' |
        sed -E 's/(-> -1 E[A-Z0-9]+) \([^)]*\)/\1/' >"$events"
    grep -v '^wire: .* -> ' "$events" | sort -s -t: -k1,1 |
        awk -v recv=': recv\\(fd [0-9]+(, up to ([0-9]+|#))?\\) -> ([0-9]+|#) byte' '
            { role = $0; sub(/:.*/, "", role); is_recv = $0 ~ recv }
            is_recv { sub(/\) -> ([0-9]+|#) byte/, ") -> # byte") }
            NR > 1 && !(prev_recv && is_recv && role == prev_role) { print prev }
            { prev = $0; prev_role = role; prev_recv = is_recv }
            END { if (NR) print prev }'
    grep '^wire: .* -> ' "$events" | awk -F'  ' '{
            line = "wire:"
            for (i = 2; i <= NF; i++) line = line "  " $i
            if (line != "wire:  ACK  len 0") print line }' | sort
}

@test "each lesson's ladder picture matches a fresh run of the command that drew it" {
    local svg command chapter pictures=0
    for svg in "$ROOT"/chapters/*/ladder.svg; do
        chapter=$(basename "$(dirname "$svg")")
        command=$(sed -n 's/^<desc>drawn by: make ladders (\(.*\))<\/desc>$/\1/p' "$svg")
        [[ $command == "bin/$chapter demo "* ]] || { echo "$svg: no 'drawn by' line"; false; }
        grep -q '](ladder.svg)' "$ROOT/chapters/$chapter/README.md" ||
            { echo "chapters/$chapter/README.md does not show its ladder.svg"; false; }
        # Only stdin, stdout and stderr open, as under make: the descriptor
        # numbers in the picture are a fresh terminal's.
        # shellcheck disable=SC2086  # the command's words, as make ladders ran it
        (cd "$ROOT" && exec_with_std_fds_only timeout 60 $command \
            --ladder="$BATS_TEST_TMPDIR/fresh.svg" >/dev/null 2>&1 </dev/null)
        diff <(ladder_sequence "$svg") <(ladder_sequence "$BATS_TEST_TMPDIR/fresh.svg") ||
            { echo "chapters/$chapter/ladder.svg no longer matches its program: make ladders"; false; }
        pictures=$((pictures + 1))
    done
    ((pictures >= 7))
    # The comparison tells programs apart: chapter 1's picture is not chapter 2's.
    ! diff -q <(ladder_sequence "$ROOT/chapters/01-blocking/ladder.svg") \
        <(ladder_sequence "$ROOT/chapters/02-fixed-length/ladder.svg")
}
