#!/usr/bin/env bats
# exercises.bats: the exercises (`make check`) judge rightly, and keep the learner's work.
#
# Every starter builds without a warning and fails its check; every chapter's
# own lesson file passes it; every mutant (a lesson file with one classic
# mistake, tests/mutants/) fails it with the hint that names the mistake. The
# checks run as a learner runs them, `make check N`, with the work folder and
# the builds in this test's own folder (SOCKLAB_WORK, SOCKLAB_CHECK_BIN), so a
# learner's work/ is never touched.

bats_require_minimum_version 1.5.0

ROOT=$(cd "$BATS_TEST_DIRNAME/.." && pwd)

setup() {
    export SOCKLAB_WORK=$BATS_TEST_TMPDIR/work SOCKLAB_CHECK_BIN=$BATS_TEST_TMPDIR/bin
    unset SOCKLAB_CHECK_ONLY CHAPTER
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

@test "with nothing started, make check lists every exercise as not started and writes nothing" {
    make_check
    [[ $status -eq 0 ]]
    [[ $output == *"No exercise started yet"* ]]
    local chapter
    for chapter in $(exercises); do
        [[ $output =~ "$(number "$chapter") $chapter "\ +"not started" ]] || { echo "$output"; false; }
    done
    [[ ! -e $SOCKLAB_WORK ]]
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

# One failed claim fails a check: a starter's first three claims (the claims
# files put the most basic first) show it, with the tightest bounds.
starter_fails() {
    local chapter=$1 file
    SOCKLAB_CHECK_ONLY=$(grep -v '^[[:space:]]*\(#\|$\)' "$ROOT/tests/check/$chapter.claims" | head -3) \
        CHECK_JOBS=1 CHECK_CLIENT_TIMEOUT=1 CHECK_WAIT_TIMEOUT=1 CHECK_TEST_TIMEOUT=4 \
        make_check "$(number "$chapter")"
    [[ $status -ne 0 && $output == *"  FAIL  "* ]] || fails "the starter passed"
    [[ $output != *"BUILD FAILED"* && $output != *"warning"* ]] || fails "the starter did not build cleanly"
    for file in $(exercise_files "$chapter"); do
        [[ $output == *"new: $SOCKLAB_WORK/$chapter/$file, the starter"* ]] || fails "no new $file"
        # The starter is the lesson file with bodies replaced, not a copy of it.
        ! cmp -s "$SOCKLAB_WORK/$chapter/$file" "$ROOT/chapters/$chapter/$file" || fails "a copy"
        grep -q 'EXERCISE' "$SOCKLAB_WORK/$chapter/$file" || fails "no EXERCISE in $file"
    done
}

@test "every starter builds without a warning and fails its check" {
    each_at_once 3 starter_fails $(exercises)
}

lesson_passes() {
    local chapter=$1 file
    mkdir -p "$SOCKLAB_WORK/$chapter"
    for file in $(exercise_files "$chapter"); do
        cp "$ROOT/chapters/$chapter/$file" "$SOCKLAB_WORK/$chapter/$file"
    done
    CHECK_JOBS=1 make_check "$chapter"
    [[ $status -eq 0 ]] || fails "the lesson file failed its check"
    [[ $output != *"  FAIL  "* && $output != *"  LOST  "* && $output != *"warning"* ]] ||
        fails "a claim failed or is lost"
    [[ $output =~ \ ([0-9]+)\ of\ ([0-9]+)\ claims\ pass ]] || fails "no count"
    [[ ${BASH_REMATCH[1]} -eq ${BASH_REMATCH[2]} && ${BASH_REMATCH[1]} -gt 0 ]] || fails "not all pass"
    grep -q "^$chapter passing " "$SOCKLAB_WORK/progress" || fails "progress not kept"
}

@test "every chapter's own lesson files pass its check, every claim found" {
    each_at_once 2 lesson_passes $(exercises)
}

# mutant_field PATCH FIELD: the header lines "FIELD: value" of a mutant.
mutant_field() {
    sed -n "/^--- /q; s/^$2: //p" "$1"
}

mutant_fails() {
    local mutant=$1 chapter lesson hint claim name=${1#"$ROOT"/}
    chapter=$(basename "$(dirname "$mutant")")
    lesson=$(sed -n 's|^--- a/||p' "$mutant" | head -1)
    case $(mutant_field "$mutant" Needs) in
    little-endian)
        [[ $(printf '\001\000' | od -An -tu2 | tr -d ' ') == 1 ]] ||
            { echo "$name left out: a byte-order slip shows only on a little-endian machine"; return 0; } ;;
    linux)
        [[ $(uname) == Linux ]] || { echo "$name left out: the mistake shows on Linux only"; return 0; } ;;
    esac
    hint=$(mutant_field "$mutant" Hint)
    export SOCKLAB_CHECK_ONLY
    SOCKLAB_CHECK_ONLY=$(mutant_field "$mutant" 'Caught by')
    [[ -n $hint && -n $SOCKLAB_CHECK_ONLY && -f $ROOT/$lesson ]] ||
        fails "$name: needs Hint, Caught by and a lesson file"
    # The claims that catch it are claims of the full check.
    while IFS= read -r claim; do
        grep -Fxq -- "$claim" "$ROOT/tests/check/$chapter.claims" ||
            fails "$name: '$claim' is not in tests/check/$chapter.claims"
    done <<<"$SOCKLAB_CHECK_ONLY"
    # The chapter's other exercise files, if any, as the lesson has them.
    mkdir -p "$SOCKLAB_WORK/$chapter"
    local file
    for file in $(exercise_files "$chapter"); do
        cp "$ROOT/chapters/$chapter/$file" "$SOCKLAB_WORK/$chapter/$file"
    done
    patch -s -o "$SOCKLAB_WORK/$chapter/${lesson##*/}" "$ROOT/$lesson" <"$mutant" ||
        fails "$name no longer applies to $lesson: tests/mutants/refresh, or make it again"
    CHECK_JOBS=1 make_check "$chapter"
    [[ $status -ne 0 && $(flat) == *"hint: "*"${hint,,}"* ]] ||
        fails "$name: no failure with the hint '$hint'"
}

@test "every mutant fails its chapter's check with the hint that names its mistake" {
    each_at_once 4 mutant_fails "$ROOT"/tests/mutants/*/*.patch
}

@test "make check never overwrites the learner's file; make check reset keeps it beside the starter" {
    local chapter file
    chapter=$(exercises | head -1)
    file=$(exercise_files "$chapter" | head -1)
    mkdir -p "$SOCKLAB_WORK/$chapter"
    echo "my own work" >"$SOCKLAB_WORK/$chapter/$file"
    make_check "$chapter"
    echo "$output"
    [[ $status -ne 0 && $output == *"BUILD FAILED"* ]]
    [[ $(cat "$SOCKLAB_WORK/$chapter/$file") == "my own work" ]]
    grep -q "^$chapter failing " "$SOCKLAB_WORK/progress"

    make_check reset "$chapter"
    [[ $status -eq 0 ]]
    [[ $(cat "$SOCKLAB_WORK/$chapter/$file.1.bak") == "my own work" ]]
    grep -q EXERCISE "$SOCKLAB_WORK/$chapter/$file"
    echo "second try" >"$SOCKLAB_WORK/$chapter/$file"
    make_check reset "$chapter"
    [[ $(cat "$SOCKLAB_WORK/$chapter/$file.1.bak") == "my own work" ]]
    [[ $(cat "$SOCKLAB_WORK/$chapter/$file.2.bak") == "second try" ]]
}

@test "a chapter is named by its number, its folder or its topic, or CHAPTER=; a wrong name fails" {
    local chapter
    chapter=$(exercises | head -1)
    export SOCKLAB_CHECK_ONLY="no such claim: build and report only"
    local name
    for name in "$(number "$chapter")" "${chapter%%-*}" "$chapter" "${chapter#*-}"; do
        make_check "$name"
        [[ $output == "chapter $(number "$chapter"), $chapter: "* ]] || { echo "$name: $output"; false; }
    done
    run make -s --no-print-directory -C "$ROOT" check CHAPTER="$chapter"
    [[ $output == "chapter $(number "$chapter"), $chapter: "* ]]
    make_check 99
    [[ $status -ne 0 && $output == *"no exercise '99'"* ]]
}

@test "make watch checks again each time the learner saves" {
    local chapter file log=$BATS_TEST_TMPDIR/watch.log
    chapter=$(exercises | head -1)
    file=$(exercise_files "$chapter" | head -1)
    # Two checks, then it stops by itself: the first at once, the second after a save.
    export SOCKLAB_CHECK_ONLY="no such claim: build and report only"
    CHECK_WATCH_INTERVAL=0.1 CHECK_WATCH_ROUNDS=2 \
        timeout 60 make -s --no-print-directory -C "$ROOT" watch "$chapter" >"$log" 2>&1 3>&- &
    local watcher=$! i
    for ((i = 0; i < 300; i++)); do
        grep -q '^watching ' "$log" && break
        sleep 0.05
    done
    [[ $(grep -c '^chapter ' "$log") -eq 1 ]]
    echo "/* saved */" >>"$SOCKLAB_WORK/$chapter/$file"
    wait "$watcher"
    cat "$log"
    [[ $(grep -c '^chapter ' "$log") -eq 2 ]]
}
