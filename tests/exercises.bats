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

@test "every starter builds without a warning and fails its check" {
    local chapter file
    for chapter in $(exercises); do
        make_check "$(number "$chapter")"
        echo "$output"
        [[ $status -ne 0 ]]
        [[ $output == *"  FAIL  "* ]]
        [[ $output != *"BUILD FAILED"* && $output != *"warning"* ]]
        for file in $(exercise_files "$chapter"); do
            [[ $output == *"new: $SOCKLAB_WORK/$chapter/$file, the starter"* ]]
            # The starter is the lesson file with bodies replaced, not a copy of it.
            ! cmp -s "$SOCKLAB_WORK/$chapter/$file" "$ROOT/chapters/$chapter/$file"
            grep -q 'EXERCISE' "$SOCKLAB_WORK/$chapter/$file"
        done
        grep -q "^$chapter failing " "$SOCKLAB_WORK/progress"
    done
}

@test "every chapter's own lesson files pass its check, every claim found" {
    local chapter file
    for chapter in $(exercises); do
        mkdir -p "$SOCKLAB_WORK/$chapter"
        for file in $(exercise_files "$chapter"); do
            cp "$ROOT/chapters/$chapter/$file" "$SOCKLAB_WORK/$chapter/$file"
        done
        make_check "$chapter"
        echo "$output"
        [[ $status -eq 0 ]]
        [[ $output != *"  FAIL  "* && $output != *"  LOST  "* && $output != *"warning"* ]]
        [[ $output =~ \ ([0-9]+)\ of\ ([0-9]+)\ claims\ pass ]]
        [[ ${BASH_REMATCH[1]} -eq ${BASH_REMATCH[2]} && ${BASH_REMATCH[1]} -gt 0 ]]
        grep -q "^$chapter passing " "$SOCKLAB_WORK/progress"
    done
}

# mutant_field PATCH FIELD: the header lines "FIELD: value" of a mutant.
mutant_field() {
    sed -n "/^--- /q; s/^$2: //p" "$1"
}

@test "every mutant fails its chapter's check with the hint that names its mistake" {
    local mutant chapter lesson hint claim count=0
    for mutant in "$ROOT"/tests/mutants/*/*.patch; do
        chapter=$(basename "$(dirname "$mutant")")
        lesson=$(sed -n 's|^--- a/||p' "$mutant" | head -1)
        if [[ $(mutant_field "$mutant" Needs) == little-endian ]] &&
            [[ $(printf '\001\000' | od -An -tu2 | tr -d ' ') != 1 ]]; then
            echo "# ${mutant#"$ROOT"/} left out: a byte-order slip shows only on a little-endian machine" >&3
            continue
        fi
        hint=$(mutant_field "$mutant" Hint)
        SOCKLAB_CHECK_ONLY=$(mutant_field "$mutant" 'Caught by')
        [[ -n $hint && -n $SOCKLAB_CHECK_ONLY && -f $ROOT/$lesson ]] ||
            { echo "${mutant#"$ROOT"/}: needs Hint, Caught by and a lesson file"; false; }
        # The claims that catch it are claims of the full check.
        while IFS= read -r claim; do
            grep -Fxq -- "$claim" "$ROOT/tests/check/$chapter.claims" ||
                { echo "${mutant#"$ROOT"/}: '$claim' is not in tests/check/$chapter.claims"; false; }
        done <<<"$SOCKLAB_CHECK_ONLY"
        mkdir -p "$SOCKLAB_WORK/$chapter"
        patch -s -o "$SOCKLAB_WORK/$chapter/${lesson##*/}" "$ROOT/$lesson" <"$mutant" 2>&1 ||
            { echo "${mutant#"$ROOT"/} no longer applies to $lesson: remake it"; false; }
        export SOCKLAB_CHECK_ONLY
        make_check "$chapter"
        [[ $status -ne 0 && $(flat) == *"hint: "*"${hint,,}"* ]] ||
            { echo "${mutant#"$ROOT"/}: no failure with the hint '$hint':"; echo "$output"; false; }
        rm -rf "$SOCKLAB_WORK"
        count=$((count + 1))
    done
    ((count > 0))
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
