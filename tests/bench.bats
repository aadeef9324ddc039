#!/usr/bin/env bats
# The bench tools (tests/bench/: bench.sh, loadgen) on a tiny configuration:
# they run, their counts are honest, and their numbers are sane. The real
# measurement is `make bench`; this only proves the instruments work.
CHAPTER=01-blocking
load test_helper

BENCH="$BATS_TEST_DIRNAME/bench/bench.sh"
LOADGEN="$BATS_TEST_DIRNAME/bench/loadgen"

setup_file() {
    make -s -C "$BATS_TEST_DIRNAME/bench" loadgen epoll-echo >/dev/null
}

# row_field OUTPUT FIRST-CELL COLUMN: the COLUMN-th cell (1-based) of the
# Markdown row whose first cell is FIRST-CELL, digits only (1,048,640 -> 1048640).
row_field() {
    awk -F'|' -v first="$2" -v column="$3" '
        { cell = $2; gsub(/ /, "", cell) }
        cell == first { v = $(column + 1); gsub(/[^0-9.]/, "", v); print v; exit }' <<<"$1"
}

@test "loadgen against chapter 1's blocking server: every round trip it counts, the server echoed" {
    start_server --backlog 64
    run -0 timeout 20 "$LOADGEN" --port "$PORT" --clients 10 --rounds 5 --size 32 --leave
    echo "$output"
    [[ $output == *"connected=10 served=10 refused=0 told=0 failed=0 round_trips=50 "* ]]
    # The server's side of the same story: 50 echoes of 32 bytes, 10 clients.
    local echoed
    echoed=$(sed -n 's/^\[server\] send(fd [0-9]*, [0-9]* bytes) -> \([0-9]*\)$/\1/p' "$SERVER_LOG" |
        awk '{ total += $1 } END { print total + 0 }')
    [[ $echoed -eq $((50 * 32)) ]]
    [[ $(grep -c '^\[server\] accept(fd 3) -> fd' "$SERVER_LOG") -eq 10 ]]
    # Latency percentiles are in order.
    local p50 p99 worst
    p50=$(sed -n 's/.* p50_us=\([0-9.]*\).*/\1/p' <<<"$output")
    p99=$(sed -n 's/.* p99_us=\([0-9.]*\).*/\1/p' <<<"$output")
    worst=$(sed -n 's/.* max_us=\([0-9.]*\).*/\1/p' <<<"$output")
    awk -v a="$p50" -v b="$p99" -v c="$worst" 'BEGIN { exit !(a > 0 && a <= b && b <= c) }'
}

@test "loadgen counts only whole, correct echoes: a server that sends back 10 of 32 bytes scores none" {
    BIN=$ROOT/bin/02-fixed-length start_server --msglen 32 --break-after 10 --quiet
    run -0 timeout 20 "$LOADGEN" --port "$PORT" --clients 1 --rounds 3 --size 32
    echo "$output"
    [[ $output == *" served=0 refused=1 "* && $output == *" round_trips=0 "* ]]
}

@test "bench.sh fixed-length: 1-byte recv()s cost about a million per MiB, 64 KiB ones a few dozen" {
    run -0 --separate-stderr timeout 60 "$BENCH" --quick --runs 1 --out "$BATS_TEST_TMPDIR/out.md" \
        fixed-length 3>&-
    echo "$output"
    [[ $output == *"One run (no median)."* ]]
    [[ $(cat "$BATS_TEST_TMPDIR/out.md") == "$output" ]]
    local recvs_1 calls_1 recvs_64k rate_1 rate_64k
    recvs_1=$(row_field "$output" 1 5)
    calls_1=$(row_field "$output" 1 6)
    recvs_64k=$(row_field "$output" 65536 5)
    rate_1=$(row_field "$output" 1 3)
    rate_64k=$(row_field "$output" 65536 3)
    echo "recv/MiB: $recvs_1 (1 byte), $recvs_64k (64 KiB); all calls/MiB $calls_1; MiB/s $rate_1, $rate_64k"
    # One recv() per byte, plus the one that reads end of file.
    ((recvs_1 >= 1048576 && recvs_1 <= 1048576 * 11 / 10))
    # Client and server each send and recv every byte once.
    ((calls_1 >= 4 * 1048576 && calls_1 <= 4 * 1048576 * 11 / 10))
    ((recvs_64k >= 16 && recvs_64k <= 100))
    awk -v a="$rate_1" -v b="$rate_64k" 'BEGIN { exit !(a > 0 && b > 10 * a) }'
}

@test "bench.sh concurrency: each server, 1 and 10 clients, every round trip verified" {
    run -0 --separate-stderr timeout 60 "$BENCH" --quick --runs 1 concurrency 3>&-
    echo "$output"
    local servers=("blocking (ch 1)" "select (ch 6)")
    [[ -x $BATS_TEST_DIRNAME/bench/epoll-echo ]] && servers+=("epoll (yardstick)")
    local server clients
    for server in "${servers[@]}"; do
        for clients in 1 10; do
            # clients | rounds x clients | server | rt/s | p50 | p99 | worst | cpu
            grep -Eq "^\| $clients \| [0-9]+ × $clients \| ${server//[()]/.} \| [1-9][0-9]* \| [0-9.]+ (µs|ms|s) \| [0-9.]+ (µs|ms|s) \| [0-9.]+ (µs|ms|s) \| ([0-9.]+ µs|n/a) \|$" <<<"$output"
        done
    done
    # bench.sh checks every loadgen line itself; it saw them all clean.
    [[ $(grep -c ' refused=0 told=0 failed=0 round_trips=' <<<"$stderr") -eq $((${#servers[@]} * 2)) ]]
}
