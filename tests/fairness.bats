#!/usr/bin/env bats
# run-bats: alone
# Fairness under a flood, chapters 6 and 7: a good pair's chat lines must
# arrive within 100 ms while 200 clients flood the room and never read. A
# bound that tight is about the server, not about a machine busy with other
# test files, so tests/run-bats runs this file alone, after the others.
bats_require_minimum_version 1.5.0

CHATFLOOD="$BATS_TEST_DIRNAME/bench/chatflood"

setup_file() {
    make -s -C "$BATS_TEST_DIRNAME/bench" chatflood >/dev/null
}

# server_memory_kb FIELD: the server's VmRSS or VmHWM (peak), in kB.
server_memory_kb() {
    awk -v field="$1:" '$1 == field { print $2 }' "/proc/$SERVER_PID/status"
}

CHAPTER=06-select
load test_helper

@test "chapter 6, chat fairness: 200 clients flood the room and never read; a good pair's lines arrive within 100 ms" {
    ulimit -n 1024 2>/dev/null || true
    start_server --chat --quiet
    local before
    before=$(server_memory_kb VmRSS)
    # 200 clients each send 1000 short lines at once and never read; meanwhile
    # A sends 10 lines, one after the other, and B times each one's arrival.
    run -0 timeout 30 "$CHATFLOOD" --port "$PORT" --flooders 200 --lines 1000 --probes 10
    echo "$output"
    local max after peak
    max=$(sed -n 's/.* max_ms=\([0-9.]*\).*/\1/p' <<<"$output")
    after=$(sed -n 's/.* seen_after_first_probe=\([0-9]*\).*/\1/p' <<<"$output")
    awk -v m="$max" 'BEGIN { exit !(m < 100) }'
    # The flood was still coming through after the first of A's lines arrived.
    ((after > 0))
    # What 200 non-readers can make it hold: their --max-pending (64K) each, not their floods.
    peak=$(server_memory_kb VmHWM)
    echo "server VmRSS before: $before kB, peak: $peak kB"
    ((peak - before < 200 * 64 + 8192))
}

@test "chapter 7, chat on epoll: 200 flooders that never read, and a good pair's lines arrive within 100 ms" {
    [[ $(uname) == Linux ]] || skip "epoll is Linux's (kqueue elsewhere)"
    BIN=$ROOT/bin/07-poll-epoll
    start_server --chat --quiet --loop epoll
    run -0 timeout 30 "$CHATFLOOD" --port "$PORT" --flooders 200 --lines 1000 --probes 10
    echo "$output"
    local max
    max=$(sed -n 's/.* max_ms=\([0-9.]*\).*/\1/p' <<<"$output")
    awk -v m="$max" 'BEGIN { exit !(m < 100) }'
}
