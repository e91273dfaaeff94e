#!/bin/sh
# Runs every test: the normal build, then the same tests under ASan+UBSan,
# then each libFuzzer target for BW_FUZZ_SECONDS (60).
# Usage: scripts/test.sh [--fast]   (--fast skips the sanitizer build and fuzzing)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
# One leak inside libzmq itself is suppressed (tests/lsan.supp says which and
# why). Matching it by function needs full allocation stacks: Debian's libzmq
# has no frame pointers, so the fast unwinder stops inside it.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:fast_unwind_on_malloc=0"
export LSAN_OPTIONS="suppressions=$top/tests/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

"$top/scripts/build.sh"
echo "== tests (release build)"
ctest --test-dir "$top/build" --output-on-failure -j2

if [ "${1:-}" != "--fast" ]; then
    "$top/scripts/build.sh" --sanitize
    echo "== tests (ASan + UBSan build)"
    BW_SANITIZED=1 ctest --test-dir "$top/build-asan" --output-on-failure -j2
    echo "== fuzzing (libFuzzer, ASan + UBSan, ${BW_FUZZ_SECONDS:-60} s a target)"
    "$top/scripts/fuzz.sh" "${BW_FUZZ_SECONDS:-60}"
fi
