# processes.bash: waiting and signalling without hitting another's process,
# for tests/test_helper.bash and tests/lesson-runner.bash (which is a script
# of its own, run outside bats). Plain bash: nothing of bats here.
#
#   nap SECONDS                 a pause that starts no process
#   is_our_child PID [running]  PID is still this shell's child (and not a zombie)

# nap SECONDS: `read` with a timeout on a pipe that never has data. The
# polling loops run thousands of times a suite, and a `sleep` (and a `grep`)
# each time cost more CPU than the tests.
if { exec {NAP_FD}<> <(:); } 2>/dev/null; then
    # A read that fails at once (the descriptor was closed) falls back to sleep.
    nap() {
        local rc=0
        read -r -t "$1" -u "$NAP_FD" _ 2>/dev/null || rc=$?
        ((rc > 128)) || sleep "$1"
    }
else
    nap() { sleep "$1"; }
fi

# is_our_child PID [running]: true while PID is a child of this shell not yet
# reaped (with "running": and not a zombie). Bash reaps a background job as
# soon as it ends, and the kernel may then give its pid to any process (pids
# wrap at 32768 here, and a suite starts more than that): a pid is signalled
# only while it is ours.
is_our_child() {
    local stat state ppid
    if [[ -d /proc/self ]]; then
        { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
        read -r state ppid _ <<<"${stat##*) }"
    else
        read -r state ppid < <(ps -o stat= -o ppid= -p "$1" 2>/dev/null) || return 1
    fi
    [[ $ppid == "$BASHPID" && (${2:-} != running || $state != Z*) ]]
}
