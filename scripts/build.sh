#!/bin/sh
# Configures and builds budgetwatch. Usage: scripts/build.sh [--sanitize]
# The normal build goes to build/, the ASan+UBSan build to build-asan/.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/deps.sh"
dir="$top/build"; opts=""
if [ "${1:-}" = "--sanitize" ]; then
    dir="$top/build-asan"; opts="-DBW_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug"
fi
cmake -S "$top" -B "$dir" $opts >/dev/null
cmake --build "$dir" -j"$(nproc)"
