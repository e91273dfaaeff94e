#!/bin/sh
# Builds the libFuzzer targets with clang (ASan + UBSan) in build-fuzz/ and runs
# each for SECONDS (default 60) on a copy of its seed corpus in tests/fuzz/seeds.
# Exits non-zero if any target crashes, leaks or times out; the reproducer is
# left in build-fuzz/crashes/. Usage: scripts/fuzz.sh [SECONDS]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-60}
"$top/scripts/deps.sh" clang libclang-rt-14-dev
dir="$top/build-fuzz"
CC=clang cmake -S "$top" -B "$dir" -DBW_FUZZ=ON -DBW_TESTS=OFF -DBW_WERROR=OFF \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$dir" -j"$(nproc)" --target fuzz_plan fuzz_proto fuzz_config >/dev/null
mkdir -p "$dir/crashes"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
failed=""
for t in plan proto config; do
    corpus="$dir/corpus/$t"
    rm -rf "$corpus" && mkdir -p "$corpus" && cp "$top/tests/fuzz/seeds/$t"/* "$corpus"/
    log="$dir/fuzz_$t.log"
    if "$dir/tests/fuzz/fuzz_$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
        -error_exitcode=77 -artifact_prefix="$dir/crashes/$t-" "$corpus" >"$log" 2>&1; then
        echo "fuzz_$t: $(grep -o 'Done [0-9]* runs in [0-9]* second' "$log" | tail -1), no failure"
    else
        echo "fuzz_$t: FAILED; see $log and $dir/crashes/$t-*" >&2
        tail -30 "$log" >&2
        failed="$failed $t"
    fi
done
[ -z "$failed" ] || { echo "fuzzing failed:$failed" >&2; exit 1; }
