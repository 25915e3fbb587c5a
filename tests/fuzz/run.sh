#!/usr/bin/env bash
# make fuzz: every target of tests/fuzz/fuzz.h under libFuzzer for a set time.
#
#   tests/fuzz/run.sh [SECONDS] [TARGET...]      (default: 60 seconds, every target)
#   FUZZ_RUNS=1000000 tests/fuzz/run.sh 3600     stop each target after a million inputs instead
#
# Builds the library and the targets with clang: -fsanitize=fuzzer for coverage-guided inputs,
# AddressSanitizer and UndefinedBehaviorSanitizer to turn silent memory and arithmetic bugs into
# crashes. Each target starts from its seeds in tests/fuzz/corpus/<target>/ and keeps what it
# finds in build/fuzz/corpus/<target>/. A crash, leak, timeout or sanitizer report stops that
# target, leaves the input as build/fuzz/<target>-crash-* and makes this script fail: add the
# input to tests/fuzz/corpus/<target>/ (tests/test_fuzz.c replays it in every `make test`), then fix.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(json safetensors checkpoint bpe_file encode corpus)
CC=${FUZZ_CC:-clang}
flags="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all"

make -s BUILD=build/fuzz CC="$CC" OPT="$flags -fsanitize=fuzzer-no-link" build/fuzz/libhyena.a
status=0
for t in "${targets[@]}"; do
    $CC -std=c11 -D_POSIX_C_SOURCE=200809L $flags -fsanitize=fuzzer -DFUZZ_TARGET="fuzz_$t" \
        tests/fuzz/libfuzzer_main.c "tests/fuzz/fuzz_$t.c" tests/fuzz/scratch_file.c build/fuzz/libhyena.a \
        -o "build/fuzz/fuzz_$t" -lm -pthread
    mkdir -p "build/fuzz/corpus/$t"
    echo "== fuzz_$t for $seconds s"
    # -rss_limit_mb: an input that makes the loader ask for gigabytes is a bug, not a big input.
    if ! "build/fuzz/fuzz_$t" -max_total_time="$seconds" ${FUZZ_RUNS:+-runs=$FUZZ_RUNS} -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 \
            -print_final_stats=1 -artifact_prefix="build/fuzz/$t-" "build/fuzz/corpus/$t" "tests/fuzz/corpus/$t" \
            > "build/fuzz/$t.log" 2>&1; then
        status=1
        grep -E "ERROR|SUMMARY|Test unit written|==[0-9]+==" "build/fuzz/$t.log" | head -20
    fi
    grep -E "^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)|^#[0-9]+.*DONE|^Done" "build/fuzz/$t.log" |
        sed "s/^/  $t: /"
done
exit $status
