#!/usr/bin/env bash
# poll-epoll.sh: chapter 7's claims, measured: what a round trip costs the
# server's CPU with idle connections held, and with many active clients, for
# bin/07-poll-epoll's three loops (select, poll, epoll: chapter 6's server,
# waiting three ways) and tests/bench/epoll-echo (the minimal epoll server).
#
# Each figure: loadgen --seconds S with --clients ACTIVE and --idle IDLE
# held open, the server's CPU time (from /proc, Linux) per round trip. A
# Markdown table on stdout, with the machine and the command.
#
# With --yardstick N, only the aim of chapter 7 at 1,000 active clients:
# epoll's loop and epoll-echo N times each, alternating, and the medians.
#
# Usage: tests/bench/poll-epoll.sh [--seconds S (default 1)] [--out FILE] [--yardstick N]
#        (needs `make` and `make -C tests/bench`; Linux: /proc, epoll)
# See also: chapters/07-poll-epoll/README.md, loadgen.c, select-vs-epoll.sh.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
seconds=1 out="" yardstick=0
while (($#)); do
    case $1 in
        --seconds) seconds=${2:?--seconds S}; shift ;;
        --out) out=${2:?--out FILE}; shift ;;
        --yardstick) yardstick=${2:?--yardstick N}; shift ;;
        *) echo "poll-epoll.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
    shift
done
program=$root/bin/07-poll-epoll
[[ -x $program && -x $here/loadgen ]] || { echo "poll-epoll.sh: run make and make -C tests/bench" >&2; exit 1; }
[[ -r /proc/self/schedstat && -x $here/epoll-echo ]] || { echo "poll-epoll.sh: needs Linux (/proc, epoll): skipped"; exit 0; }
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
(($(ulimit -n) >= 10100)) || { echo "poll-epoll.sh: needs ulimit -n 10100 (it is $(ulimit -n))" >&2; exit 1; }

work=$(mktemp -d)
server_pid=
cleanup() {
    [[ -n $server_pid ]] && { kill "$server_pid"; wait "$server_pid"; } 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
results=$work/results.md
emit() { printf '%s\n' "$*" | tee -a "$results"; }

# cost ACTIVE IDLE SERVER-COMMAND...: server CPU microseconds per round trip.
cost() {
    local active=$1 idle=$2 line port
    shift 2
    "$@" >"$work/server.log" 2>&1 &
    server_pid=$!
    for _ in $(seq 500); do
        grep -q '^listening on ' "$work/server.log" && break
        sleep 0.01
    done
    port=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$work/server.log")
    line=$("$here/loadgen" --port "$port" --clients "$active" --idle "$idle" --seconds "$seconds" \
        --size 32 --server-pid "$server_pid")
    kill "$server_pid"
    wait "$server_pid" 2>/dev/null || true
    server_pid=
    echo "  $* | active $active idle $idle: $line" >&2
    [[ $line == *" failed=0 "* ]] || { echo "poll-epoll.sh: clients failed: $line" >&2; exit 1; }
    printf '%s µs' "$(sed -n 's/.*server_cpu_us_per_rt=\([0-9.]*\).*/\1/p' <<<"$line")"
}

loop() { echo "$program server --port 0 --quiet --loop $1"; }

# median: the middle of the numbers on stdin (one a line).
median() {
    sort -n | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}

if ((yardstick > 0)); then
    for ((i = 0; i < yardstick; i++)); do
        cost 1000 0 $(loop epoll) | sed 's/ µs//' >>"$work/epoll"; echo >>"$work/epoll"
        cost 1000 0 "$here/epoll-echo" 0 | sed 's/ µs//' >>"$work/echo"; echo >>"$work/echo"
    done
    e=$(median <"$work/epoll") y=$(median <"$work/echo")
    emit "1000 active clients, $yardstick runs of $seconds s each, alternating: epoll loop $e µs," \
        "epoll-echo $y µs per round trip (medians): $(awk -v e="$e" -v y="$y" 'BEGIN { printf "%.2f", e / y }')x"
    [[ -n $out ]] && cp "$results" "$out"
    exit 0
fi
emit "### Chapter 7: server CPU per round trip (select, poll, epoll)"
emit ""
emit "Machine: $(uname -srm), $(getconf _NPROCESSORS_ONLN) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)."
emit "Command: \`tests/bench/poll-epoll.sh --seconds $seconds\`; 32-byte round trips for $seconds s each, the idle"
emit "connections opened first (so the busy one is last in poll's array), the server's CPU time from /proc."
emit ""
emit "| active | idle | select | poll | epoll | epoll-echo (yardstick) |"
emit "|---:|---:|---:|---:|---:|---:|"
for row in "1 0" "1 1000" "1 10000" "100 0" "1000 0"; do
    read -r active idle <<<"$row"
    s="over FD_SETSIZE"
    ((active + idle + 8 <= 1024)) && s=$(cost "$active" "$idle" $(loop select))
    p=$(cost "$active" "$idle" $(loop poll))
    e=$(cost "$active" "$idle" $(loop epoll))
    y=$(cost "$active" "$idle" "$here/epoll-echo" 0)
    emit "| $active | $idle | $s | $p | $e | $y |"
done
[[ -n $out ]] && cp "$results" "$out"
exit 0
