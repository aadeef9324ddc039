#!/usr/bin/env bats
# fuzz.bats: the fuzz targets' saved inputs, replayed on every `make test`.
#
# The targets under tests/fuzz/ check the course's pure decoders against
# references (see tests/README.md). Fuzzing them needs clang's libFuzzer and
# time (`make fuzz`); replaying what fuzzing found needs neither: replay.c
# runs a target once per saved input, built with the usual compiler (under
# ASan and UBSan when it has them). So every seed and every input that once
# crashed (tests/fuzz/regressions/) is checked here, in about a second.

bats_require_minimum_version 1.5.0

ROOT=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
FUZZ=$ROOT/tests/fuzz
TARGETS=(wire marker frame numbers options segment)

setup_file() {
    make -s -C "$BATS_TEST_DIRNAME/fuzz" replay >&2
}

@test "fuzz replay: every seed and every past crash passes each target's checks" {
    for target in "${TARGETS[@]}"; do
        # (the options target's inputs print --help and usage errors on the way)
        run "$ROOT/build/fuzz/replay-$target" "$FUZZ/corpus/$target" "$FUZZ/regressions/$target"
        echo "$target: ${lines[-1]}"
        [ "$status" -eq 0 ]
        [[ ${lines[-1]} =~ ^replayed\ [1-9][0-9]*\ inputs:\ all\ passed$ ]]
    done
}

@test "fuzz replay is not vacuous: a scanner off by one fails the marker target's seeds" {
    # The scanner forgetting one byte of overlap with what it already searched:
    # a marker split across two reads is then missed.
    sed 's/scanned - (marker_length - 1)/scanned - (marker_length - 2)/' \
        "$ROOT/chapters/04-shutdown/framing.c" >"$BATS_TEST_TMPDIR/framing.c"
    run ! cmp -s "$ROOT/chapters/04-shutdown/framing.c" "$BATS_TEST_TMPDIR/framing.c"
    ${CC:-cc} -std=c11 -D_POSIX_C_SOURCE=200809L -I"$FUZZ" -I"$ROOT/chapters/04-shutdown" \
        -o "$BATS_TEST_TMPDIR/replay-broken" "$FUZZ/fuzz_marker.c" "$FUZZ/replay.c" \
        "$BATS_TEST_TMPDIR/framing.c"
    run -134 "$BATS_TEST_TMPDIR/replay-broken" "$FUZZ/corpus/marker"
    [[ $output == *"check failed"* ]]
}

@test "size options: a long word that is not a number is called that, not out of range" {
    # Found by fuzzing sl_parse_size (regressions/numbers/): text too long for
    # its 32-byte copy was reported as out of range whatever it was.
    [ -x "$ROOT/bin/04-shutdown" ] || skip "bin/04-shutdown is not built (run make first)"
    run -2 "$ROOT/bin/04-shutdown" server --recv-size "-99$(printf 'x%.0s' {1..40})"
    [[ $output == *"--recv-size: '-99xxx"*"' is not a byte count like 4096 or 64M (try --help)" ]]
}
