# hyena.c - build, test and sanitize. Everything goes under build/ (or $(BUILD)).
#
#   make              build/libhyena.a and build/hyena
#   make test         build and run every Check suite (ends with Check's summary)
#   make debug        -O0 -g3 build in build/debug, for stepping through in gdb
#   make sanitize     the tests under AddressSanitizer + UndefinedBehaviorSanitizer
#   make tsan         the tests under ThreadSanitizer
#   make mutate       mutation testing: each of tests/mutate.sh's single-line bugs must fail make test
#   make fuzz         coverage-guided fuzzing of every input parser (clang's libFuzzer), FUZZ_SECONDS each
#   make tutorials    the tutorial examples, in build/tutorials/
#   make deps         install the build and test dependencies on Debian/Ubuntu (gcc, make, Check)
#   make shakespeare  fetch tiny Shakespeare (1.1 MB) into build/data/ (needs the network; or put
#                     the file there yourself. CI, offline, copies it from ../shared/data/)
#   make clean

BUILD  ?= build
# The instruction set to build for (tensor/simd.h picks vector widths and tiles from it):
#   make                              this machine's own (-march=native; -mcpu=native on ARM64,
#                                     where Apple's clang refuses -march=native)
#   make ARCH=-march=x86-64-v3        AVX2 + FMA, what most x86-64 laptops have
#   make ARCH=                        the baseline of the target (SSE2 on x86-64): slower, runs anywhere
#   make CC=aarch64-linux-gnu-gcc ARCH=-mcpu=neoverse-n1   a cross build (host tools use HOSTCC)
UNAME_M := $(shell uname -m)
ifneq ($(filter arm64 aarch64,$(UNAME_M)),)
ARCH   ?= -mcpu=native
else
ARCH   ?= -march=native
endif
OPT    ?= -O3 $(ARCH)
HOSTCC ?= cc
# -ffp-contract=fast lets the compiler fuse a*b+c into one FMA instruction (ISO C mode would
# forbid it); -fno-math-errno lets sqrtf be one instruction (and vectorize) instead of a call that
# could set errno, which nothing here reads; -fno-trapping-math says that no code here looks at
# floating-point exception flags, so a branch-free `x < 0 ? a : b` may compute both sides (without
# it gcc left the GELU loop scalar on AVX2 and SSE2). -ffast-math stays off because it would let
# the compiler assume no NaN exists, and the training loop must be able to notice a NaN loss.
CFLAGS_ALL = -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror=implicit-function-declaration \
             -ffp-contract=fast -fno-math-errno -fno-trapping-math -pthread \
             -MMD -MP $(OPT) $(CFLAGS)
# macOS hides sysconf(_SC_NPROCESSORS_ONLN) and friends behind _POSIX_C_SOURCE unless asked.
ifeq ($(shell uname -s),Darwin)
CFLAGS_ALL += -D_DARWIN_C_SOURCE
endif
LDLIBS_ALL = -pthread -lm $(LDLIBS)

CHECK_CFLAGS := $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS   := $(shell pkg-config --libs check 2>/dev/null || echo -lcheck -lsubunit -lrt -lm)

# The library is everything but the command's main(): tutorials and tests link against it.
LIB_SRC   := $(wildcard tensor/*.c autograd/*.c hyena/*.c) $(filter-out data/embed_corpus.c,$(wildcard data/*.c)) \
             $(filter-out train/main.c,$(wildcard train/*.c))
APP_SRC   := train/main.c
# The fuzz targets (tests/fuzz/) are in the test binary too: tests/test_fuzz.c replays their corpora.
TEST_SRC  := $(wildcard tests/*.c) $(filter-out tests/fuzz/libfuzzer_main.c,$(wildcard tests/fuzz/*.c))
TUTOR_SRC := $(wildcard tutorials/examples/*.c)

# Objects under obj/: build/hyena is the command, so build/hyena/ cannot hold hyena/*.o.
LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
APP_OBJ   := $(APP_SRC:%.c=$(BUILD)/obj/%.o)
TEST_OBJ  := $(TEST_SRC:%.c=$(BUILD)/obj/%.o)
TUTOR_BIN := $(TUTOR_SRC:tutorials/examples/%.c=$(BUILD)/tutorials/%)
# Exercise solutions that are code (tutorials/solutions/): built with the examples, run by CI.
SOLUTION_SRC := $(wildcard tutorials/solutions/*.c)
SOLUTION_BIN := $(SOLUTION_SRC:tutorials/solutions/%.c=$(BUILD)/tutorials/solutions/%)

.PHONY: all test debug sanitize tsan mutate fuzz tutorials deps shakespeare clean
all: $(BUILD)/libhyena.a $(BUILD)/hyena

# Every object also depends on this Makefile: a changed flag must rebuild what it compiled.
$(BUILD)/obj/%.o: %.c Makefile
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c $< -o $@

$(BUILD)/obj/tests/%.o: tests/%.c Makefile
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(CHECK_CFLAGS) -c $< -o $@

# The default corpus (data/corpus.h): the tutorials, then the library's sources, each sorted;
# not the generated Unicode table, 850 lines of numbers that would teach the model nothing.
EMBED_FILES := $(sort $(wildcard tutorials/*.md)) \
               $(sort $(filter-out data/unicode_table.c, \
                   $(wildcard tensor/*.[ch] autograd/*.[ch] hyena/*.[ch] data/*.[ch] train/*.[ch])))

# A tool run during the build, so it is compiled for the build machine (HOSTCC), not the target.
$(BUILD)/embed_corpus: data/embed_corpus.c
	@mkdir -p $(dir $@)
	$(HOSTCC) -O2 $< -o $@

$(BUILD)/gen/default_corpus.c: $(BUILD)/embed_corpus $(EMBED_FILES)
	@mkdir -p $(dir $@)
	$(BUILD)/embed_corpus $@ $(EMBED_FILES)

$(BUILD)/obj/gen/default_corpus.o: $(BUILD)/gen/default_corpus.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c $< -o $@

# `hyena --version` and every benchmark line name the flags this build was made with.
$(BUILD)/obj/train/build_info.o: CFLAGS_ALL += -DHYENA_BUILD_FLAGS='"$(strip $(OPT) $(CFLAGS))"'

$(BUILD)/libhyena.a: $(LIB_OBJ) $(BUILD)/obj/gen/default_corpus.o
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/hyena: $(APP_OBJ) $(BUILD)/libhyena.a
	$(CC) $(CFLAGS_ALL) $^ -o $@ $(LDLIBS_ALL)

$(BUILD)/run_tests: $(TEST_OBJ) $(BUILD)/libhyena.a
	$(CC) $(CFLAGS_ALL) $^ -o $@ $(CHECK_LIBS) $(LDLIBS_ALL)

# Tests run from the top of the tree: they read tutorials/ and sources to check quoted code.
# RUN prefixes the test binary: an emulator for a cross build, e.g.
#   make CC=aarch64-linux-gnu-gcc ARCH=-mcpu=neoverse-n1 BUILD=build/aarch64 LDLIBS=-static \
#        RUN=qemu-aarch64 test
# (static: Debian 12's qemu-user hung in the first pthread_create of a dynamically linked program)
RUN ?=
test: $(BUILD)/run_tests $(BUILD)/hyena
	$(RUN) $(BUILD)/run_tests

$(BUILD)/tutorials/%: tutorials/examples/%.c $(BUILD)/libhyena.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $< $(BUILD)/libhyena.a -o $@ $(LDLIBS_ALL)

$(BUILD)/tutorials/solutions/%: tutorials/solutions/%.c $(BUILD)/libhyena.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $< $(BUILD)/libhyena.a -o $@ $(LDLIBS_ALL)

tutorials: $(TUTOR_BIN) $(SOLUTION_BIN)

debug:
	$(MAKE) BUILD=build/debug OPT="-O0 -g3" all tutorials $(BUILD:%=build/debug/run_tests)

sanitize:
	$(MAKE) BUILD=build/asan OPT="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined,float-cast-overflow -fno-sanitize-recover=all" \
	        LDLIBS="-fsanitize=address,undefined" test

# Mutation testing (tests/mutate.sh): one plausible bug at a time, `make test` must fail on each.
# Slow (a test run per mutant) and not part of CI.
mutate:
	tests/mutate.sh

# Coverage-guided fuzzing (tests/fuzz/run.sh, clang's libFuzzer): each target for FUZZ_SECONDS.
FUZZ_SECONDS ?= 60
fuzz:
	tests/fuzz/run.sh $(FUZZ_SECONDS)

tsan:
	$(MAKE) BUILD=build/tsan OPT="-O1 -g -fsanitize=thread" LDLIBS="-fsanitize=thread" test

# Only what is missing is installed: with Homebrew on macOS (the compiler is Apple's clang, from
# `xcode-select --install`), with apt elsewhere (sudo only when not already root).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
deps:
	@if [ "$$(uname -s)" = Darwin ]; then \
	    command -v cc >/dev/null 2>&1 || { echo "hyena: no C compiler: run 'xcode-select --install' first" >&2; exit 1; }; \
	    command -v brew >/dev/null 2>&1 || { echo "hyena: Homebrew is needed for Check (https://brew.sh)" >&2; exit 1; }; \
	    missing=""; \
	    command -v pkg-config >/dev/null 2>&1 || missing="$$missing pkg-config"; \
	    pkg-config --exists check 2>/dev/null || missing="$$missing check"; \
	    if [ -n "$$missing" ]; then echo "installing:$$missing"; brew install $$missing; \
	    else echo "dependencies present"; fi; \
	    exit 0; \
	fi; \
	missing=""; \
	command -v cc >/dev/null 2>&1 || missing="$$missing gcc libc6-dev"; \
	command -v pkg-config >/dev/null 2>&1 || missing="$$missing pkg-config"; \
	pkg-config --exists check 2>/dev/null || missing="$$missing check"; \
	if [ -n "$$missing" ]; then \
	    echo "installing:$$missing"; \
	    $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	else echo "dependencies present"; fi

SHAKESPEARE_URL := https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt
shakespeare: build/data/tinyshakespeare.txt
build/data/tinyshakespeare.txt:
	@mkdir -p build/data
	@if [ -f ../shared/data/tinyshakespeare.txt ]; then cp ../shared/data/tinyshakespeare.txt $@; \
	elif command -v curl >/dev/null 2>&1 && curl -fsSL "$(SHAKESPEARE_URL)" -o $@.tmp; then mv $@.tmp $@; \
	elif command -v wget >/dev/null 2>&1 && wget -q "$(SHAKESPEARE_URL)" -O $@.tmp; then mv $@.tmp $@; \
	else rm -f $@.tmp; echo "hyena: cannot download tiny Shakespeare (offline?): put it at $@" >&2; exit 1; fi
	@echo "tiny Shakespeare: $@ ($$(wc -c < $@) bytes)"

clean:
	rm -rf build

-include $(LIB_OBJ:.o=.d) $(APP_OBJ:.o=.d) $(TEST_OBJ:.o=.d)
