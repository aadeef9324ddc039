#!/usr/bin/env bats
# The classroom controls every demo takes (classroom/): --step, --pace,
# --columns, --ladder, colour and --width, as a teacher projecting a demo
# would use them. Terminals are real: build/tools/pty runs a demo on a
# pseudo-terminal of its own, and a FIFO types its keys.
#
# Chapter 1's demo is the subject wherever one demo will do: three scenes,
# each begun where every other process waits.

CHAPTER=01-blocking
load test_helper

PTY="$ROOT/build/tools/pty"
LADDER="$ROOT/build/tools/ladder"
COLOR=$'\e\\[[0-9;]*m'

setup() {
    [[ -x $PTY && -x $LADDER ]] || {
        echo "build/tools/ missing: run 'make tools' (make test does)" >&2
        return 1
    }
}

# screen FILE: FILE as a terminal shows it: each line what is left after its
# last carriage return (the prompt, once erased, is gone).
screen() {
    sed -e 's/\r$//' -e 's/.*\r//' "$1"
}

# count_in FILE REGEX: how many lines of FILE, as shown, match.
count_in() {
    screen "$1" | grep -Ec -- "$2" || true
}

# prompts FILE: how many times the step prompt was written to the terminal.
prompts() {
    grep -o 'Enter: next [a-z]*' "$1" | wc -l
}

# wait_for_prompts FILE N: waits (bounded) until the prompt was shown N times.
wait_for_prompts() {
    local i
    for ((i = 0; i < 500; i++)); do
        (($(prompts "$1") >= $2)) && return 0
        nap 0.02
    done
    echo "waited in vain for prompt number $2 in:" >&2
    cat -v "$1" >&2
    return 1
}

# keys_fifo: a FIFO the pty's keys come from, held open (KEYS) so that
# the pty never sees the end of its input while the test runs.
keys_fifo() {
    mkfifo "$BATS_TEST_TMPDIR/keys"
    exec {KEYS}<>"$BATS_TEST_TMPDIR/keys"
}

# sockets_on STATE FIELD PORT: how many sockets /proc/net/tcp lists in
# STATE (01 connected, 0A listening) with PORT in FIELD (2 local, 3 peer).
# /proc/net/tcp is not a snapshot: read in pieces while other tests open and
# close sockets, it can skip or repeat a line (with chapter 7's 10,000
# connections churning, one reading here counted 4 of 2). So it is read
# until two readings agree.
sockets_on() {
    local hex count previous=-1 tries
    printf -v hex '%04X' "$3"
    for ((tries = 0; tries < 20; tries++)); do
        count=$(awk -v state="$1" -v field="$2" -v port=":$hex" '
            $4 == state && substr($field, length($field) - 4) == port { n++ }
            END { print n + 0 }' /proc/net/tcp)
        [[ $count == "$previous" ]] && break
        previous=$count
    done
    echo "$count"
}

# listening PORT: true while a socket listens on 127.0.0.1:PORT.
listening() {
    (($(sockets_on 0A 2 "$1") > 0))
}

# connections_to PORT: how many connected sockets have PORT as their peer
# (clients of a server on PORT).
connections_to() {
    sockets_on 01 3 "$1"
}

# narration FILE: the narration lines of FILE as "role<TAB>text".
narration() {
    sed -n 's/^\[\([^]]*\)\] \(.*\)$/\1\t\2/p' "$1"
}

# columns_narration FILE: the --columns rows of FILE back into "role<TAB>text",
# one per event: each row has one non-empty lane (continuation rows indented
# by two more), header rows name the lanes, remarks span the width.
columns_narration() {
    awk -F'|' '
        function flush() { if (current != "") print current; current = "" }
        function trim(s) { sub(/ +$/, "", s); return s }
        /^\[/ { flush(); role = $0; sub(/\].*/, "", role); sub(/^\[/, "", role)
                text = $0; sub(/^\[[^]]*\] /, "", text); print role "\t" text; next }
        !/^\|/ { flush(); next }
        {
            header = 1
            for (i = 2; i <= NF; i++) { f = trim($i); if (f != "" && f !~ /^ \[.*\]\+?$/) header = 0 }
            if (header) {
                flush()
                for (i = 2; i <= NF; i++) { f = trim($i); sub(/^ \[/, "", f); sub(/\]\+?$/, "", f); lane[i] = f }
                next
            }
            for (i = 2; i <= NF; i++) {
                f = trim($i)
                if (f == "") continue
                if (f ~ /^   /) { sub(/^ +/, "", f); current = current " " f }
                else { flush(); current = lane[i] "\t" substr(f, 2) }
            }
        }
        END { flush() }' "$1"
}

@test "--step without a terminal says it cannot step, exits 2, and runs nothing" {
    run setsid -w "$BIN" demo --step </dev/null
    [[ $status -eq 2 ]]
    [[ ${#lines[@]} -eq 1 && $output == "01-blocking: --step: no terminal"* ]]
}

@test "--step shows the first scene and waits; each Enter lets exactly one more scene run" {
    keys_fifo
    local out="$BATS_TEST_TMPDIR/out"
    # The output goes to a file: the keys (and the prompt) are the terminal's.
    start_background screen "$PTY" sh -c 'exec "$0" demo --step >"$1" 2>&1' "$BIN" "$out" \
        <"$BATS_TEST_TMPDIR/keys"
    local tty="$BATS_TEST_TMPDIR/screen.log" heading='^== '
    wait_for_prompts "$tty" 1
    [[ $(count_in "$out" "$heading") -eq 1 ]]
    grep -q '^\[client A\] waiting until B has connected' "$out"
    # Waiting, not slow: the demo itself stands at the next scene (client B
    # has not connected: one client on the port), however long we look.
    local port
    port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$out")
    sleep 0.5
    [[ $(count_in "$out" "$heading") -eq 1 ]]
    ! grep -q '^\[client B\]' "$out"
    [[ $(prompts "$tty") -eq 1 && $(connections_to "$port") -eq 1 ]]

    printf '\n' >&"$KEYS"
    wait_for_prompts "$tty" 2
    [[ $(count_in "$out" "$heading") -eq 2 ]]
    grep -q '^\[client B\] connected, though the server has not accepted me' "$out"
    [[ $(connections_to "$port") -eq 2 ]]
    ! grep -q 'bye from A' "$out"
    sleep 0.3
    ! grep -q '^\[client A\] send(fd 3, 11 bytes)' "$out"

    printf '\n' >&"$KEYS"
    wait "$SCREEN_PID"
    [[ $(count_in "$out" "$heading") -eq 3 ]]
    grep -q '^\[client B\] close' "$out"
    ! grep -q 'Enter' "$out"    # the prompt is on the terminal, not in the output
}

@test "--step=call stops after every narrated call" {
    keys_fifo
    NO_COLOR=1 start_background screen "$PTY" "$BIN" demo --step=call <"$BATS_TEST_TMPDIR/keys"
    local tty="$BATS_TEST_TMPDIR/screen.log"
    wait_for_prompts "$tty" 1
    grep -q 'Enter: next call' "$tty"
    sleep 0.3
    [[ $(count_in "$tty" '^\[') -eq 1 && $(prompts "$tty") -eq 1 ]]
    # Two Enters typed at once: two more calls, then it waits again. (The
    # console may read them as one key press or as two, and so prompt once
    # in between or not: what counts is the calls shown, and the wait.)
    printf '\n\n' >&"$KEYS"
    local i
    for ((i = 0; i < 500 && $(count_in "$tty" '^\[') < 3; i++)); do nap 0.02; done
    sleep 0.3
    [[ $(count_in "$tty" '^\[') -eq 3 ]]
    [[ $(tail -c 40 "$tty") == *'q: quit --' ]]
    printf 'q' >&"$KEYS"
    wait "$SCREEN_PID"
}

# group_members PGID: "pid state" for each process in process group PGID.
group_members() {
    process_table | awk -v group="$1" '$4 == group { print $1, $2 }'
}

# A demo's processes end with it, however it ends: a teacher's kill, a
# test's timeout. Chapter 5's freeze scene is the hard case: a child it
# stopped with SIGSTOP acts on no signal but SIGKILL. setsid: the demo and
# its children are one process group to look at.
@test "a demo ended by SIGTERM midway leaves none of its processes running" {
    local pid i
    setsid "$ROOT/bin/05-dead-peers" demo freeze </dev/null >/dev/null 2>&1 3>&- &
    pid=$!
    STARTED_PIDS+=("$pid")
    # Until it is midway: a child of the demo is stopped.
    for ((i = 0; i < 500; i++)); do
        group_members "$pid" | grep -q ' T$' && break
        nap 0.02
    done
    group_members "$pid" | grep -q ' T$'
    kill -TERM "$pid"
    wait "$pid" || true
    for ((i = 0; i < 250; i++)); do
        [[ -z $(group_members "$pid") ]] && break
        nap 0.02
    done
    echo "left in its group: $(group_members "$pid" | tr '\n' ' ')"
    [[ -z $(group_members "$pid") ]]
}

@test "q ends a stepped demo: every process of it reaped, nothing left listening" {
    keys_fifo
    start_background screen "$PTY" "$BIN" demo --step <"$BATS_TEST_TMPDIR/keys"
    local tty="$BATS_TEST_TMPDIR/screen.log" port pids
    wait_for_prompts "$tty" 1
    port=$(screen "$tty" | sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p')
    # While it waits: the console, the server and both clients, and the port.
    pids=$(descendants "$SCREEN_PID")
    (($(wc -w <<<"$pids") >= 4))
    listening "$port"

    printf 'q' >&"$KEYS"
    local status=0
    wait "$SCREEN_PID" || status=$?
    [[ $status -eq 0 ]]
    local pid
    for pid in $pids; do
        [[ ! -e /proc/$pid ]] || { echo "process $pid is still there: $(cat /proc/$pid/stat)"; false; }
    done
    ! listening "$port"
}

@test "colour on a terminal, or with --color=always; never with NO_COLOR or into a pipe" {
    local options
    for options in "" "--columns" "--pace 1"; do
        # shellcheck disable=SC2086  # the options are words
        {
            run "$PTY" "$BIN" demo $options
            [[ $status -eq 0 && $output =~ $COLOR ]]
            run env NO_COLOR=1 "$PTY" "$BIN" demo $options
            [[ $status -eq 0 && ! $output =~ $COLOR && $output == *'[server] listen('* ]] ||
                [[ $status -eq 0 && ! $output =~ $COLOR && $options == --columns ]]
            run "$BIN" demo $options
            [[ $status -eq 0 && ! $output =~ $COLOR ]]
            run "$BIN" demo $options --color=always
            [[ $status -eq 0 && $output =~ $COLOR ]]
            run "$PTY" "$BIN" demo $options --color=never
            [[ $status -eq 0 && ! $output =~ $COLOR ]]
        }
    done
}

@test "--width 80: no line of any demo is wider, plain or in --columns" {
    local dir chapter pids=() over=()
    for dir in "$ROOT"/chapters/[0-9][0-9]-*/; do
        chapter=$(basename "$dir")
        timeout 60 "$ROOT/bin/$chapter" demo --width 80 >"$BATS_TEST_TMPDIR/$chapter.plain" 2>&1 &
        pids+=($!)
        timeout 60 "$ROOT/bin/$chapter" demo --width 80 --columns \
            >"$BATS_TEST_TMPDIR/$chapter.columns" 2>&1 &
        pids+=($!)
    done
    wait "${pids[@]}" || true
    local file
    for file in "$BATS_TEST_TMPDIR"/*.plain "$BATS_TEST_TMPDIR"/*.columns; do
        [[ -s $file ]] || over+=("${file##*/}: no output")
        while IFS= read -r line; do
            over+=("${file##*/}: ${#line} columns: $line")
        done < <(awk 'length($0) > 80' "$file")
    done
    if ((${#over[@]})); then
        printf '%s\n' "${over[@]}"
        return 1
    fi
}

@test "--columns keeps every narration line of the plain run, in the same order for each role" {
    "$BIN" demo 2>"$BATS_TEST_TMPDIR/plain" >/dev/null
    "$BIN" demo --columns --width 200 2>"$BATS_TEST_TMPDIR/columns" >/dev/null
    # A lane each: client A on the left, client B, the server on the right.
    grep -Eq '^\| \[client A\] +\| \[client B\] +\| \[server\]$' "$BATS_TEST_TMPDIR/columns"
    narration "$BATS_TEST_TMPDIR/plain" | sed 's/:[0-9]\{4,5\}/:PORT/g' |
        sort -s -t$'\t' -k1,1 >"$BATS_TEST_TMPDIR/plain.roles"
    columns_narration "$BATS_TEST_TMPDIR/columns" | sed 's/:[0-9]\{4,5\}/:PORT/g' |
        sort -s -t$'\t' -k1,1 >"$BATS_TEST_TMPDIR/columns.roles"
    [[ $(wc -l <"$BATS_TEST_TMPDIR/plain.roles") -ge 30 ]]
    diff "$BATS_TEST_TMPDIR/plain.roles" "$BATS_TEST_TMPDIR/columns.roles"
}

@test "--columns with more roles than the width holds says why, and shares a lane" {
    local records="$BATS_TEST_TMPDIR/roles"
    printf '\036S 1 demo\tmany servers\n' >"$records"
    local i
    for i in 1 2 3 4 5; do
        printf '\036N 1.%d server %d\tlisten(fd 3, backlog 8) -> 0\n' "$i" "$i" >>"$records"
    done
    run "$LADDER" text --width 80 "$records"
    [[ $output == *'--columns: 3 columns of at least 22 fit in 80: [server 4] shares [server 3]'\''s'* ]]
    [[ $output == *'| [server 3]+'* && $output == *'| [server 5] listen(fd 3,'* ]]
}

@test "--pace 50: each scene takes at least its lines times 50 ms" {
    # Each line stamped as it arrives; then, scene by scene, the time from
    # its heading to the next against the lines shown in between.
    "$BIN" demo --pace 50 2>&1 | while IFS= read -r line; do
        printf '%s %s\n' "$EPOCHREALTIME" "$line"
    done >"$BATS_TEST_TMPDIR/paced"
    awk '
        $2 == "==" { if (start) check(); start = $1; lines = 0; next }
        NF > 1 { lines++; last = $1 }
        function check() {
            if (($1 - start) * 1000 < (lines - 1) * 50) bad = bad sprintf("scene of %d lines took %.0f ms\n", lines, ($1 - start) * 1000)
            scenes++
        }
        END { $1 = last + 0.05; check(); printf "%s", bad; exit bad != "" || scenes != 3 }
    ' "$BATS_TEST_TMPDIR/paced"
}

@test "--ladder draws each scene after it, before the next scene's heading" {
    run --separate-stderr "$BIN" demo --ladder --width 100
    [[ $status -eq 0 ]]
    [[ $(grep -c '^-- ladder: ' <<<"$stderr") -eq 3 ]]
    # Each ladder comes after its own scene's lines and before the next heading.
    awk '/^== / { heading = $0; sub(/^== /, "", heading); seen = 1; next }
         /^-- ladder: / { title = $0; sub(/^-- ladder: /, "", title)
                          if (!seen || title != heading) { print "ladder of " title " under " heading; bad = 1 }
                          seen = 0 }
         END { exit bad }' <<<"$stderr"
    grep -Eq '^\| \[client A\] +\| \[client B\] +\| \[server\]$' <<<"$stderr"
}

# A recorded scene with wire segments, as the tap would narrate them.
write_handshake_records() {
    local r=$BATS_TEST_TMPDIR/handshake
    {
        printf '\036S 1.000 server\tthe handshake, before accept()\n'
        printf '\036N 1.001 server\tlisten(fd 3, backlog 8) -> 0\n'
        printf 'listening on 127.0.0.1:9001\n'
        printf '\036N 1.002 client\tconnect(127.0.0.1:9001) ... (blocks for the handshake)\n'
        printf '\036N 1.004 client\tconnect(127.0.0.1:9001) -> 0\n'
        # Stamped when seen, read later: they go back to their time.
        printf '\036A 1.0025 wire\tclient -> server  SYN  seq 0 ack 0 win 65495 len 0\n'
        printf '\036A 1.0026 wire\tserver -> client  SYN ACK  seq 0 ack 1 win 65483 len 0\n'
        printf '\036A 1.0027 wire\tclient -> server  ACK  seq 1 ack 1 win 512 len 0\n'
        printf '\036N 1.900 server\taccept(fd 3) -> fd 4\n'
        printf '\036N 1.901 server\trecv(fd 4) -> -1 ECONNRESET (Connection reset by peer)\n'
    } >"$r"
    echo "$r"
}

@test "ladder: segments are arrows between the two ends, in time order; a pause is marked" {
    local records
    records=$(write_handshake_records)
    run "$LADDER" text --width 64 "$records"
    [[ $status -eq 0 ]]
    local -a expected=(
        '-- ladder: the handshake, before accept()'
        '| [client]                      | [server]'
        '|                               | listen(fd 3, backlog 8) -> 0'
        '| connect(127.0.0.1:9001) ...   |'
        '|   (blocks for the handshake)  |'
        '|--------- SYN  len 0 --------->|'
        '|<------ SYN ACK  len 0 --------|'
        '|--------- ACK  len 0 --------->|'
        '| connect(127.0.0.1:9001) -> 0  |'
        ': (0.9 s)                       :'
        '|                               | accept(fd 3) -> fd 4'
        '|                               | recv(fd 4) -> -1 ECONNRESET'
        '|                               |   (Connection reset by peer)'
    )
    diff <(printf '%s\n' "${expected[@]}") <(sed 1d <<<"$output")
}

@test "ladder SVG: the calls, one arrow per segment, and the sequence it shows in a comment" {
    local records svg
    records=$(write_handshake_records)
    svg=$BATS_TEST_TMPDIR/handshake.svg
    "$LADDER" svg "$records" >"$svg"
    if command -v xmllint >/dev/null; then xmllint --noout "$svg"; fi
    [[ $(grep -c 'marker-end="url(#head)"' "$svg") -eq 3 ]]
    grep -q '>SYN ACK  len 0</text>' "$svg"
    grep -q '>accept(fd 3) -&gt; fd 4</text>' "$svg"
    grep -q 'fill="#cf222e">recv(fd 4) -&gt; -1 ECONNRESET' "$svg"     # a failure in red
    # The comment holds the sequence, exactly as the drawer computes it.
    diff <("$LADDER" sequence "$records") \
        <(sed -n '/^<!-- socklab ladder/,/^-->/p' "$svg" | sed '1d;$d')
    grep -qx 'wire: client -> server  SYN  len 0' <("$LADDER" sequence "$records")
}

@test "ladder sequence: what changes from run to run is #, a process id however small; fds and byte counts stay" {
    local r=$BATS_TEST_TMPDIR/numbers
    {
        printf '\036N 1.000 parent\tfork() -> child 886: fd 4 is now held by both processes\n'
        printf '\036N 1.001 parent\tfork() -> child 31337: fd 4 is now held by both processes\n'
        printf '\036N 1.002 server\tpid 42, behaving: silent\n'
        printf '\036N 1.0025 server\tstaying silent: try kill -STOP 216, or kill -9\n'
        printf '\036N 1.003 client\tconnect(127.0.0.1:40123) -> 0 after 0.25 s\n'
        printf '\036N 1.004 client\trecv(fd 3) -> 120 bytes\n'
    } >"$r"
    run "$LADDER" sequence "$r"
    [[ $status -eq 0 ]]
    local -a expected=(
        'parent: fork() -> child #: fd 4 is now held by both processes'
        'parent: fork() -> child #: fd 4 is now held by both processes'
        'server: pid #, behaving: silent'
        'server: staying silent: try kill -STOP #, or kill -9'
        'client: connect(127.0.0.1:#) -> 0 after # s'
        'client: recv(fd 3) -> 120 bytes'
    )
    diff <(printf '%s\n' "${expected[@]}") <(printf '%s\n' "$output")
}

# svg_sequence FILE: the sequence a picture embeds, each role's in its order.
svg_sequence() {
    sed -n '/^<!-- socklab ladder/,/^-->/p' "$1" | sed '1d;$d' | sort -s -t: -k1,1
}

@test "ladder SVG from a run matches a fresh run's sequence, and not another program's" {
    "$BIN" demo --ladder="$BATS_TEST_TMPDIR/one.svg" >/dev/null 2>&1
    "$BIN" demo --ladder="$BATS_TEST_TMPDIR/two.svg" >/dev/null 2>&1
    [[ $(svg_sequence "$BATS_TEST_TMPDIR/one.svg" | wc -l) -ge 30 ]]
    diff <(svg_sequence "$BATS_TEST_TMPDIR/one.svg") <(svg_sequence "$BATS_TEST_TMPDIR/two.svg")
    # A program that does one thing differently draws a different sequence.
    "$BIN" demo --backlog 3 --ladder="$BATS_TEST_TMPDIR/three.svg" >/dev/null 2>&1
    ! diff <(svg_sequence "$BATS_TEST_TMPDIR/one.svg") <(svg_sequence "$BATS_TEST_TMPDIR/three.svg")
}

@test "--ladder takes a FILE.svg or nothing; the demo options are the demo's alone" {
    run "$BIN" demo --ladder=picture.png
    expect_usage_error
    run "$BIN" demo --step=scene
    expect_usage_error
    run "$BIN" server --columns
    expect_usage_error
    run "$BIN" demo --help
    [[ $output == *'--step[=call]'* && $output == *'--pace MS'* && $output == *'--columns'* &&
        $output == *'--ladder[=FILE.svg]'* && $output == *'--wire'* ]]
    run "$BIN" server --help
    [[ $output != *'--step'* ]]
}
