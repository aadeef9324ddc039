# hook.bash: what `make check` keeps of each test it runs, for its report.
#
# tests/test_helper.bash sources this file when SOCKLAB_CHECK_HOOK names it
# (tests/check/check sets it, with SOCKLAB_CHECK_RECORD, a folder). For each
# test it writes a file in $SOCKLAB_CHECK_RECORD: first "test: NAME", then the
# last `run` (command, status, the start of its output), then, at teardown,
# how the newest server ended and the end of its log. The report
# shows these as "what came" and reads its symptoms from them. Tests run
# without the hook are untouched.
#
# See also: tests/check/check (reads the records), tests/test_helper.bash.

# Each test runs in a process of its own: CHECK_RECORD is set once per test.
check_record_file() {
    if [[ -z ${CHECK_RECORD:-} ]]; then
        CHECK_RECORD=$(mktemp "$SOCKLAB_CHECK_RECORD/record.XXXXXX")
        printf 'test: %s\n' "$BATS_TEST_DESCRIPTION" >"$CHECK_RECORD"
    fi
}

# bats's run, renamed, so the wrapper below can note what each run gave.
eval "$(declare -f run | sed '1s/^run /check_original_run /')"
# shellcheck disable=SC2154  # status, output, stderr: set by bats's run
run() {
    local run_status=0
    check_original_run "$@" || run_status=$?
    check_record_file
    # What ran, as the learner would type it: bats's own flags left out.
    local -a command=("$@")
    while [[ ${command[0]:-} == -* || ${command[0]:-} == '!' ]]; do command=("${command[@]:1}"); done
    [[ ${command[0]:-} == client ]] && command=("${BIN##*/}" client --port "${PORT:-?}" "${command[@]:1}")
    {
        printf 'ran: %s\n' "${command[*]}"
        printf 'status: %s\n' "${status:-}"
        printf 'output:\n'
        printf '%s\n' "${output:0:1500}" | head -n 12
        if [[ -n ${stderr:-} ]]; then
            printf 'stderr:\n'
            printf '%s\n' "${stderr:0:1500}" | head -n 12
        fi
        printf 'end of run\n'
    } >"$CHECK_RECORD.run"
    return "$run_status"
}

eval "$(declare -f teardown | sed '1s/^teardown /check_original_teardown /')"
teardown() {
    check_record_file
    if [[ -f $CHECK_RECORD.run ]]; then
        cat "$CHECK_RECORD.run" >>"$CHECK_RECORD"
    fi
    if [[ -n ${SERVER_PID:-} ]]; then
        local end state=''
        # Only a zombie is waited for: a wait on a live server would hang.
        [[ -r /proc/$SERVER_PID/stat ]] && state=$(sed 's/.*) //' "/proc/$SERVER_PID/stat" | cut -c1)
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            end="ended (already reaped by the test)"
        elif [[ $state != Z ]]; then
            end="still running"
        else
            end=0
            wait "$SERVER_PID" 2>/dev/null || end=$?
            if ((end > 128)); then
                end="killed by signal $((end - 128)) ($(kill -l $((end - 128)) 2>/dev/null))"
            else
                end="exited with status $end"
            fi
        fi
        {
            printf 'server: %s\n' "$end"
            printf 'server log (the last lines):\n'
            tail -n 15 "$SERVER_LOG" 2>/dev/null | cut -c1-200
        } >>"$CHECK_RECORD"
    fi
    check_original_teardown "$@"
}
