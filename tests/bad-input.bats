#!/usr/bin/env bats
# Bad input, for every program and role: each option with the standard bad
# values (derived from each program's --help, expectations in
# tests/bad-input.table), unknown options and roles, extra arguments,
# unresolvable hosts, a port in use. Each must end in exit 2 (usage) or 1
# (runtime) with one line naming the problem: never a crash, a hang or a death
# by signal (status 124 from timeout, or >= 128, fails).
#
# A new option is tested by being in --help; a new chapter by being in bin/.
CHAPTER=01-blocking     # test_helper wants one; the tests loop over every program
load test_helper
load hardening

HOSTILE="$ROOT/build/tools/hostile"
TABLE="$BATS_TEST_DIRNAME/bad-input.table"
# --help's names for values: numbers (I,N,C: a list of them), one word of a
# fixed set, any text. Every option's value name must be in one of them.
NUMERIC_ARGS=" N MS K BYTES SEC I,N,C "
WORD_ARGS=" MODE WHEN "
TEXT_ARGS=" ADDR H TEXT STR "

setup_file() {
    make -s -C "$BATS_TEST_DIRNAME/hostile" >/dev/null
}

# programs: every chapter's binary (bin/NN-topic for each chapters/NN-topic).
programs() {
    local dir
    for dir in "$ROOT"/chapters/[0-9][0-9]-*/; do
        basename "$dir"
    done
}

# roles PROGRAM: the roles its --help lists.
roles() {
    # A role's help that wraps goes on under column 28: not a role.
    "$ROOT/bin/$1" --help | awk '/^roles:/ { on = 1; next } /^$/ { on = 0 } on && !/^   / { print $1 }'
}

# options PROGRAM ROLE: "--option ARG REPEATABLE" per option of the role's
# --help (ARG "-" for a flag; REPEATABLE "repeatable" when its help says so,
# else "-"), --quiet and --help left out.
options() {
    "$ROOT/bin/$1" "$2" --help | awk '
        function flush() { if (name != "") print name, arg, (text ~ /repeatable/ ? "repeatable" : "-"); name = "" }
        /^options:/ { on = 1; next }
        /^$/ { flush(); on = 0 }
        # A help text that wraps goes on under column 28 (common/cli.c, print_wrapped).
        on && /^                           / { text = text $0; next }
        on && $1 ~ /^--/ {
            flush()
            if ($1 == "--quiet" || $1 == "--help") next
            # The option and its value name fill a 24-column field (common/
            # cli.c, print_option_help); past 24, guess from the case.
            left = substr($0, 27, 1) == " " ? substr($0, 3, 24) : $1 " " $2
            n = split(left, word, " ")
            arg = (n > 1 && word[2] ~ /^[A-Z]/) ? word[2] : "-"
            name = $1
            # --step[=call]: a flag that may take =VALUE (common/cli.c, SL_MAYBE).
            sub(/\[=.*/, "", name)
            text = $0
        }
        END { flush() }'
}

# A port where every connect is refused, held (bound, not listening) by the
# hostile helper for this test, so that no other program can listen there.
hold_refusing_port() {
    start_background bound "$HOSTILE" --hold 60 bound
    wait_for_line "$BATS_TEST_TMPDIR/bound.log" '^bound to ' 5
    REFUSING_PORT=$(sed -n 's/^bound to .*://p' "$BATS_TEST_TMPDIR/bound.log")
}

# expectation PROGRAM ROLE OPTION CLASS DEFAULT: sets EXPECT to the table's
# word, or DEFAULT.
declare -gA EXPECTED=()     # -g: bats loads this file inside a function
while read -r program role option class expect _; do
    [[ -z $program || $program == \#* ]] && continue
    EXPECTED["$program $role $option $class"]=$expect
done <"$TABLE"
expectation() {
    local specific="$1 $2 $3 $4" any="* $2 $3 $4"
    EXPECT=${EXPECTED[$specific]:-${EXPECTED[$any]:-$5}}
}

# remember_options PROGRAM ROLE: OPTIONS_OF["PROGRAM ROLE"] is `options`,
# asked once (the loops need it many times).
declare -gA OPTIONS_OF=()
remember_options() {
    [[ -v OPTIONS_OF["$1 $2"] ]] || OPTIONS_OF["$1 $2"]=$(options "$1" "$2")
}

FAILURES=()
CASES=0

# check EXPECT OPTION PROGRAM ROLE ARGS...: runs the case, records a failure.
check() {
    local expect=$1 option=$2 program=$3 role=$4
    shift 4
    local bin="$ROOT/bin/$program" context=() why=""
    case $role in
    server) context=(--port 0) ;;
    client) context=(--host 127.0.0.1 --port "$REFUSING_PORT") ;;
    esac
    CASES=$((CASES + 1))
    local shown="$program $role ${*@Q}"
    ((${#shown} < 200)) || shown="${shown:0:200}..."
    if [[ $expect == valid ]]; then
        why=$(check_valid "$bin" "$role" --quiet "${context[@]}" "$@") ||
            FAILURES+=("$shown: $why")
        return 0
    fi
    local output="" status=0 command=("$bin") out="$BATS_TEST_TMPDIR/case.$program.out"
    [[ -n $role ]] && command+=("$role" --quiet "${context[@]}")    # no role: nothing else
    timeout -k 1 5 "${command[@]}" "$@" </dev/null >"$out" 2>&1 || status=$?
    IFS= read -r -d '' output <"$out" || true
    output=${output%$'\n'}
    local lines=1
    [[ -z $output ]] && lines=0
    [[ $output == *$'\n'* ]] && lines=many
    if ((status == 124 || status >= 128)); then
        why="hung or died by a signal (status $status)"
    elif [[ $expect == usage ]] && ((status != 2)); then
        why="expected exit 2 (usage), got $status"
    elif [[ $expect == runtime ]] && ((status != 1)); then
        why="expected exit 1 (runtime), got $status"
    elif [[ $lines != 1 ]]; then
        why="expected one line, got $lines"
    elif [[ $output != "$program: "* ]]; then
        why="the line does not start with '$program: '"
    elif [[ $expect == usage && $output != *"(try --help)" ]]; then
        why="the usage line does not end with '(try --help)'"
    elif [[ $expect == usage && -n $option && $output != *"$option"* ]]; then
        why="the usage line does not name $option"
    fi
    [[ -z $why ]] || FAILURES+=("$shown: $why: ${output:0:300}")
}

# check_valid BIN ROLE ARGS...: a legitimate value: a server must print its
# ready line (then it is stopped); another role must not exit 2 (usage errors
# come at once) or die, within 0.3 s (still running then is fine: a demo).
check_valid() {
    local log="$BATS_TEST_TMPDIR/valid.${1##*/}.log" pid i status first=""
    : >"$log"
    # The program itself in the background (no timeout(1) between: killed by
    # a test's end, timeout would leave its child running, orphaned).
    "$@" </dev/null >"$log" 2>&1 3>&- &
    pid=$!
    for ((i = 0; i < 100; i++)); do
        IFS= read -r first <"$log" || true
        [[ $first == 'listening on '* ]] && break
        { is_our_child "$pid" && alive "$pid"; } || break
        [[ $2 != server ]] && ((i >= 30)) && break
        nap 0.01
    done
    if is_our_child "$pid" && alive "$pid"; then
        kill -TERM "$pid"
        for ((i = 0; i < 100; i++)); do
            { is_our_child "$pid" && alive "$pid"; } || break
            nap 0.01
        done
        if is_our_child "$pid"; then kill -KILL "$pid" 2>/dev/null; fi
        wait "$pid" || true
        [[ $first == 'listening on '* || $2 != server ]] && return 0
        echo "no ready line within a second: $(head -c 300 "$log")"
        return 1
    fi
    wait "$pid" && status=0 || status=$?
    if ((status == 2 || status >= 124)) || [[ $2 == server ]]; then
        echo "exit $status: $(head -c 300 "$log")"
        return 1
    fi
}

report_failures() {
    echo "# $CASES cases" >&3
    if ((${#FAILURES[@]})); then
        printf '%s\n' "${FAILURES[@]}"
        return 1
    fi
}

# for_every_program FUNCTION: FUNCTION PROGRAM for every program at once (in
# the background, one each: the machine's cores share the hundreds of runs),
# then the cases counted and the failures reported together.
for_every_program() {
    local program pids=() report
    hold_refusing_port
    for program in $(programs); do
        (
            "$1" "$program"
            echo "cases $CASES"
            printf 'failure %s\n' "${FAILURES[@]}"
        ) >"$BATS_TEST_TMPDIR/report.$program" 2>&1 &
        pids+=($!)
    done
    wait "${pids[@]}" || true
    for program in $(programs); do
        report="$BATS_TEST_TMPDIR/report.$program"
        grep -q '^cases ' "$report" ||
            FAILURES+=("$program: the run of its cases stopped early: $(tail -3 "$report")")
        CASES=$((CASES + $(sed -n 's/^cases //p' "$report" | head -1) + 0))
        while IFS= read -r line; do
            [[ $line == 'failure '?* ]] && FAILURES+=("${line#failure }")
        done <"$report"
    done
    report_failures
}

# option_values PROGRAM: every option of every role of PROGRAM, with the
# standard bad values, expected as --help's kind and the table say.
option_values() {
    local program=$1 role option arg class classes default long
    printf -v long '%05000d' 0
    long=${long//0/9}               # 5000 nines
    local -A values=([empty]="" [negative]=-1 [zero]=0 [huge]=99999999999999999999
        [word]=abc.invalid [hex]=0x10 [fraction]=1.5 [wrapping]=17179869185G [long]=$long)
    for role in $(roles "$program"); do
        remember_options "$program" "$role"
        while read -r option arg _; do
            [[ -n $option ]] || continue
            if [[ $arg == - ]]; then
                check usage "$option" "$program" "$role" "$option=1"
                continue
            fi
            check usage "$option" "$program" "$role" "$option"   # the value missing
            if [[ $NUMERIC_ARGS == *" $arg "* ]]; then
                default=usage
                classes="empty negative zero huge word hex fraction wrapping long"
            elif [[ $WORD_ARGS == *" $arg "* ]]; then
                default=usage
                classes="empty negative zero huge word long"
            elif [[ $TEXT_ARGS == *" $arg "* ]]; then
                default=runtime
                classes="empty negative zero huge word long"
            else
                FAILURES+=("$program $role $option: value name '$arg' is in none of NUMERIC_ARGS, WORD_ARGS, TEXT_ARGS of tests/bad-input.bats")
                continue
            fi
            for class in $classes; do
                expectation "$program" "$role" "$option" "$class" "$default"
                check "$EXPECT" "$option" "$program" "$role" "$option" "${values[$class]}"
            done
        done <<<"${OPTIONS_OF["$program $role"]}"
    done
}

@test "bad input: every option of every role, with the standard bad values (from --help)" {
    for_every_program option_values
}

# command_lines PROGRAM: no role, unknown roles and options, extra arguments,
# repeatable options repeated too often, options of another role.
command_lines() {
    local program=$1 role other option arg repeatable synopsis many i
    check usage "" "$program" ""    # no role at all
    check usage "" "$program" no-such-role
    for role in $(roles "$program"); do
        remember_options "$program" "$role"
        check usage --no-such-option "$program" "$role" --no-such-option
        check usage --no-such-option "$program" "$role" --no-such-option=3
        synopsis=$("$ROOT/bin/$program" "$role" --help | sed -n 's/^usage: //p')
        if [[ $synopsis != *'...'* ]]; then
            # Roles taking one argument at most: two are one too many.
            [[ $synopsis == *'['* ]] && check usage "" "$program" "$role" one two
            [[ $synopsis == *'['* ]] || check usage "" "$program" "$role" extra
        fi
        # A repeatable option given more times than the program keeps.
        while read -r option arg repeatable; do
            [[ $repeatable == repeatable ]] || continue
            many=()
            for ((i = 0; i < 200; i++)); do
                many+=("$option" "x$i")
            done
            check usage "$option" "$program" "$role" "${many[@]}"
        done <<<"${OPTIONS_OF["$program $role"]}"
        # An option of another role is refused, naming it.
        for other in $(roles "$program"); do
            [[ $other == "$role" ]] && continue
            remember_options "$program" "$other"
            while read -r option arg _; do
                [[ -n $option ]] || continue
                [[ $'\n'${OPTIONS_OF["$program $role"]}$'\n' == *$'\n'"$option "* ]] && continue
                if [[ $arg == - ]]; then
                    check usage "$option" "$program" "$role" "$option"
                else
                    check usage "$option" "$program" "$role" "$option" 1
                fi
            done <<<"${OPTIONS_OF["$program $other"]}"
        done
    done
}

@test "bad input: no role, unknown roles and options, options of another role, extra arguments, too many repeats" {
    for_every_program command_lines
}

# Positional arguments that are wrong, chapter by chapter: "PROGRAM|ROLE|ARGS".
POSITIONAL_ROWS=(
    "03-byte-order|show|abc"
    "03-byte-order|show|99999999999999999999"
    "03-byte-order|client|abc"
    "03-byte-order|client|99999999999999999999"
    "03-byte-order|client|1 2x 3"
    "04-shutdown|demo|no-such-scenario"
    "06-select|demo|no-such-scene"
    "07-poll-epoll|demo|no-such-scene"
)

@test "bad input: wrong positional arguments (numbers that aren't, scenarios that don't exist)" {
    local row program role args
    hold_refusing_port
    for row in "${POSITIONAL_ROWS[@]}"; do
        IFS='|' read -r program role args <<<"$row"
        read -r -a args <<<"$args"
        check usage "" "$program" "$role" "${args[@]}"
    done
    report_failures
}

@test "bad input: unresolvable names, for every server's --bind and every client's --host" {
    local program role
    hold_refusing_port
    for program in $(programs); do
        for role in $(roles "$program"); do
            options "$program" "$role" | grep -q '^--bind ' &&
                check runtime "" "$program" "$role" --bind no-such-host.invalid
            options "$program" "$role" | grep -q '^--host ' &&
                check runtime "" "$program" "$role" --host no-such-host.invalid
        done
    done
    ((CASES > 0))
    report_failures
    # The one line names the call and the name that failed.
    run timeout 5 "$ROOT/bin/01-blocking" client --quiet --host no-such-host.invalid
    [[ $output == *getaddrinfo*no-such-host.invalid* ]]
}

@test "bad input: a port in use, for every server" {
    local program
    for program in $(programs); do
        roles "$program" | grep -qx server || continue
        BIN="$ROOT/bin/$program"
        start_server --quiet
        run -1 timeout 5 "$BIN" server --quiet --port "$PORT"
        [[ ${#lines[@]} -eq 1 && $output == "$program: "*"EADDRINUSE"* ]] ||
            FAILURES+=("$program server --port $PORT (in use): $output")
        CASES=$((CASES + 1))
        stop_process "$SERVER_PID"
    done
    report_failures
}

@test "bad input: every row of bad-input.table names an option of a program here (or one to come)" {
    local key program role option class stale=() found p
    for key in "${!EXPECTED[@]}"; do
        read -r program role option class <<<"$key"
        [[ $program == '*' || -d $ROOT/chapters/$program ]] || continue   # not merged yet
        [[ " empty negative zero huge word long hex fraction wrapping " == *" $class "* ]] ||
            stale+=("$key: no class '$class'")
        found=0
        for p in $(programs); do
            [[ $program == '*' || $program == "$p" ]] || continue
            remember_options "$p" "$role" 2>/dev/null || continue
            [[ $'\n'${OPTIONS_OF["$p $role"]} == *$'\n'"$option "* ]] && found=1
        done
        ((found)) || stale+=("$key: no program here has $role $option")
    done
    if ((${#stale[@]})); then
        printf '%s\n' "${stale[@]}"
        return 1
    fi
}
