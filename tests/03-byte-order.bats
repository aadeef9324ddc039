#!/usr/bin/env bats
# Chapter 3: binary data and byte order. Every claim of the lesson, on real sockets.
CHAPTER=03-byte-order
load test_helper

# wire_bytes DIRECTION: the hex bytes of the --hexdump rows in $output that
# start with DIRECTION ('>' sent, '<' received), on one line.
wire_bytes() {
    grep "^$1 " <<<"$output" | cut -c3-25 | tr -s ' \n' '  ' | sed 's/^ *//; s/ *$//'
}

# host_order: "little" or "big", asked of od(1), not of the program under test:
# od prints the two bytes 01 00 as a host-order 16-bit integer.
host_order() {
    case $(printf '\001\000' | od -An -tu2 | tr -d ' ') in
    1) echo little ;;
    256) echo big ;;
    *) echo unknown ;;
    esac
}

# hex_to_text "65 72 ...": the bytes themselves.
hex_to_text() {
    printf '%b' "$(sed -E 's/([0-9a-f]{2}) ?/\\x\1/g' <<<"$1")"
}

little_endian_or_skip() {
    [[ $(host_order) == little ]] ||
        skip "this machine is $(host_order)-endian: host order is network order, so --wrong-order changes nothing here"
}

# raw_exchange PORT BYTES...: sends printf-formatted BYTES on a plain TCP
# connection (bash's /dev/tcp, no program of ours), prints the reply in hex.
raw_exchange() {
    local port=$1
    shift
    timeout 10 bash -c 'exec 5<>"/dev/tcp/127.0.0.1/$1"; shift; printf "$@" >&5; od -An -tx1 <&5' \
        _ "$port" "$@" | tr -s ' \n' '  ' | sed 's/^ *//; s/ *$//'
}

@test "lesson: every command in the chapter 3 README runs and prints what it says" {
    run_lesson
}

@test "show 1: 00 00 00 01 in network order, and this machine's real order in memory" {
    run -0 "$BIN" show 1
    local order expected_memory
    order=$(host_order)
    [[ $order != unknown ]]
    if [[ $order == little ]]; then expected_memory='01 00 00 00'; else expected_memory='00 00 00 01'; fi
    [[ ${lines[0]} == "this machine is $order-endian:"* ]]
    [[ $output == *$'\n'"integer "*"in memory here"*"in network order"* ]]
    local row
    row=$(grep -E '^1 ' <<<"$output")
    [[ $row =~ ^1\ +"$expected_memory"\ +"00 00 00 01"\ +1\ +4$ ]] || { echo "row: $row"; false; }
}

@test "show: the default integers, 4 or 8 bytes, and text vs binary sizes" {
    run -0 "$BIN" show
    [[ $output =~ $'\n'258\ +[0-9a-f\ ]+\ +"00 00 01 02"\ +3\ +4$'\n' ]]
    [[ $output =~ $'\n'16777216\ +[0-9a-f\ ]+\ +"01 00 00 00"\ +8\ +4$'\n' ]]
    [[ $output =~ $'\n'1311768467463790320\ +[0-9a-f\ ]+\ +"12 34 56 78 9a bc de f0"\ +19\ +8$'\n' ]]
    run -0 "$BIN" show -- -1 -9223372036854775808
    [[ $output =~ $'\n'-1\ +"ff ff ff ff"\ +"ff ff ff ff"\ +2\ +4 ]]
    [[ $output =~ -9223372036854775808\ +[0-9a-f\ ]+\ +"80 00 00 00 00 00 00 00"\ +20\ +8 ]]
}

@test "show: a non-number or a number outside int64 is a usage error" {
    run "$BIN" show 12x
    expect_usage_error
    [[ $output == *"'12x' is not a whole number"* ]]
    run "$BIN" show 9223372036854775808
    expect_usage_error
    [[ $output == *"outside the signed 64-bit range"* ]]
}

@test "binary sums: small, negative, the int64 extremes, and none at all" {
    start_server
    run -0 --separate-stderr client --quiet 1 2 3
    [[ $output == 6 ]]
    run -0 --separate-stderr client --quiet -- -5 3 -100
    [[ $output == -102 ]]
    run -0 --separate-stderr client --quiet -9223372036854775808 9223372036854775807
    [[ $output == -1 ]]
    run -0 --separate-stderr client --quiet 9223372036854775807
    [[ $output == 9223372036854775807 ]]
    run -0 --separate-stderr client --quiet -9223372036854775808
    [[ $output == -9223372036854775808 ]]
    run -0 --separate-stderr client --quiet </dev/null
    [[ $output == 0 ]]
    run -0 --separate-stderr bash -c "seq 10000 | timeout 10 '$BIN' client --quiet --port $PORT"
    [[ $output == 50005000 ]]
}

@test "text sums: the same numbers as decimal lines, from arguments and stdin" {
    start_server --text
    run -0 --separate-stderr client --text --quiet 1 2 3
    [[ $output == 6 ]]
    run -0 --separate-stderr client --text --quiet -9223372036854775808 9223372036854775807
    [[ $output == -1 ]]
    run -0 --separate-stderr bash -c "printf '%s\n' -5 3 -100 | timeout 10 '$BIN' client --text --quiet --port $PORT"
    [[ $output == -102 ]]
    run -0 --separate-stderr client --text --quiet -9223372036854775808
    [[ $output == -9223372036854775808 ]]
}

@test "--hexdump: the binary request and reply are exactly the big-endian bytes" {
    start_server
    run -0 --separate-stderr client --hexdump -- 1 -2
    [[ $(wire_bytes '>') == "00 00 00 02 00 00 00 00 00 00 00 01 ff ff ff ff ff ff ff fe" ]]
    [[ $(wire_bytes '<') == "00 ff ff ff ff ff ff ff ff" ]]
    [[ ${lines[-1]} == -1 ]]
    # and the narration counts the same bytes each way
    [[ $stderr == *"send(fd "*", 20 bytes) -> 20"* ]]
    [[ $stderr == *"sum: ff ff ff ff ff ff ff ff -> -1 (reply: 9 bytes)"* ]]
}

@test "--hexdump --text: the text request and reply are exactly the decimal lines" {
    start_server --text
    run -0 --separate-stderr client --text --hexdump -- 1 -2 300
    [[ $(wire_bytes '>') == "31 0a 2d 32 0a 33 30 30 0a 0a" ]]
    [[ $(wire_bytes '<') == "32 39 39 0a" ]]
    [[ ${lines[-1]} == 299 ]]
}

@test "the server decodes a big-endian request built by hand (printf over /dev/tcp)" {
    start_server
    # count 2, then 7 and -3: the reply is status 0 and the sum 4
    run -0 raw_exchange "$PORT" '\000\000\000\002\000\000\000\000\000\000\000\007\377\377\377\377\377\377\377\375'
    [[ $output == "00 00 00 00 00 00 00 00 04" ]]
    start_server --text
    run -0 raw_exchange "$PORT" '1\r\n2\r\n\r\n'
    [[ $output == "33 0a" ]]
}

@test "--wrong-order: the count 3 is read as 50331648, refused; the next client is served" {
    little_endian_or_skip
    start_server
    run -3 --separate-stderr client --quiet --wrong-order --hexdump 1 2 3
    [[ $(wire_bytes '>') == "03 00 00 00 01 00 00 00 00 00 00 00 02 00 00 00 00 00 00 00 03 00 00 00 00 00 00 00" ]]
    [[ $(wire_bytes '<' | cut -c1-2) == 01 ]]
    [[ $stderr == "03-byte-order: the server answered: count 50331648 is over the limit of 10000 numbers" ]]
    grep -q 'count: 03 00 00 00 -> ntohl() -> 50331648' "$SERVER_LOG"
    grep -q 'dropped 24 bytes the request did not use' "$SERVER_LOG"
    run -0 --separate-stderr client --quiet 1 2 3
    [[ $output == 6 ]]
}

@test "--wrong-order-numbers: the server accepts the request and sums other numbers" {
    little_endian_or_skip
    start_server
    run -0 --separate-stderr client --quiet --wrong-order-numbers 1 2 3
    # 1, 2, 3 read as 1<<56, 2<<56, 3<<56: the sum is 6<<56
    [[ $output == 432345564227567616 ]]
    run -0 --separate-stderr client --quiet 1 2 3
    [[ $output == 6 ]]
}

@test "a count over the cap is refused at once, without waiting for its numbers" {
    start_server
    # 4294967295 numbers announced and none sent: the reply must still come
    # (status 1), and the server must not have tried to allocate 32 GiB.
    run -0 raw_exchange "$PORT" '\377\377\377\377'
    [[ $output == "01 33 "* ]]     # status 1, then 0x33 = 51 bytes of text
    [[ $(hex_to_text "${output:6}") == "count 4294967295 is over the limit of 10000 numbers" ]]
    run -3 --separate-stderr bash -c "seq 10001 | timeout 10 '$BIN' client --quiet --port $PORT"
    [[ $stderr == *"count 10001 is over the limit of 10000 numbers" ]]
    run -0 --separate-stderr client --quiet 40 2
    [[ $output == 42 ]]
}

@test "a sum that leaves int64 is an error reply (status 2), never wrapped" {
    start_server
    run -3 --separate-stderr client --quiet --hexdump 9223372036854775807 1
    [[ $(wire_bytes '<' | cut -c1-2) == 02 ]]
    [[ $stderr == *"the sum leaves the signed 64-bit range at number 2 of 2" ]]
    run -3 --separate-stderr client --quiet -- -9223372036854775808 -1
    [[ $stderr == *"the sum leaves the signed 64-bit range at number 2 of 2" ]]
    [[ $output == "" ]]
    start_server --text
    run -3 --separate-stderr client --text --quiet 9223372036854775807 1
    [[ $stderr == *"the server answered: the sum leaves the signed 64-bit range at line 2" ]]
    [[ $output == "" ]]
}

@test "a binary request that stops short gets status 3, and the server goes on" {
    start_server
    run -3 --separate-stderr client --quiet --stop-after 2 1 2
    [[ $stderr == *"the request stopped after 2 of the 4 bytes of its count" ]]
    run -3 --separate-stderr client --quiet --stop-after 10 1 2
    [[ $stderr == *"the request stopped in number 1 of 2 (6 of its 8 bytes)" ]]
    run -3 --separate-stderr client --quiet --stop-after 12 1 2
    [[ $stderr == *"the request stopped in number 2 of 2 (0 of its 8 bytes)" ]]
    run -0 --separate-stderr client --quiet 1 2
    [[ $output == 3 ]]
}

@test "text: a non-number, an int64 overflow, an over-long line, a short request: each an error line" {
    start_server --text
    run -3 --separate-stderr client --text --unchecked --quiet 1 abc
    [[ $stderr == *"the server answered: line 2: 'abc' is not a whole number" ]]
    run -3 --separate-stderr client --text --unchecked --quiet -- -9223372036854775809
    [[ $stderr == *"line 1: '-9223372036854775809' is outside the signed 64-bit range" ]]
    run -3 --separate-stderr client --text --unchecked --quiet "$(printf '%065d' 7)"
    [[ $stderr == *"line 1 is longer than 64 characters" ]]
    run -3 --separate-stderr client --text --quiet --stop-after 3 12 34
    [[ $stderr == *"the request ended after 1 line, without its empty line" ]]
    run -3 --separate-stderr client --text --quiet --stop-after 4 12 34
    [[ $stderr == *"the request ended in the middle of line 2, without its empty line" ]]
    run -3 --separate-stderr bash -c "seq 10001 | timeout 10 '$BIN' client --text --quiet --port $PORT"
    [[ $stderr == *"more than 10000 numbers" ]]
    # 64 digits is the longest line the server takes
    run -0 --separate-stderr client --text --unchecked --quiet "$(printf '%064d' 7)"
    [[ $output == 7 ]]
    # the error reply is one line that starts "error: ", told apart from any sum
    run -0 raw_exchange "$PORT" 'x\n\n'
    [[ $output == "65 72 72 6f 72 3a 20 "* && $output == *" 0a" ]]
    is_running "$SERVER_PID"
}

@test "text: a peer that never sends a newline costs one line, then an error" {
    start_server --text
    # 50 KB without a newline: the server answers after 66 bytes and drops the
    # rest (up to 64 KiB) until the peer closes
    run -0 raw_exchange "$PORT" "$(head -c 50000 /dev/zero | tr '\0' 7)"
    [[ $(hex_to_text "$output") == "error: line 1 is longer than 64 characters" ]]
    grep -q 'dropped .* bytes the request did not use' "$SERVER_LOG"
    run -0 --separate-stderr client --text --quiet 5
    [[ $output == 5 ]]
}

@test "client: bad numbers on the command line or stdin are refused before connecting" {
    run "$BIN" client --port 1 abc
    expect_usage_error
    [[ $output == *"'abc' is not a whole number"* ]]
    run "$BIN" client --port 1 -- 9223372036854775808
    expect_usage_error
    [[ $output == *"'9223372036854775808' is outside the signed 64-bit range"* ]]
    run bash -c "printf '1\nx2\n' | '$BIN' client --port 1"
    expect_runtime_error "stdin line 2: 'x2' is not a whole number"
    run bash -c "head -c 5000 /dev/zero | tr '\0' 1 | '$BIN' client --port 1"
    expect_runtime_error "stdin line 1 is longer than 4095 bytes"
    run "$BIN" client --port 1 --unchecked 1
    expect_usage_error
}

@test "demo: the same numbers as text and binary side by side, then the mistake" {
    run -0 --separate-stderr timeout "$DEMO_TIMEOUT" "$BIN" demo
    [[ $output =~ request\ +25\ +36 ]]
    [[ $output =~ reply\ +14\ +9 ]]
    [[ $output =~ sum\ +1234567891127\ +1234567891127 ]]
    if [[ $(host_order) == little ]]; then
        [[ $output == *"the count 4 is read as 67108864"* ]]
        [[ $output == *"error: count 67108864 is over the limit of 10000 numbers"* ]]
    fi
}

@test "--help documents the cap, the reply format and exit status 3" {
    run -0 "$BIN" --help
    [[ $output == *"status 0, then the sum (8 bytes, signed): 9 bytes"* ]]
    [[ $output == *"count over 10000"* ]]
    [[ $output == *"3 (client) the server answered with an error reply"* ]]
}

# read_in_host_order "HEX BYTES": the 8 bytes as a signed integer in this
# machine's order, as od(1) reads them: what a client that forgot to convert
# the sum would print.
read_in_host_order() {
    hex_to_text "$1" | od -An -td8 | tr -d ' '
}

@test "the --wrong-order-reply exercise: only a sum whose 8 bytes are a palindrome survives" {
    little_endian_or_skip
    start_server
    # 1 + 2: a small sum, yet its bytes come back reversed: 3 << 56
    run -0 --separate-stderr client --quiet --hexdump 1 2
    [[ $(read_in_host_order "$(wire_bytes '<' | cut -d' ' -f2-9)") == 216172782113783808 ]]
    # 257 (01 01 in its last two bytes) is small and needs no carry: reversed too
    run -0 --separate-stderr client --quiet --hexdump 257
    [[ $(read_in_host_order "$(wire_bytes '<' | cut -d' ' -f2-9)") == 72339069014638592 ]]
    # the palindromes survive: 0, -1, and 01 00 00 00 00 00 00 01
    local sum
    for sum in 0 -1 72057594037927937; do
        run -0 --separate-stderr client --quiet --hexdump -- "$sum"
        [[ $(read_in_host_order "$(wire_bytes '<' | cut -d' ' -f2-9)") == "$sum" ]]
    done
}

@test "text: a NUL byte in a line is refused like any other non-digit, not taken as the line's end" {
    start_server --text
    # "1", NUL, "2": one line of three bytes, not the number 1
    run -0 raw_exchange "$PORT" '1\0002\n\n'
    [[ $(hex_to_text "$output") == "error: line 1: '1?2' is not a whole number" ]]
    # a line of one NUL is not the empty line that ends the request
    run -0 raw_exchange "$PORT" '5\n\000\n\n'
    [[ $(hex_to_text "$output") == "error: line 2: '?' is not a whole number" ]]
    run -0 --separate-stderr client --text --quiet 1 2
    [[ $output == 3 ]]
}

@test "the server's drain after its reply: SO_RCVTIMEO bounds it, and its EAGAIN is named" {
    start_server
    # A peer that reads the whole reply (to the server's FIN) and then keeps
    # the connection open, without closing, for longer than the drain waits.
    start_background holder bash -c 'exec 5<>"/dev/tcp/127.0.0.1/$1"
        printf "\0\0\0\1\0\0\0\0\0\0\0\52" >&5; od -An -tx1 <&5; exec sleep 8' _ "$PORT"
    wait_for_line "$BATS_TEST_TMPDIR/holder.log" '00 00 00 00 00 00 00 00 2a' 5
    grep -q 'setsockopt(SO_RCVTIMEO, 1 s) -> 0: a recv gives up after 1 s' "$SERVER_LOG"
    wait_for_line "$SERVER_LOG" \
        'recv\(fd 4\) -> -1 EAGAIN \(.*\): no close within 1 s \(SO_RCVTIMEO\), closing anyway' 5
    ! grep -q 'Resource temporarily unavailable)$' "$SERVER_LOG"
    # and then the server serves the next client, the holder still connected
    run -0 --separate-stderr client --quiet 40 2
    [[ $output == 42 ]]
    is_running "$HOLDER_PID"
}

# elapsed_ms START: milliseconds since START (an $EPOCHREALTIME).
elapsed_ms() {
    local now=${EPOCHREALTIME/./} then=${1/./}
    echo $(((now - then) / 1000))
}

@test "client --timeout 1: a server that accepts and never answers ends the wait in 1.5 s, status 4" {
    make -s -C "$ROOT/tests/hostile" >/dev/null
    start_background silent "$ROOT/build/tools/hostile" --hold 10 accept-close
    wait_for_line "$BATS_TEST_TMPDIR/silent.log" '^listening on' 5
    PORT=$(sed -n 's/^listening on .*://p' "$BATS_TEST_TMPDIR/silent.log")
    local started=$EPOCHREALTIME
    run -4 --separate-stderr client --timeout 1 1 2
    local took
    took=$(elapsed_ms "$started")
    echo "took $took ms: $stderr"
    ((took >= 900 && took < 1500))
    [[ ${stderr##*$'\n'} == "03-byte-order: recv: no answer within 1 s (--timeout)" ]]
    [[ $stderr == *"setsockopt(SO_RCVTIMEO and SO_SNDTIMEO, 1 s) -> 0"* ]]
    [[ $output == "" ]]
}

@test "client --timeout: a server that never accepts (stopped, the backlog holds us) ends it too" {
    start_server --text
    kill -STOP "$SERVER_PID"
    local started=$EPOCHREALTIME took
    run -4 --separate-stderr client --text --timeout 0.5 1 2
    took=$(elapsed_ms "$started")
    kill -CONT "$SERVER_PID"
    echo "took $took ms: $stderr"
    ((took >= 400 && took < 1500))
    [[ ${stderr##*$'\n'} == "03-byte-order: recv: no answer within 0.5 s (--timeout)" ]]
    run -0 --separate-stderr client --text --quiet --timeout 5 1 2
    [[ $output == 3 ]]
}

@test "client --help: --timeout, its default that waits forever, and exit status 4" {
    run -0 "$BIN" client --help
    [[ $output == *"--timeout SEC"*"0 waits forever (default 0)"* ]]
    [[ $output == *"4 (client) no answer within --timeout (without it, the client waits forever)"* ]]
    ! grep -q '(default .*(default' <<<"$output"
    run -0 awk 'length > 80' <<<"$output"
    [[ -z $output ]]
}

@test "accept() out of descriptors (EMFILE, ulimit -n 4): the server narrates it and says why it stops" {
    SERVER_LOG=$BATS_TEST_TMPDIR/emfile.log
    # 0, 1, 2 and the listener (fd 3): no descriptor is left for a client.
    (exec_with_std_fds_only bash -c 'ulimit -n 4 && exec "$0" server --port 0' "$BIN") \
        >"$SERVER_LOG" 2>&1 3>&- </dev/null &
    local pid=$!
    STARTED_PIDS+=("$pid")
    wait_for_line "$SERVER_LOG" '^listening on ' 10 "$pid"
    PORT=$(sed -n 's/^listening on .*://p' "$SERVER_LOG")
    # Linux's accept() takes the descriptor before it waits, and fails at
    # once; elsewhere it may wait for a client: here is one (refused or reset).
    run -1 --separate-stderr client --quiet 1 2
    wait_for_line "$SERVER_LOG" 'holds none it could close' 5 "$pid"
    local status=0
    wait "$pid" || status=$?
    cat "$SERVER_LOG"
    ((status == 1))
    grep -Eq '^\[server\] accept\(fd 3\) -> -1 EMFILE \(' "$SERVER_LOG"
    grep -q '^03-byte-order: accept: EMFILE (.*): no descriptor is left for a client, and this server holds none it could close' "$SERVER_LOG"
}

@test "show: at most 64 integers, and past that it says so" {
    run -0 "$BIN" show $(seq 64)
    [[ $output == *$'\n'"64 "* ]]
    run "$BIN" show $(seq 65)
    expect_usage_error
    [[ $output == *"at most 64 integers"* ]]
}

@test "demo: each scene under its heading, its lines done before the next one starts, 80 columns" {
    run -0 timeout "$DEMO_TIMEOUT" "$BIN" demo
    local long
    long=$(awk 'length > 80' <<<"$output")
    [[ -z $long ]] || { echo "over 80 columns: $long"; false; }
    # the scenes, in order, the setup first
    run -0 grep -c '^== ' <<<"$output"
    [[ $output == 6 ]]
    run -0 timeout "$DEMO_TIMEOUT" "$BIN" demo
    [[ ${lines[0]} == "== setup: "* ]]
    # every exchange scene ends with its server's close(), before the next heading
    local scene="" line closes=0
    for line in "${lines[@]}"; do
        if [[ $line == "== "* ]]; then
            [[ -z $scene || $scene == *setup* || $scene == *"both ways"* || $closes -eq 1 ]] ||
                { echo "scene '$scene': $closes server closes before the next heading"; false; }
            scene=$line closes=0
        fi
        [[ $line == "[server] close(fd "* ]] && closes=$((closes + 1))
        if [[ $line == *"dropped 32 bytes the request did not use"* ]]; then
            [[ $scene == *"(--wrong-order)" ]] || { echo "dropped line in '$scene'"; false; }
        fi
    done
    ((closes == 1))
}

# ---- Claims judged by `make check 3` (tests/check/): this block is appended ----
# What the exercise (the big-endian encoders and decoders of wire.c) must get
# right, said so that a byte-order slip is named; they run in `make test` too.
load check/claims

@test "the count and every number cross in network order: each sum comes back right" {
    start_server
    local case expected numbers
    for case in "6|1 2 3" "-2|-2" "1099511627781|1099511627776 5"; do
        expected=${case%%|*} numbers=${case#*|}
        # shellcheck disable=SC2086  # the numbers are meant to split
        run --separate-stderr client --quiet -- $numbers
        [[ $status -eq 0 && $output == "$expected" ]] && continue
        local count
        count=$(wc -w <<<"$numbers")
        if [[ $stderr == *"count $(byte_reversed "$count" 4) is over the limit"* ]]; then
            claim_failed byte-order-count "the sum of $numbers: $expected" \
                "the server read the count $count as $(byte_reversed "$count" 4), its 4 bytes in the other order"
        fi
        if [[ $output == "$(byte_reversed "$expected")" ]]; then
            claim_failed byte-order "the sum of $numbers: $expected" \
                "$output, which is $expected with its 8 bytes in the other order"
        fi
        claim_failed "" "the sum of $numbers: $expected" "status $status, output '$output' $stderr"
    done
}
