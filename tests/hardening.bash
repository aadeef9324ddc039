# hardening.bash: what tests/hostile.bats and tests/bad-input.bats share: the
# table of servers and clients they torment, and a few probes of /proc.
#
# A new chapter (or a new server mode) is tested by adding a row below; a
# chapter directory with no row fails the first test of hostile.bats, naming
# it, and rows of a chapter not here yet are left out. (bad-input.bats needs
# no row: it reads each program's --help.)
# A role that shows SIGPIPE killing it on purpose (chapter 5) keeps that
# behind an option: its default, the one in these rows, ignores SIGPIPE.

# ALL_SERVER_ROWS: "CHAPTER|SERVER ARGS|GOOD CLIENT ARGS|WHAT IT PRINTS|KIND"
#   KIND: iterative (one client at a time, by design: chapters 1-4) or
#   concurrent (must keep serving others while a hostile peer stays).
#   SERVER ARGS that are not defaults say why in a comment.
ALL_SERVER_ROWS=(
    "01-blocking||--message hello|hello|iterative"
    "02-fixed-length||--message hello|hello|iterative"
    "03-byte-order||1 2 3|6|iterative"
    "03-byte-order|--text|--text 1 2 3|6|iterative"
    # --max-payload 1M: this server keeps a message whole by design (it looks
    # for the marker in it), up to its limit; the test holds it to that limit.
    "04-shutdown|--max-payload 1M|hello|hellohello|iterative"
    "04-shutdown|--length-prefix --max-payload 1M|--length-prefix hello|hellohello|iterative"
    "05-dead-peers||--message hello|answer: hello|iterative"
    "06-select||--message hello|hello|concurrent"
    # chapter 7: chapter 6's server waiting with poll, and with epoll (its default)
    "07-poll-epoll|--loop poll|--message hello|hello|concurrent"
    "07-poll-epoll||--message hello|hello|concurrent"
)

# ALL_CLIENT_ROWS: "CHAPTER|CLIENT ARGS": every client, with arguments that make it
# write as much as it can (to a server that already hung up, in the SIGPIPE
# test; to one that answers garbage, in the hostile-server test).
ALL_CLIENT_ROWS=(
    "01-blocking|--message one --message two"
    "02-fixed-length|--chunk 1 --message hello"
    "03-byte-order|1 2 3"
    "03-byte-order|--text 1 2 3"
    "04-shutdown|hello"
    "04-shutdown|--length-prefix hello"
    "05-dead-peers|--message hello"   # --no-sigpipe-ignore shows SIGPIPE on purpose: not here
    "06-select|--bytes 1M"
    "07-poll-epoll|--bytes 1M"
)

# present_rows NAME: the rows of the array NAME whose chapter is in chapters/.
present_rows() {
    local -n rows=$1
    local row
    for row in "${rows[@]}"; do
        [[ -d $ROOT/chapters/${row%%|*} ]] && printf '%s\n' "$row"
    done
}

# The rows used: those of the chapters present.
mapfile -t SERVER_ROWS < <(present_rows ALL_SERVER_ROWS)
mapfile -t CLIENT_ROWS < <(present_rows ALL_CLIENT_ROWS)

# split_row ROW: sets R_CHAPTER, R_SERVER_ARGS, R_CLIENT_ARGS, R_EXPECT, R_KIND
# (the args as arrays), and R_LABEL to name the row in failures.
split_row() {
    local server_args client_args
    IFS='|' read -r R_CHAPTER server_args client_args R_EXPECT R_KIND <<<"$1"
    R_LABEL="$R_CHAPTER server${server_args:+ $server_args}"
    read -r -a R_SERVER_ARGS <<<"$server_args"
    read -r -a R_CLIENT_ARGS <<<"$client_args"
}

# every_chapter_has_a_row: fails naming each chapters/NN-* with no SERVER_ROWS entry.
every_chapter_has_a_row() {
    local dir chapter row missing=()
    for dir in "$ROOT"/chapters/[0-9][0-9]-*/; do
        chapter=$(basename "$dir")
        for row in "${SERVER_ROWS[@]}"; do
            [[ $row == "$chapter|"* ]] && continue 2
        done
        missing+=("$chapter")
    done
    if ((${#missing[@]})); then
        echo "no row in tests/hardening.bash SERVER_ROWS for: ${missing[*]}"
        return 1
    fi
}

# fd_count PID: how many descriptors the process has open.
fd_count() {
    local fds=("/proc/$1/fd/"*)
    echo "${#fds[@]}"
}

# memory_kb PID FIELD: VmRSS or VmHWM (the peak) of PID, in kB.
memory_kb() {
    awk -v field="$2:" '$1 == field { print $2 }' "/proc/$1/status"
}

# ignores_sigpipe PID: true when PID's signal disposition for SIGPIPE (13) is
# SIG_IGN, read from the SigIgn mask of /proc/PID/status (bit 12).
ignores_sigpipe() {
    local mask
    mask=$(awk '$1 == "SigIgn:" { print $2 }' "/proc/$1/status") || return 1
    [[ -n $mask ]] && (((16#$mask >> 12) & 1))
}

# alive PID: true while PID runs (not a zombie), read from /proc without a fork.
alive() {
    local stat
    read -r stat 2>/dev/null <"/proc/$1/stat" || return 1
    stat=${stat##*) }
    [[ ${stat:0:1} != Z ]]
}
