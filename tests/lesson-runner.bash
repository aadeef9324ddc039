#!/usr/bin/env bash
# lesson-runner.bash: runs every command a lesson (a chapter's README.md) shows,
# and checks that what comes out is what the lesson says comes out.
#
# Usage: unshare -rn tests/lesson-runner.bash chapters/NN-topic/README.md
#
# It runs in a private network namespace (unshare -rn: a new user and network
# namespace, with only its own loopback), so the lesson's commands run exactly
# as written, default ports included, without meeting anything else on the
# machine. The rules a lesson is written to:
#
#   - Every command is in a ```console block, as `$ command`; a trailing `\`
#     continues it on the next line. A `$ ` line anywhere else is an error.
#   - The lines after a command, up to the next `$ `, are its output (stdout
#     and stderr together, as a terminal shows them). `…` in a line stands for
#     any text; a line that is only `…` stands for any number of lines.
#   - `bin/NN-topic server ...` is what the reader runs in a terminal of its
#     own: it runs in the background, and the next commands go on once it has
#     printed its ready line. Its output shown in the lesson is checked against
#     the start of what it printed, when the next server starts (the reader
#     pressed Ctrl-C: it gets SIGTERM, as a background job of a script ignores
#     SIGINT) or when the lesson ends. A server that
#     exits before its ready line (a lesson showing a failure) is treated like
#     any other command.
#   - A command ending in `&` is another terminal left running (a client kept
#     connected): it runs in the background, and the lesson goes on once its
#     output starts with the lines the lesson shows for it. It is stopped when
#     the lesson ends.
#   - A command must exit 0, unless the next command is `echo $?`, which then
#     shows (and so checks) its status.
#   - Commands run from the top of the repository, each under a time limit.
set -uo pipefail
export LC_ALL=C

lesson=$1
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=$(mktemp -d)
command_timeout=${LESSON_COMMAND_TIMEOUT:-60}
failures=0
last_status=0
server_pid=
server_log=
server_expected=()
server_command=

background_pids=()

# nap and is_our_child (tests/processes.bash): this script signals only
# its own children, and polls without starting processes.
# shellcheck source=processes.bash
source "$(dirname "${BASH_SOURCE[0]}")/processes.bash"

cleanup() {
    local pid
    for pid in "$server_pid" "${background_pids[@]}"; do
        [[ -n $pid ]] && is_our_child "$pid" && kill -KILL "$pid" 2>/dev/null
        [[ -n $pid ]] && wait "$pid" 2>/dev/null
    done
    rm -rf "$work"
}
trap cleanup EXIT

fail() {
    echo "LESSON FAILURE: $*"
    failures=$((failures + 1))
}

# line_matches PATTERN TEXT: one line, where … in PATTERN matches any text.
line_matches() {
    local pattern=$1 text=$2
    pattern=${pattern//\\/\\\\}
    pattern=${pattern//\*/\\*}
    pattern=${pattern//\?/\\?}
    pattern=${pattern//\[/\\[}
    pattern=${pattern//…/*}
    # shellcheck disable=SC2053  # the right side is a pattern on purpose
    [[ $text == $pattern ]]
}

# output_matches EXPECTED_FILE ACTUAL_FILE: the lines of ACTUAL match those of
# EXPECTED, where an expected line that is only … matches any number of lines
# (a wildcard match over lines, backtracking to the last … on a mismatch).
output_matches() {
    local -a expected=() actual=()
    mapfile -t expected <"$1"
    mapfile -t actual <"$2"
    expected=("${expected[@]%"${expected[@]##*[! ]}"}")
    local ne=${#expected[@]} na=${#actual[@]} i=0 j=0 star=-1 mark=0
    while ((j < na)); do
        local text=${actual[j]%"${actual[j]##*[! ]}"}
        if ((i < ne)) && [[ ${expected[i]} != "…" ]] && line_matches "${expected[i]}" "$text"; then
            i=$((i + 1)) j=$((j + 1))
        elif ((i < ne)) && [[ ${expected[i]} == "…" ]]; then
            star=$i mark=$j i=$((i + 1))
        elif ((star >= 0)); then
            i=$((star + 1)) mark=$((mark + 1)) j=$mark
        else
            return 1
        fi
    done
    while ((i < ne)) && [[ ${expected[i]} == "…" ]]; do i=$((i + 1)); done
    ((i == ne))
}

# check_output WHAT EXPECTED_LINES_FILE ACTUAL_FILE
check_output() {
    if ! output_matches "$2" "$3"; then
        fail "output of: $1"
        echo "--- the lesson says:"
        sed 's/^/    /' "$2"
        echo "--- it printed:"
        sed 's/^/    /' "$3"
    fi
}

is_server_command() {
    [[ $1 =~ ^bin/[0-9][0-9]-[a-z0-9-]+\ server($|\ ) && $1 != *[\|\;\&\<\>]* ]]
}

# stop_server: the reader's Ctrl-C, once the server's terminal shows what the
# lesson shows (a reader looks before pressing it; a server on a busy machine
# may still be narrating a client that has already exited: 10 s at most);
# then the server's shown output is checked against the start of what it
# printed.
stop_server() {
    [[ -z $server_pid ]] && return
    printf '%s\n' "${server_expected[@]}" "…" >"$work/expected"
    local i
    for ((i = 0; i < 500; i++)); do
        output_matches "$work/expected" "$server_log" && break
        is_our_child "$server_pid" running || break
        nap 0.02
    done
    is_our_child "$server_pid" && kill -TERM "$server_pid" 2>/dev/null
    for ((i = 0; i < 250; i++)); do
        is_our_child "$server_pid" running || break
        nap 0.02
    done
    is_our_child "$server_pid" && kill -KILL "$server_pid" 2>/dev/null
    wait "$server_pid" 2>/dev/null
    check_output "$server_command (the server's terminal)" "$work/expected" "$server_log"
    server_pid=
}

# start_server COMMAND: 0 when it printed its ready line; 1 when it exited
# first (its output is then in $work/actual and its status in last_status).
start_server() {
    stop_server
    server_log="$work/server.$RANDOM.log"
    server_command=$1
    : >"$server_log"
    bash -c "$1" >"$server_log" 2>&1 3>&- </dev/null &
    server_pid=$!
    local i
    for ((i = 0; i < 500; i++)); do
        if grep -q '^listening on ' "$server_log"; then
            return 0
        fi
        if ! kill -0 "$server_pid" 2>/dev/null; then
            wait "$server_pid"
            last_status=$?
            server_pid=
            cp "$server_log" "$work/actual"
            return 1
        fi
        nap 0.02
    done
    fail "$1: no ready line within 10 s"
    return 0
}

# start_background COMMAND EXPECTED...: runs "COMMAND &" in a terminal of its own
# and waits (10 s at most) until its output starts with the EXPECTED lines.
start_background() {
    local command=${1%&} log="$work/background.$RANDOM.log" i
    shift
    : >"$log"
    bash -c "$command" >"$log" 2>&1 3>&- </dev/null &
    background_pids+=($!)
    printf '%s\n' "$@" "…" >"$work/expected"
    for ((i = 0; i < 500; i++)); do
        output_matches "$work/expected" "$log" && return
        nap 0.02
    done
    check_output "$command &" "$work/expected" "$log"
}

run_foreground() {
    timeout "$command_timeout" bash -c "(exit $last_status); $1" >"$work/actual" 2>&1 3>&- </dev/null
    last_status=$?
    if ((last_status == 124)); then
        fail "$1: still running after $command_timeout s"
    fi
}

# run_command COMMAND EXPECTED_LINES... NEXT_COMMAND: runs one command of the lesson.
run_command() {
    local command=$1 next=$2
    shift 2
    local -a shown=("$@")
    while ((${#shown[@]} > 0)) && [[ -z ${shown[-1]// /} ]]; do
        unset 'shown[-1]'
    done
    set -- "${shown[@]}"
    echo "\$ $command"
    if [[ $command =~ [^\&]\&[[:space:]]*$ ]]; then
        start_background "$command" "$@"
        return
    fi
    if is_server_command "$command" && start_server "$command"; then
        server_expected=("$@")
        return
    fi
    is_server_command "$command" || run_foreground "$command"
    if (($# > 0)); then printf '%s\n' "$@"; fi >"$work/expected"
    check_output "$command" "$work/expected" "$work/actual"
    if ((last_status != 0)) && [[ $next != 'echo $?' ]]; then
        fail "$command: exited $last_status (follow it with \`echo \$?\` if that is the lesson)"
        sed 's/^/    /' "$work/actual"
    fi
}

# The commands of the lesson, in order: "cmd<US>expected<US>expected..." per line of $work/commands.
extract_commands() {
    local in_block=0 fence_lang= line command= continuing=0 number=0
    local -a entries=()
    local current=
    while IFS= read -r line || [[ -n $line ]]; do
        number=$((number + 1))
        if [[ $line =~ ^\`\`\`(.*)$ ]]; then
            if ((in_block)); then
                in_block=0
                [[ -n $current ]] && entries+=("$current")
                current=
            else
                in_block=1
                fence_lang=${BASH_REMATCH[1]}
            fi
            continue
        fi
        if ((in_block)) && [[ $fence_lang == console ]]; then
            if ((continuing)); then
                command+=$'\n'"$line"
                [[ $line == *\\ ]] || { continuing=0; current=$command; }
                continue
            fi
            if [[ $line == '$ '* ]]; then
                [[ -n $current ]] && entries+=("$current")
                command=${line#\$ }
                if [[ $command == *\\ ]]; then
                    continuing=1
                    current=
                else
                    current=$command
                fi
            elif [[ -n $current ]]; then
                current+=$'\x1f'"$line"
            fi
        elif [[ $line =~ ^[[:space:]]*\$\  ]]; then
            fail "line $number: a command outside a \`\`\`console block: $line"
        fi
    done <"$lesson"
    printf '%s\0' "${entries[@]}" >"$work/commands"
}

# A fresh terminal has only stdin, stdout and stderr open: so must the lesson's
# commands, or the descriptor numbers in the narration would differ.
for fd_path in /proc/$$/fd/*; do
    fd=${fd_path##*/}
    ((fd > 2)) && eval "exec $fd>&-" 2>/dev/null
done

cd "$root" || exit 1
ip link set lo up || { echo "lesson-runner: cannot bring up loopback in the namespace"; exit 1; }
extract_commands
mapfile -d '' -t entries <"$work/commands"
if ((${#entries[@]} == 0)); then
    fail "no \`\`\`console commands in $lesson"
fi
commands_run=0
for ((k = 0; k < ${#entries[@]}; k++)); do
    IFS=$'\x1f' read -r -d '' -a parts < <(printf '%s\0' "${entries[k]}")
    next=
    if ((k + 1 < ${#entries[@]})); then
        next=${entries[k + 1]%%$'\x1f'*}
    fi
    run_command "${parts[0]}" "$next" "${parts[@]:1}"
    commands_run=$((commands_run + 1))
done
stop_server
echo "lesson-runner: ${#entries[@]} commands, $commands_run run, $failures failures"
# A runner that stopped early must not pass: every command must have been run.
((failures == 0 && commands_run == ${#entries[@]}))
