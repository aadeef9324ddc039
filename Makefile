# socklab: build every chapter, run the demos, run the tests.
#
#   make            build bin/NN-topic for every directory under chapters/
#   make demo       run every chapter's demo, in order; STEP=1 waits for Enter at
#                   each scene (q ends a chapter), DEMO_OPTIONS='--columns --pace 300'
#   make ladders    redraw the lessons' pictures, chapters/NN-topic/ladder.svg, from real runs
#   make test       run every bats test (installs bats-core locally if needed)
#   make test-exercises  every mutant and every claim through make check (CI runs it)
#   make bench      measure what chapters 2 and 6 teach (see tests/bench/)
#   make valgrind   run every chapter's demo under valgrind: no leaks, no bad accesses
#   make fuzz       fuzz the decoders and parsers, FUZZ_SECONDS (10) each (needs clang; tests/fuzz/)
#   make lint       cppcheck and clang-tidy, checks explained in .clang-tidy and tests/lint/run
#   make check [N]  your exercises, judged by the chapters' tests (make watch N: at every save)
#   make clean      remove bin/
#
# V=1 prints each compiler command in full.
# CC, CFLAGS, LDFLAGS and LDLIBS may be overridden: `make CC=clang CFLAGS=-O0`.
# SANITIZE=1 builds with AddressSanitizer and UBSan (what CI runs the suite under).
# WERROR=1 turns every warning into an error (CI does this with clang).

CC      ?= cc
CFLAGS  ?= -O2 -g
LDFLAGS ?=
LDLIBS  ?=

# Always on, whatever CFLAGS says: the language, and warnings (warnings are bugs here).
#   -Wshadow                 a local hiding another name is a classic socket-loop bug
#   -Wstrict-prototypes      `int f()` in C11 means "any arguments": say (void)
#   -Wmissing-prototypes     every non-static function is declared in a header
#   -Wformat=2               narration is printf everywhere: check every format
#   -Wvla                    no stack arrays sized by what a peer sent
#   -Wwrite-strings          string literals are const
#   -Wpointer-arith -Wundef  no arithmetic on void *, no undefined macros in #if
STD_CFLAGS  = -std=c11
WARN_CFLAGS = -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
              -Wformat=2 -Wvla -Wwrite-strings -Wpointer-arith -Wundef
ifeq ($(WERROR),1)
WARN_CFLAGS += -Werror
endif
ifeq ($(SANITIZE),1)
SAN_FLAGS = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
endif
# musl-gcc sees musl's headers only; the wire tap also needs the kernel's
# (linux/if_packet.h, linux/sock_diag.h), which do not depend on the libc:
# after musl's own, so musl's win wherever both have a header.
ifneq ($(findstring musl,$(CC)),)
KERNEL_HEADERS := $(shell for d in /usr/include /usr/include/$$(gcc -print-multiarch 2>/dev/null); do \
                      [ -d $$d/linux ] || [ -d $$d/asm ] && printf -- '-idirafter %s ' $$d; done)
endif
ALL_CPPFLAGS = -D_POSIX_C_SOURCE=200809L -Icommon -Iclassroom $(CPPFLAGS) $(KERNEL_HEADERS)
ALL_CFLAGS   = $(STD_CFLAGS) $(WARN_CFLAGS) $(SAN_FLAGS) $(CFLAGS)
ALL_LDFLAGS  = $(SAN_FLAGS) $(LDFLAGS)
LIBS         = -lm $(LDLIBS)

# Short build lines ("CC chapters/01-blocking/server.c"); V=1 shows the commands.
ifeq ($(V),1)
Q_CC =
Q_LD =
else
Q_CC = @printf '  CC  %s\n' $<;
Q_LD = @printf '  LD  %s\n' $@;
endif

CHAPTERS := $(sort $(notdir $(wildcard chapters/[0-9][0-9]-*)))
PROGRAMS := $(addprefix bin/,$(CHAPTERS))
OBJDIR   := build/obj

# Objects depend on a stamp named after the flags, so changing CC, CFLAGS or
# SANITIZE rebuilds everything instead of mixing objects built two ways.
FLAGS_ID    := $(shell printf '%s' '$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $(ALL_LDFLAGS)' | cksum | cut -d' ' -f1)
FLAGS_STAMP := $(OBJDIR)/flags-$(FLAGS_ID)

COMMON_OBJS := $(patsubst %.c,$(OBJDIR)/%.o,$(wildcard common/*.c))
# Chapter 1's socket plumbing (listen, accept, connect, send all) is taught
# there and linked by every chapter: one copy, where it is explained.
PLUMBING_OBJS := $(OBJDIR)/chapters/01-blocking/sockets.o
# What demos share for the classroom (pacing, columns, the wire tap): harness.
CLASSROOM_OBJS := $(patsubst %.c,$(OBJDIR)/%.o,$(wildcard classroom/*.c))

.PHONY: all demo ladders tools test test-exercises bench valgrind fuzz lint check watch clean
all: $(PROGRAMS)

# One link rule per chapter directory, written by make itself: a new
# chapters/NN-topic/ with .c files in it becomes bin/NN-topic.
# A chapter that builds on an earlier one's lesson files (chapter 7 runs
# chapter 6's clients and handlers) names that chapter in a file LINKS in
# its folder; it then links that chapter's files, all but main.c and demo.c.
lesson_objs = $(patsubst %.c,$(OBJDIR)/%.o,$(filter-out %/main.c %/demo.c,$(wildcard chapters/$(1)/*.c)))
linked_objs = $(foreach used,$(shell cat chapters/$(1)/LINKS 2>/dev/null),$(call lesson_objs,$(used)))
define chapter_program
bin/$(1): $(sort $(patsubst %.c,$(OBJDIR)/%.o,$(wildcard chapters/$(1)/*.c)) $(PLUMBING_OBJS) $(call linked_objs,$(1))) $(CLASSROOM_OBJS) $(COMMON_OBJS)
	@mkdir -p bin
	$$(Q_LD)$$(CC) $$(ALL_LDFLAGS) -o $$@ $$^ $$(LIBS)
endef
$(foreach chapter,$(CHAPTERS),$(eval $(call chapter_program,$(chapter))))

# -MMD -MP: each object records the headers it included, so touching common/
# rebuilds every chapter that uses it.
$(OBJDIR)/%.o: %.c $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(Q_CC)$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(FLAGS_STAMP):
	@mkdir -p $(OBJDIR)
	@rm -f $(OBJDIR)/flags-*
	@touch $@

-include $(shell find $(OBJDIR) -name '*.d' 2>/dev/null)

# The classroom options every demo takes (README.md, "For teachers").
DEMO_OPTIONS ?=
DEMO_FLAGS = $(if $(filter 1,$(STEP)),--step) $(DEMO_OPTIONS)

demo: all
	@status=0; for chapter in $(CHAPTERS); do \
	    printf '\n==== %s ====\n\n' "$$chapter"; \
	    bin/$$chapter demo $(DEMO_FLAGS) || { status=1; printf '!!!! %s demo failed\n' "$$chapter"; }; \
	done; exit $$status

# Each lesson's picture, chapters/NN-topic/ladder.svg in its README: a real
# run of the chapter's demo (of the scene LADDER_DEMO_NN-topic names), the
# wire tap's segments among the calls; the SVG says which command drew it,
# and tests/wire.bats runs that command again to check the picture still
# matches the program. A scene is drawn only if every run of it makes the
# same calls: chapter 6's clients each leave only once the server has closed
# them, so its select() never finds two ready and it has said its last word
# before it is stopped. Chapter 7's demo teaches a cost, not a sequence: its
# picture is the edge scene, whose server starts only once all the client's
# bytes wait in its socket, so they make one edge on every run.
LADDER_CHAPTERS := 01-blocking 02-fixed-length 03-byte-order 04-shutdown 05-dead-peers \
                   06-select 07-poll-epoll
LADDER_DEMO_05-dead-peers := crash
LADDER_DEMO_06-select := two-clients
LADDER_DEMO_07-poll-epoll := edge
define draw_ladder
command='bin/$(1) demo $(strip $(LADDER_DEMO_$(1)) --wire)'; \
$$command --ladder=chapters/$(1)/ladder.svg >/dev/null 2>&1 || { echo "$$command failed"; exit 1; }; \
sed -i "1a <desc>drawn by: make ladders ($$command)</desc>" chapters/$(1)/ladder.svg; \
printf '  SVG chapters/%s/ladder.svg\n' $(1);
endef
ladders: all
	@$(foreach chapter,$(LADDER_CHAPTERS),$(call draw_ladder,$(chapter)))

# The tests' own helpers (tests/tools/): a pseudo-terminal, a ladder drawer.
# Not chapter programs, so in build/tools/, not in bin/.
TOOLS := build/tools/pty build/tools/ladder
tools: $(TOOLS)
build/tools/pty: $(OBJDIR)/tests/tools/pty.o
	@mkdir -p $(dir $@)
	$(Q_LD)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)
build/tools/ladder: $(OBJDIR)/tests/tools/ladder.o $(CLASSROOM_OBJS) $(COMMON_OBJS)
	@mkdir -p $(dir $@)
	$(Q_LD)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

test: all tools
	@tests/run-bats

# make test proves make check on a sample; this, every mutant and every claim
# (tests/check/exercises.bash says which).
test-exercises: all tools
	@EXERCISES_ALL=1 tests/run-bats tests/exercises.bats tests/mutants.bats

bench: all
	@$(MAKE) --no-print-directory -C tests/bench run

# Valgrind and ASan can't share a binary: build plainly (not SANITIZE=1) first.
valgrind: all
	@tests/valgrind/run

fuzz:
	@$(MAKE) --no-print-directory -C tests/fuzz run

lint:
	@tests/lint/run

# The exercises: `make check` (every chapter started), `make check 2` (one),
# `make check reset 2` (the starter again, yours kept), `make watch 2` (again at
# every save). Your files are in work/; the builds go to build/check/. The words
# after check or watch are its arguments, so each gets a rule that does nothing.
CHECK_ARGS := $(filter-out check watch all demo ladders tools test test-exercises bench valgrind fuzz lint clean,$(MAKECMDGOALS))
check watch: all
	@CHECK_CC='$(CC)' CHECK_CFLAGS='$(ALL_CPPFLAGS) $(ALL_CFLAGS)' CHECK_LDFLAGS='$(ALL_LDFLAGS)' \
	    CHECK_LIBS='$(LIBS)' CHECK_OBJDIR='$(OBJDIR)' tests/check/$@ $(CHECK_ARGS) $(CHAPTER)
ifneq ($(filter check watch,$(MAKECMDGOALS)),)
ifneq ($(strip $(CHECK_ARGS)),)
$(CHECK_ARGS):
	@:
endif
endif

clean:
	rm -rf bin build
	@$(MAKE) --no-print-directory -C tests/bench clean
