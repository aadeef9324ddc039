# claims.bash: helpers for the claim tests that judge exercises (`make check`).
#
# The chapters' bats files load this in their "claims judged by make check"
# block (appended at the end of each tests/NN-topic.bats). Those tests run
# in `make test` like every other test, against bin/NN-topic, and in
# `make check` against the learner's build. A test that fails says so in
# lines the checker reads:
#
#   symptom: NAME      one of the symptoms the hints are keyed to (see hints)
#   expected: TEXT     what the claim needs
#   came: TEXT         what happened instead
#
#   claim_failed SYMPTOM EXPECTED CAME   prints those three lines (no symptom line
#                                        for an empty SYMPTOM), returns 1
#   open_descriptors PID                 how many descriptors PID holds (Linux /proc)
#   cpu_seconds PID                      user + system CPU time PID has used, in seconds
#   proc_or_skip                         skips, saying why, without /proc/PID/fd and stat
#   short_send_library                   builds tests/check/short-send.c once per file;
#                                        prints the path of the .so (LD_PRELOAD it)
#   short_send_bin LOG                   a script that runs $BIN with the library preloaded
#                                        (3 bytes a send, logged to LOG): BIN=$(...) start_server
#   short_send_loaded LOG                true when the library was loaded (its log says so)
#   short_sends_seen LOG                 true once the library shortened a send
#   byte_reversed N [BYTES]              N with its 8 (or 4) bytes in the other order
#
# See also: tests/check/check, tests/check/hints, tests/check/short-send.c.

claim_failed() {
    [[ -z $1 ]] || printf 'symptom: %s\n' "$1"
    printf 'expected: %s\ncame: %s\n' "$2" "$3"
    return 1
}

proc_or_skip() {
    [[ -r /proc/self/stat && -d /proc/self/fd ]] ||
        skip "no /proc here: descriptors and CPU time are read from /proc/PID (Linux)"
}

open_descriptors() {
    local fds=("/proc/$1/fd/"*)
    echo "${#fds[@]}"
}

# Fields 14 and 15 of /proc/PID/stat, after the command name in parentheses
# (which may itself hold spaces): user and system time in clock ticks.
cpu_seconds() {
    local stat ticks
    stat=$(cat "/proc/$1/stat") || return 1
    stat=${stat##*) }
    ticks=$(getconf CLK_TCK)
    # shellcheck disable=SC2086  # the fields are meant to split
    set -- $stat
    awk -v u="${12}" -v s="${13}" -v t="$ticks" 'BEGIN { printf "%.2f\n", (u + s) / t }'
}

short_send_library() {
    local library=$BATS_FILE_TMPDIR/short-send.so
    if [[ ! -f $library ]]; then
        ${CC:-cc} -shared -fPIC -o "$library.tmp" "$ROOT/tests/check/short-send.c" >&2 ||
            return 1
        mv "$library.tmp" "$library"
    fi
    echo "$library"
}

# Only the program gets the library: the test's own tools (mktemp, grep) may be
# built for another C library than the chapter (musl-gcc), and must not load it.
short_send_bin() {
    local library wrapper=$BATS_TEST_TMPDIR/short-send-bin
    library=$(short_send_library) || return 1
    cat >"$wrapper" <<WRAPPER
#!/bin/sh
# ASan wants to be first in the list of libraries: here it can't be.
ASAN_OPTIONS=\${ASAN_OPTIONS:+\$ASAN_OPTIONS:}verify_asan_link_order=0
LD_PRELOAD='$library' SOCKLAB_SHORT_SEND=3 SOCKLAB_SHORT_SEND_LOG='$1'
export ASAN_OPTIONS LD_PRELOAD SOCKLAB_SHORT_SEND SOCKLAB_SHORT_SEND_LOG
exec '$BIN' "\$@"
WRAPPER
    chmod +x "$wrapper"
    echo "$wrapper"
}

short_send_loaded() {
    grep -qx loaded "$1" 2>/dev/null
}

short_sends_seen() {
    grep -q '^send(' "$1" 2>/dev/null
}

# byte_reversed N [BYTES]: the integer whose BYTES (8, or 4) bytes are N's in
# the other order, as a signed number: what N turns into when one side
# forgets htonl()/ntohl().
byte_reversed() {
    local bytes=${2:-8} hex reversed='' i
    printf -v hex '%016x' "$1"          # bash prints a negative in two's complement
    hex=${hex:16-2*bytes}
    for ((i = 2 * bytes - 2; i >= 0; i -= 2)); do reversed+=${hex:i:2}; done
    echo $((16#$reversed))
}
