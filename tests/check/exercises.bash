# exercises.bash: what tests/exercises.bats and tests/mutants.bats share.
#
# Each check runs as a learner runs it, `make check N`, with the work folder
# and the builds in the test's own folder (SOCKLAB_WORK, SOCKLAB_CHECK_BIN),
# so a learner's work/ is never touched.
#
#   make_check ARGS...            `make check ARGS`, under `run`
#   flat                          $output, folds joined, in lower case
#   exercises, exercise_files CH, number CH    the exercises and their files
#   each_at_once N FUNCTION ITEM...            FUNCTION ITEM for each ITEM, N at once
#   fails MESSAGE                 says why an item failed, and fails it
#   sweep_all                     true with EXERCISES_ALL=1 (see below)
#   running_from PROGRAM          the pids of processes running PROGRAM
#
# `make test` proves the checker on a sample: every starter, one chapter's
# reference through all its claims, the others' through their first,
# one mutant per chapter. EXERCISES_ALL=1 (a step of .ci/run of its own)
# runs every claim of every reference and every mutant. The claims
# themselves run in make test either way, in the chapters' own bats files.
#
# See also: tests/check/check, tests/check/README.md.
# shellcheck disable=SC2154,SC2317  # output comes from bats's run; fails is called by name

ROOT=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
# shellcheck source=../bats-tracing.bash
source "$ROOT/tests/bats-tracing.bash"

setup() {
    export SOCKLAB_WORK=$BATS_TEST_TMPDIR/work SOCKLAB_CHECK_BIN=$BATS_TEST_TMPDIR/bin
    unset SOCKLAB_CHECK_ONLY CHAPTER
}

# running_from (the pids of the processes running a program) and the other
# process helpers.
# shellcheck source=../processes.bash
source "$ROOT/tests/processes.bash"

sweep_all() {
    [[ ${EXERCISES_ALL:-} == 1 ]]
}

# make_check ARGS...: `make check ARGS` as a learner types it, under `run`.
# (make exits 2 whenever the check fails, so tests look for a status other than 0.)
make_check() {
    run make -s --no-print-directory -C "$ROOT" check "$@"
}

# The report with its folded lines joined and in lower case, for matching
# words a fold may split.
flat() {
    tr '\n' ' ' <<<"${output,,}" | tr -s ' '
}

exercises() {
    local dir
    for dir in "$ROOT"/exercises/[0-9][0-9]-*/; do
        compgen -G "$dir*.todo" >/dev/null && basename "$dir"
    done
}

exercise_files() {
    local todo
    for todo in "$ROOT/exercises/$1"/*.todo; do
        todo=${todo##*/}
        echo "${todo%.todo}"
    done
}

number() {
    echo $((10#${1%%-*}))
}

# each_at_once N FUNCTION ITEM...: FUNCTION ITEM for every ITEM, N at a time
# (one more starts as soon as one ends), each in its own work folder, with
# its output kept; all must succeed. The checks mostly wait on sockets and
# timeouts, which overlap well; each runs its claims in one bats run
# (CHECK_JOBS=1), so N checks are N.
each_at_once() {
    local most=$1 function=$2 item i=0 failed=0
    shift 2
    local -a items=()
    for item in "$@"; do
        while (($(jobs -rp | wc -l) >= most)); do wait -n || true; done
        (
            export SOCKLAB_WORK=$BATS_TEST_TMPDIR/$i/work SOCKLAB_CHECK_BIN=$BATS_TEST_TMPDIR/$i/bin
            "$function" "$item" >"$BATS_TEST_TMPDIR/$i.out" 2>&1
            echo $? >"$BATS_TEST_TMPDIR/$i.status"
        ) &
        items+=("$item")
        i=$((i + 1))
    done
    wait
    for i in "${!items[@]}"; do
        [[ $(cat "$BATS_TEST_TMPDIR/$i.status" 2>/dev/null) == 0 ]] && continue
        failed=1
        echo "---- ${items[$i]#"$ROOT"/}: failed"
        cat "$BATS_TEST_TMPDIR/$i.out"
    done
    ((failed == 0 && ${#items[@]} > 0))
}

# fails MESSAGE: says why an item failed, and fails it.
fails() {
    echo "$*"
    echo "$output"
    return 1
}
