#!/usr/bin/env bash
# bench.sh: what chapters 2 and 6 teach about cost, measured on this machine.
#
# Two tables, in Markdown, on stdout (progress on stderr):
#
#   fixed-length   chapter 2's client and server echoing data with every
#                  send() and recv() limited to 1, 16, 256, 4096 or 65536
#                  bytes: MiB/s, the time 64 MiB takes, and the system calls
#                  per MiB (counted from the programs' own narration, one line
#                  per send() or recv(), on a smaller transfer, since
#                  narrating costs time).
#   concurrency    chapter 1's iterative blocking server, chapter 6's select()
#                  server and a minimal epoll server (the yardstick, Linux
#                  only) under 1, 10, 100 and 1000 concurrent clients doing
#                  32-byte echo round trips (tests/bench/loadgen, --leave):
#                  round trips per second, p50 / p99 / worst latency, and
#                  the server's CPU time per round trip (from /proc, Linux
#                  only; elsewhere the column says n/a).
#
# Every figure is the median of --runs runs (default 5). Each run is sized to
# take a fraction of a second here, so the whole thing stays well under two
# minutes on two cores: the fixed-length runs move as many MiB as fit in about
# 0.8 seconds (up to 64 MiB), and say how many.
#
# Usage: tests/bench/bench.sh [--quick] [--runs N] [--out FILE] [fixed-length|concurrency|all]
#   --quick    a tiny configuration for the tests: small transfers, 1 and 10 clients
#   --out F    also write the tables to F (make bench: bench-results.md at the top)
# Needs bin/01-blocking, bin/02-fixed-length, bin/06-select (`make`) and
# tests/bench/loadgen (`make -C tests/bench`). Exit status: 0, or 1 when a run
# failed (a client error, a byte that came back wrong, a count that is off).
# See also: tests/bench/loadgen.c, tests/bench.bats, chapters/02-fixed-length/README.md,
#           chapters/06-select/README.md.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=$root/bin
loadgen=$here/loadgen

command_line=tests/bench/bench.sh    # as the report shows it: without --out
quick=0 runs="" out="" what=all
while (($#)); do
    case $1 in
        --quick) quick=1; command_line+=" $1" ;;
        --runs) runs=${2:?--runs N}; command_line+=" $1 $2"; shift ;;
        --out) out=${2:?--out FILE}; shift ;;
        fixed-length | concurrency | all) what=$1; command_line+=" $1" ;;
        -h | --help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "bench.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
    esac
    shift
done
[[ -n $runs ]] || { ((quick)) && runs=3 || runs=5; }
[[ $runs =~ ^[1-9][0-9]?$ ]] || { echo "bench.sh: --runs: 1 to 99" >&2; exit 2; }

for program in 01-blocking 02-fixed-length 06-select; do
    [[ -x $bin/$program ]] || { echo "bench.sh: no $bin/$program: run make first" >&2; exit 1; }
done
if [[ $what != fixed-length && ! -x $loadgen ]]; then
    echo "bench.sh: no $loadgen: run make -C tests/bench" >&2
    exit 1
fi

work=$(mktemp -d)
results=$work/results.md
server_pid=
running=()      # every server started and not yet reaped
cleanup() {
    stop_servers
    rm -rf "$work"
}
trap cleanup EXIT
trap 'say "bench.sh: line $LINENO: a command failed"' ERR

say() { printf '%s\n' "$*" >&2; }
# within SECONDS COMMAND...: COMMAND, killed after SECONDS where timeout(1)
# exists (GNU coreutils; macOS has none, and then a stuck run just hangs).
if command -v timeout >/dev/null 2>&1; then
    within() { timeout "$@"; }
else
    within() { shift; "$@"; }
fi
emit() { printf '%s\n' "$*" | tee -a "$results"; }
fail() { say "bench.sh: $*"; exit 1; }

# median VALUE...: the middle value (the lower middle of an even count).
# An argument may hold several values, separated by spaces.
median() {
    printf '%s\n' "$@" | tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

# start_server LOG COMMAND...: starts a server, waits for its ready line (at
# most 5 s, failing early if it died) and sets server_pid and port.
start_server() {
    local log=$1
    shift
    rm -f "$log"    # so the loop below can't read the last server's ready line
    "$@" >"$log" 2>&1 &
    server_pid=$!
    running+=("$server_pid")
    local tries=0
    until grep -q '^listening on ' "$log" 2>/dev/null; do
        kill -0 "$server_pid" 2>/dev/null || fail "server died: $(cat "$log")"
        ((++tries < 500)) || fail "no ready line from $*"
        sleep 0.01
    done
    port=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$log")
}

stop_servers() {
    local pid
    for pid in ${running[@]+"${running[@]}"}; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    running=()
}

medians_of() {
    if ((runs == 1)); then echo "One run (no median)."; else echo "Each figure is the median of $runs runs."; fi
}

machine() {
    local cpu=
    [[ -r /proc/cpuinfo ]] && cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
    [[ -z $cpu ]] && cpu=$(sysctl -n machdep.cpu.brand_string 2>/dev/null || true)
    local cores
    cores=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo '?')
    echo "$(uname -srm), $cores cores${cpu:+, $cpu}"
}

# ---- chapter 2: the price of small reads and writes -------------------------

MIB=1048576

# fixed_length_run SIZE BYTES QUIET: one client moving BYTES through a fresh
# chapter 2 server, every send() and recv() at most SIZE bytes on both sides.
# Messages are 1 MiB (the largest chapter 2 allows), or the whole transfer
# when it is smaller: the client sends one, reads its echo, sends the next.
# Sets run_seconds to the seconds the client took; with QUIET=0 the
# narration is kept in $work/server.err and $work/client.err, for counting.
fixed_length_run() {
    local size=$1 bytes=$2 quiet=$3 msglen=$MIB
    ((bytes < MIB)) && msglen=$bytes
    local messages=$((bytes / msglen)) flags=()
    ((quiet)) && flags=(--quiet)
    head -c "$messages" /dev/zero | tr '\0' '\n' >"$work/input"
    start_server "$work/server.err" "$bin/02-fixed-length" server --port 0 --once \
        --msglen "$msglen" --recv-size "$size" --chunk "$size" ${flags[@]+"${flags[@]}"}
    local status=0
    run_seconds=$( { TIMEFORMAT=%3R; time within 60 "$bin/02-fixed-length" client --port "$port" \
        --msglen "$msglen" --recv-size "$size" --chunk "$size" ${flags[@]+"${flags[@]}"} \
        <"$work/input" >"$work/client.out" 2>"$work/client.err"; } 2>&1 ) || status=$?
    ((status == 0)) || kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" || status=$?
    running=()
    ((status == 0)) || fail "chapter 2 client or server failed (size $size, $bytes bytes): $(tail -3 "$work/client.err")"
    local echoed
    echoed=$(wc -l <"$work/client.out")
    ((echoed == messages)) || fail "chapter 2: $echoed of $messages echoes came back (size $size)"
}

# The bytes a run moves: as many as take about TARGET seconds at the rate the
# pilot run showed, in whole MiB past 1 MiB, at most 64 MiB.
transfer_for() {
    local pilot_bytes=$1 pilot_seconds=$2 target=$3 cap=$4
    awk -v b="$pilot_bytes" -v s="$pilot_seconds" -v t="$target" -v cap="$cap" -v mib=$MIB 'BEGIN {
        want = (s > 0) ? b / s * t : cap
        if (want > cap) want = cap
        if (want < b) want = b
        if (want >= mib) want = int(want / mib) * mib
        else { p = 16384; while (p * 2 <= want) p *= 2; want = p }
        printf "%d\n", want
    }'
}

fixed_length_table() {
    local sizes=(1 16 256 4096 65536) target=0.8 cap=$((64 * MIB))
    ((quick)) && { sizes=(1 256 65536); target=0.05; cap=$MIB; }
    emit ""
    emit "### Chapter 2: the price of small reads and writes"
    emit ""
    emit "bin/02-fixed-length client and server on loopback, echoing 1 MiB messages (smaller when the"
    emit "whole transfer is): every send() and every recv() on both sides at most SIZE bytes"
    emit "(--chunk SIZE --recv-size SIZE), narration off while timed. $(medians_of)"
    emit "System calls: counted from the programs' narration (one line per send() or recv()),"
    emit "on narrated runs of a smaller transfer (as many); \"both\" is client + server, send + recv."
    emit ""
    emit "| send/recv size | MiB per run | MiB/s | 64 MiB takes | recv() per MiB, server | send()+recv() per MiB, both |"
    emit "|---:|---:|---:|---:|---:|---:|"
    # A pilot run per size sets how much its runs move; then the runs take
    # turns (every size once, then every size again), so that a burst of
    # other work on the machine lands on one run of each size, not on all
    # the runs of one.
    local i size run bytes=() count_bytes=() rates=() recvs=() calls=()
    for i in "${!sizes[@]}"; do
        size=${sizes[i]}
        local pilot=$((size * 32768))
        ((pilot > 4 * MIB)) && pilot=$((4 * MIB))
        ((pilot > cap)) && pilot=$cap
        say "fixed-length: size $size, pilot run of $pilot bytes"
        fixed_length_run "$size" "$pilot" 1
        bytes[i]=$(transfer_for "$pilot" "$run_seconds" "$target" "$cap")
        # Narrated runs for counting: about 65536 calls each way, at most 4 MiB.
        local counted=$((size * 16384))
        ((counted < 16384)) && counted=16384
        ((counted > 4 * MIB)) && counted=$((4 * MIB))
        ((counted > bytes[i])) && counted=${bytes[i]}
        count_bytes[i]=$counted
    done
    for ((run = 0; run < runs; run++)); do
        for i in "${!sizes[@]}"; do
            size=${sizes[i]}
            say "fixed-length: size $size, run $((run + 1)) of $runs: ${bytes[i]} bytes"
            fixed_length_run "$size" "${bytes[i]}" 1
            rates[i]+=" $(awk -v b="${bytes[i]}" -v s="$run_seconds" -v mib=$MIB 'BEGIN { printf "%.3f\n", (s > 0 ? b / mib / s : 0) }')"
            fixed_length_run "$size" "${count_bytes[i]}" 0
            local server_recvs all_calls
            server_recvs=$(grep -c '^\[server\] recv(' "$work/server.err" || true)
            all_calls=$(cat "$work/server.err" "$work/client.err" | grep -Ec '^\[[a-z]+\] (send|recv)\(' || true)
            recvs[i]+=" $(awk -v n="$server_recvs" -v b="${count_bytes[i]}" -v mib=$MIB 'BEGIN { printf "%.0f\n", n * mib / b }')"
            calls[i]+=" $(awk -v n="$all_calls" -v b="${count_bytes[i]}" -v mib=$MIB 'BEGIN { printf "%.0f\n", n * mib / b }')"
        done
    done
    for i in "${!sizes[@]}"; do
        local text
        text=$(awk -v size="${sizes[i]}" -v bytes="${bytes[i]}" -v rate="$(median "${rates[i]}")" \
            -v recvs="$(median "${recvs[i]}")" -v calls="$(median "${calls[i]}")" -v mib=$MIB '
            function group(n,   s) { s = sprintf("%d", n); while (s ~ /[0-9][0-9][0-9][0-9]/) sub(/[0-9][0-9][0-9]([,]|$)/, ",&", s); return s }
            BEGIN {
                moved = bytes / mib
                takes = rate > 0 ? 64 / rate : 0
                note = (bytes >= 64 * mib) ? "" : " (est.)"
                printf "| %s | %s | %.2f | %.1f s%s | %s | %s |\n", size,
                    (moved >= 1 ? sprintf("%d", moved) : sprintf("%.3g", moved)), rate, takes, note,
                    group(recvs), group(calls)
            }')
        emit "$text"
    done
    emit ""
    emit "\"(est.)\": 64 MiB would take too long here, so the time is the measured rate applied to 64 MiB."
}

# ---- chapter 1 vs chapter 6: one client at a time, or all at once -----------

# field NAME: the value of NAME=VALUE in $line, loadgen's report.
field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p" <<<"$line"; }

# measure_once NAME PID PORT CLIENTS ROUNDS: one loadgen run against a
# running server; sets line to its report, after checking that every client
# was served and every round trip came back whole.
measure_once() {
    local name=$1 pid=$2 server_port=$3 clients=$4 rounds=$5
    line=$(within 120 "$loadgen" --port "$server_port" --clients "$clients" --rounds "$rounds" \
        --size 32 --leave --server-pid "$pid") || fail "loadgen failed against $name"
    say "  $name: $line"
    local expected=$((clients * rounds))
    [[ $line == *" failed=0 "* && $line == *" refused=0 "* && $line == *" round_trips=$expected "* ]] ||
        fail "$name, $clients clients: expected $expected round trips, every one echoed right: $line"
}

# row NAME CLIENTS ROUNDS RATES P50S P99S WORSTS CPUS: emits one Markdown row
# of medians; each list is space-separated values, one per run.
row() {
    local cpu=n/a
    [[ -n ${8// /} ]] && cpu="$(median "$8") µs"
    local text
    text=$(awk -v name="$1" -v c="$2" -v r="$3" -v rate="$(median "$4")" \
        -v p50="$(median "$5")" -v p99="$(median "$6")" -v worst="$(median "$7")" -v cpu="$cpu" '
        function t(us) { return us >= 1000000 ? sprintf("%.2f s", us / 1e6) : us >= 1000 ? sprintf("%.1f ms", us / 1e3) : sprintf("%.0f µs", us) }
        BEGIN { printf "| %s | %s × %s | %s | %.0f | %s | %s | %s | %s |\n", c, r, c, name, rate, t(p50), t(p99), t(worst), cpu }')
    emit "$text"
}

concurrency_table() {
    local counts=(1 10 100 1000) total=4000
    ((quick)) && { counts=(1 10); total=200; }
    local most=${counts[${#counts[@]} - 1]}
    local wanted=$((most + 64))
    if (($(ulimit -n) < wanted)); then
        ulimit -n "$wanted" 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
    fi
    (($(ulimit -n) >= wanted)) || fail "need ulimit -n $wanted for $most clients; it is $(ulimit -n)"
    local servers=("blocking (ch 1)" "select (ch 6)")
    local commands=("$bin/01-blocking server --port 0 --quiet --backlog 4096"
                    "$bin/06-select server --port 0 --quiet --backlog 4096")
    if [[ -x $here/epoll-echo ]]; then
        servers+=("epoll (yardstick)")
        commands+=("$here/epoll-echo 0")
    else
        say "concurrency: no epoll-echo (epoll is Linux-only): that row is left out"
    fi
    emit ""
    emit "### Chapter 1 vs chapter 6: one client at a time, or all of them at once"
    emit ""
    emit "tests/bench/loadgen: N clients connect at once, then each does ROUNDS 32-byte echo round"
    emit "trips (every byte checked) and leaves; about $total round trips per run. Latency runs from a"
    emit "round trip's first send() to the last byte of its echo, so a client waiting in the"
    emit "backlog counts the wait in its first one. Server CPU: user + system time of the server"
    emit "process (Linux /proc) over the whole run, per round trip. $(medians_of)"
    emit ""
    emit "| clients | rounds × clients | server | round trips/s | p50 | p99 | worst | server CPU per round trip |"
    emit "|---:|---:|---|---:|---:|---:|---:|---:|"
    # For each number of clients, every server runs at once (the idle ones
    # wait in accept() or select()) and the runs take turns: server 1, 2, 3,
    # then 1, 2, 3 again. A burst of other work on the machine then lands on
    # one run of each, not on all the runs of one.
    local clients i run
    for clients in "${counts[@]}"; do
        local rounds=$((total / clients)) pids=() ports=()
        local rates=() p50s=() p99s=() worsts=() cpus=()
        ((rounds < 2)) && rounds=2
        say "concurrency: $clients clients"
        for i in "${!servers[@]}"; do
            # shellcheck disable=SC2086 # the command is words, on purpose
            start_server "$work/server$i.log" ${commands[i]}
            pids[i]=$server_pid
            ports[i]=$port
        done
        for ((run = 0; run < runs; run++)); do
            for i in "${!servers[@]}"; do
                measure_once "${servers[i]}" "${pids[i]}" "${ports[i]}" "$clients" "$rounds"
                rates[i]+=" $(field rt_per_s)"
                p50s[i]+=" $(field p50_us)"
                p99s[i]+=" $(field p99_us)"
                worsts[i]+=" $(field max_us)"
                cpus[i]+=" $(field server_cpu_us_per_rt)"
            done
        done
        for i in "${!servers[@]}"; do
            row "${servers[i]}" "$clients" "$rounds" "${rates[i]}" "${p50s[i]}" "${p99s[i]}" \
                "${worsts[i]}" "${cpus[i]}"
        done
        stop_servers
    done
    emit ""
    emit "The blocking server serves one connection until it closes: the others wait in the"
    emit "backlog, so with many clients most round trips are quick but a client's first one waits"
    emit "for everyone ahead of it (the worst column), and only one client makes progress at a time."
}

# ---- the report --------------------------------------------------------------

started=$SECONDS
emit "## socklab bench"
emit ""
emit "Machine: $(machine). Date: $(date -u '+%Y-%m-%d %H:%M UTC')."
emit "Command: \`$command_line\` (\`make bench\` runs it, and keeps the tables in bench-results.md)."
[[ $what == all || $what == fixed-length ]] && fixed_length_table
[[ $what == all || $what == concurrency ]] && concurrency_table
emit ""
emit "($((SECONDS - started)) s in all.)"
if [[ -n $out ]]; then
    cp "$results" "$out"
    say "bench.sh: tables written to $out"
fi
