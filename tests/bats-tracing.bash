# bats-tracing.bash: where a failing test failed, found only when it fails.
#
# bats-core records a stack trace before every command a test runs (a DEBUG
# trap), so that it can name the failing line. That is a dozen bash commands
# for each of ours: measured over the whole suite here, 40 of its 130 CPU
# seconds. Loaded by test_helper.bash and check/exercises.bash, this keeps
# bats's report and takes the trace at the one moment it is needed: the
# failing command, in bats's own ERR trap. The report names the same function,
# file and line as before; only a failing teardown and a timeout lose the
# line (the test still fails, with bats's message).
#
# `bats --trace` (-x) prints every command through that DEBUG trap: with it,
# bats traces as it always does. So does a bats whose tracing functions are
# not the ones named here (they are bats internals, of 1.5 to 1.x).
if declare -F bats_setup_tracing bats_capture_stack_trace bats_error_trap >/dev/null; then
    eval "bats_setup_tracing_per_command() $(declare -f bats_setup_tracing | tail -n +2)"
    bats_setup_tracing() {
        bats_setup_tracing_per_command
        ((${BATS_TRACE_LEVEL:-0} > 0)) && return
        trap - DEBUG
        # what the trap caught while it was being set is not the test's
        BATS_DEBUG_LAST_STACK_TRACE=() BATS_DEBUG_LASTLAST_STACK_TRACE=()
        trap 'trace_failing_command "$?"; bats_error_trap' ERR
    }
    # trace_failing_command STATUS: the stack of the first failing command,
    # as bats's DEBUG trap would have caught it, and its STATUS where bats's
    # handler looks for it (that handler reads $?, which is this function's:
    # returning STATUS instead would be one more failure, inside the trap).
    trace_failing_command() {
        [[ -n ${BATS_DEBUG_LAST_STACK_TRACE_IS_VALID:-} ]] || bats_capture_stack_trace
        [[ -n ${BATS_TEST_COMPLETED:-} ]] || BATS_ERROR_STATUS=${BATS_ERROR_STATUS:-$1}
        return 0
    }
fi
