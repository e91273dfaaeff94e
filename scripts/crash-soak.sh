#!/bin/sh
# Nightly-style soak of the randomized crash-consistency test
# (tests/integration/test_crash_random.py): many more histories and steps than
# CI, each round with a fresh random seed unless BW_CRASH_SEED is given.
#
# Usage: scripts/crash-soak.sh [BUILD_DIR]     (default: build/, built if needed)
#
# Environment (defaults in brackets):
#   BW_CRASH_ROUNDS        rounds, each with its own seed [3]
#   BW_CRASH_STEPS         steps per history on the bundled plan [2000]
#   BW_CRASH_HISTORIES     histories on the bundled plan per round [12]
#   BW_CRASH_BIG_STEPS     steps of the history on a generated plan [400]
#   BW_CRASH_BIG_PROJECTS  projects in that plan [5000]
#   BW_CRASH_SEED          one seed for every round (to replay a failure)
#   BW_CRASH_ONLY          only these histories, e.g. "3" or "big,0"
#   BW_CRASH_KEEP=1        keep the temporary directory of a failed history
#   BW_SANITIZED=1         set it when BUILD_DIR is an ASan build
# A failure prints its seed, the line that replays it, the step list and the
# figures that differ; the script goes on with the next round and exits 1 at
# the end if any round failed.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}
if [ ! -x "$build/daemon/budgetwatchd" ]; then
    cmake -S "$top" -B "$build" >/dev/null
    cmake --build "$build" -j"$(nproc)"
fi
export BW_DAEMON="$build/daemon/budgetwatchd"
export BW_CLI="$build/clients/budgetwatch"
export BW_SOURCE_DIR="$top"
export PYTHONDONTWRITEBYTECODE=1
export BW_CRASH_STEPS="${BW_CRASH_STEPS:-2000}"
export BW_CRASH_HISTORIES="${BW_CRASH_HISTORIES:-12}"
export BW_CRASH_BIG_STEPS="${BW_CRASH_BIG_STEPS:-400}"
export BW_CRASH_BIG_PROJECTS="${BW_CRASH_BIG_PROJECTS:-5000}"
if [ "${BW_SANITIZED:-}" = 1 ]; then
    export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:fast_unwind_on_malloc=0}"
    export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$top/tests/lsan.supp:print_suppressions=0}"
    export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
fi
rounds=${BW_CRASH_ROUNDS:-3}
fixed_seed=${BW_CRASH_SEED:-}
failed=""
i=1
while [ "$i" -le "$rounds" ]; do
    seed=${fixed_seed:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
    echo "== crash soak round $i/$rounds: BW_CRASH_SEED=$seed BW_CRASH_STEPS=$BW_CRASH_STEPS" \
         "BW_CRASH_HISTORIES=$BW_CRASH_HISTORIES BW_CRASH_BIG_STEPS=$BW_CRASH_BIG_STEPS" \
         "BW_CRASH_BIG_PROJECTS=$BW_CRASH_BIG_PROJECTS"
    if ! (cd "$top/tests/integration" &&
          BW_CRASH_SEED=$seed /usr/bin/python3 -m unittest -v test_crash_random); then
        failed="$failed $seed"
    fi
    i=$((i + 1))
done
if [ -n "$failed" ]; then
    echo "== crash soak: FAILED with seed(s)$failed (replay: BW_CRASH_SEED=<seed> $0 $build)"
    exit 1
fi
echo "== crash soak: $rounds round(s) passed"
