#!/usr/bin/env bats
# mutants.bats: every mutant fails its chapter's check with the hint that names its mistake.
#
# A mutant (tests/mutants/NN-topic/NAME.patch, see the README there) is a
# chapter's lesson file with one classic mistake. Each is applied to a copy
# of the lesson file in a work folder of its own, and judged as a learner's
# file is, by the claims its header says catch it. (A file of its own, so
# that make test runs it beside tests/exercises.bats.)

bats_require_minimum_version 1.5.0

load check/exercises

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

@test "every mutant fails its chapter's check with the hint that names its mistake (one per chapter; EXERCISES_ALL=1: all)" {
    local -a mutants=("$ROOT"/tests/mutants/*/*.patch)
    if ! sweep_all; then
        # The first of each chapter's (see tests/check/exercises.bash).
        local dir
        mutants=()
        for dir in "$ROOT"/tests/mutants/*/; do
            mutants+=("$(find "$dir" -name '*.patch' | sort | head -1)")
        done
    fi
    echo "# ${#mutants[@]} mutants" >&3
    each_at_once 4 mutant_fails "${mutants[@]}"
}
