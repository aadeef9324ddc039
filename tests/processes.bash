# processes.bash: waiting and signalling without hitting another's process,
# for tests/test_helper.bash and tests/lesson-runner.bash (which is a script
# of its own, run outside bats). Plain bash: nothing of bats here.
#
#   nap SECONDS                 a pause that starts no process
#   is_our_child PID [running]  PID is still this shell's child (and not a zombie)
#   process_table               "pid state ppid pgid" for every process
#   descendants PID             every process below PID
#   end_tree PID                PID and every process below it get SIGTERM
#   running_from PROGRAM        the pids of the processes running PROGRAM

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

# process_table: "pid state ppid pgid" for every process, from /proc.
process_table() {
    local stat pid rest
    for stat in /proc/[0-9]*/stat; do
        { read -r pid rest <"$stat"; } 2>/dev/null || continue
        read -r -a rest <<<"${rest##*) }"
        echo "$pid ${rest[0]} ${rest[1]} ${rest[2]}"
    done
}

# descendants PID: every process below PID.
descendants() {
    local -A parent=()
    local pid ppid
    while read -r pid _ ppid _; do
        parent[$pid]=$ppid
    done < <(process_table)
    local -a queue=("$1")
    while ((${#queue[@]})); do
        local p=${queue[0]}
        queue=("${queue[@]:1}")
        for pid in "${!parent[@]}"; do
            [[ ${parent[$pid]} == "$p" ]] && { echo "$pid"; queue+=("$pid"); }
        done
    done
    return 0
}

# end_tree PID: SIGTERM to PID and to every process below it, found first
# (a process whose parent is gone is no longer below it), stopped ones
# continued first (a stopped process can't act on SIGTERM).
end_tree() {
    local pid
    for pid in $(descendants "$1") "$1"; do
        kill -CONT "$pid" 2>/dev/null
        kill -TERM "$pid" 2>/dev/null
    done
    return 0
}

# running_from PROGRAM: the pids of the processes running the file PROGRAM
# (a full path), if any: the file itself (-ef: the same inode), or the one
# that was there when they started, since linked again (" (deleted)" in
# /proc/PID/exe), which they started as PROGRAM. Read by bash alone: a
# readlink per process would be hundreds of processes per call.
running_from() {
    local exe arg0 pid
    for exe in /proc/[0-9]*/exe; do
        pid=${exe#/proc/}
        pid=${pid%/exe}
        if [[ $exe -ef $1 ]]; then
            echo "$pid"
        elif { IFS= read -r -d '' arg0 <"/proc/$pid/cmdline"; } 2>/dev/null && [[ $arg0 == "$1" ]]; then
            echo "$pid"
        fi
    done
    return 0
}
