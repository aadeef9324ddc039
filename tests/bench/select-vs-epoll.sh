#!/usr/bin/env bash
# select-vs-epoll.sh: chapter 6's speed claim, measured.
#
# The server's CPU time (user + system, from /proc: loadgen --server-pid) per
# echo round trip, for bin/06-select's select() server and for epoll-echo (the
# yardstick), with 1, 100 and 1000 concurrent clients driven by loadgen, all
# connected for the whole timed run. The ratio select/epoll is the cost of
# select() over the best single-threaded loop. `make bench` (bench.sh) shows
# the same servers in shorter runs where clients come and go; this is the
# longer look at CPU alone.
#
# Usage: tests/bench/select-vs-epoll.sh [SECONDS per run, default 3]
#        (needs bin/06-select: run `make` first; and `make -C tests/bench`)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
seconds=${1:-3}
select_server=$root/bin/06-select

[[ -x $select_server ]] || { echo "select-vs-epoll: build bin/06-select first (make)"; exit 1; }
[[ -r /proc/self/stat ]] || { echo "select-vs-epoll: needs /proc (Linux): skipped"; exit 0; }
[[ -x $here/epoll-echo ]] || { echo "select-vs-epoll: no epoll-echo (epoll is Linux-only): skipped"; exit 0; }
ulimit -n 4096

work=$(mktemp -d)
server_pid=
cleanup() {
    [[ -n $server_pid ]] && { kill "$server_pid"; wait "$server_pid"; } 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

# measure CLIENTS SERVER-COMMAND...: prints the server's CPU microseconds per round trip.
measure() {
    local clients=$1 line port
    shift
    "$@" >"$work/server.log" 2>&1 &
    server_pid=$!
    for _ in $(seq 500); do
        grep -q '^listening on ' "$work/server.log" && break
        sleep 0.01
    done
    port=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$work/server.log")
    line=$("$here/loadgen" --port "$port" --clients "$clients" --seconds "$seconds" \
        --server-pid "$server_pid")
    kill "$server_pid"
    wait "$server_pid" 2>/dev/null || true
    server_pid=
    echo "  $line" >&2
    [[ $line == *" failed=0 "* ]] || { echo "select-vs-epoll: clients failed: $line" >&2; exit 1; }
    sed -n 's/.*server_cpu_us_per_rt=\([0-9.]*\).*/\1/p' <<<"$line"
}

printf '%-8s %18s %18s %8s\n' clients 'select us/rt' 'epoll us/rt' ratio
for clients in 1 100 1000; do
    s=$(measure "$clients" "$select_server" server --port 0 --quiet --backlog 4096)
    e=$(measure "$clients" "$here/epoll-echo" 0)
    printf '%-8s %18s %18s %8s\n' "$clients" "$s" "$e" "$(awk -v s="$s" -v e="$e" \
        'BEGIN { if (e > 0) printf "%.2f", s / e; else print "?" }')"
done
