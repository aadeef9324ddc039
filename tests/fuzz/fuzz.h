/* fuzz.h: what every fuzz target under tests/fuzz/ shares.
 *
 * Each target is one function, LLVMFuzzerTestOneInput, that feeds one input
 * to the code under test and checks what comes back against a slow, obvious
 * reference. libFuzzer (clang -fsanitize=fuzzer) calls it millions of times
 * with inputs it mutates; replay.c calls it once per saved input, so the
 * corpus and every past crash are replayed by tests/fuzz.bats with any
 * compiler. A wrong answer aborts, which both drivers report as a crash.
 *
 * See also: tests/fuzz/Makefile, tests/README.md, https://llvm.org/docs/LibFuzzer.html
 */
#ifndef SOCKLAB_FUZZ_H
#define SOCKLAB_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Like assert(), but never compiled out, and it says which claim failed. */
#define FUZZ_CHECK(claim)                                                          \
    do {                                                                           \
        if (!(claim)) {                                                            \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #claim); \
            abort();                                                               \
        }                                                                          \
    } while (0)

#endif
