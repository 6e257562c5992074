#!/usr/bin/env bash
# test.sh — runs every test of vmgate: set-up, formatting, the Release build with its unit
# tests, a lint of that build's objects (no two source files call each other), the build and
# unit tests again under AddressSanitizer/UBSan, the fuzz targets (VG_FUZZ_SECONDS each, default
# 10), the integration tests (on the sanitizer build) and the browser tests. Every step runs even when an earlier one failed; the
# summary lists each step and ends with "N passed, M failed"; the exit status is non-zero when
# any step failed. Each step's output is also kept in tests/artifacts/test-logs/<step>.log.
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo" || exit 1
logs=$repo/tests/artifacts/test-logs
mkdir -p "$logs"
jobs=$(nproc)
# Seconds of fuzzing per libFuzzer target (VG_FUZZ_SECONDS): short in CI, longer by hand.
fuzz_seconds=${VG_FUZZ_SECONDS:-10}
export CI=${CI:-}

results=()
passed=0
failed=0

step() { # name command...
    local name=$1 t0=$SECONDS status
    shift
    echo "=== $name"
    # A subshell: a step may exit or cd without touching the others.
    ("$@") </dev/null 2>&1 | tee "$logs/$name.log"
    status=${PIPESTATUS[0]}
    if [ "$status" -eq 0 ]; then
        results+=("PASS  $name ($((SECONDS - t0)) s)")
        passed=$((passed + 1))
    else
        results+=("FAIL  $name ($((SECONDS - t0)) s, exit $status; log: $logs/$name.log)")
        failed=$((failed + 1))
    fi
}

sources() {
    find . \( -type d \( -name .git -o -name 'build*' -o -name node_modules -o -name .stack \
        -o -path ./ui/vendor \) -prune \) -o -type f \( -name '*.c' -o -name '*.h' \) -print |
        LC_ALL=C sort
}

format() {
    sources | xargs clang-format --dry-run --Werror
}

build_and_ctest() { # dir cmake-args...
    local dir=$1
    shift
    cmake -S . -B "$dir" "$@" >/dev/null &&
        cmake --build "$dir" -j"$jobs" &&
        ctest --test-dir "$dir" --output-on-failure -j"$jobs"
}

fuzz() {
    [ -x tests/fuzz/run.sh ] || {
        echo "tests/fuzz/run.sh is missing"
        return 1
    }
    CC=clang cmake -S . -B build-fuzz -DVG_FUZZ=ON >/dev/null &&
        cmake --build build-fuzz -j"$jobs" &&
        tests/fuzz/run.sh build-fuzz "$fuzz_seconds"
}

# Test files one after the other: the stacks they start share the machine's two cores.
node_tests() { # dir
    local files
    mapfile -t files < <(find "$1" -name '*.test.mjs' | LC_ALL=C sort)
    [ ${#files[@]} -gt 0 ] || {
        echo "no *.test.mjs in $1"
        return 1
    }
    if node --help | grep -q -- --test-timeout; then
        # A hung test must fail, not eat CI's time: 10 minutes a test at most, and no open
        # handle may keep the runner alive after the last test.
        node --test --test-concurrency=1 --test-timeout=600000 --test-force-exit "${files[@]}"
    elif node --help | grep -q -- --test-concurrency; then
        node --test --test-concurrency=1 "${files[@]}"
    else # node 18 has no --test-concurrency
        local f rc=0
        for f in "${files[@]}"; do
            node --test "$f" || rc=1
        done
        return $rc
    fi
}

# The daemons under test are the sanitizer build: a sanitizer report fails the stack's stop().
# Tests bound the daemons' memory by their RSS, which ASan's default 256 MB quarantine of freed
# blocks would inflate.
integration() {
    export VG_BUILD_DIR=$repo/build-asan
    export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=8
    node_tests tests/integration
}

step setup tools/setup.sh
step format format
step build build_and_ctest build -DCMAKE_BUILD_TYPE=Release -DVG_WERROR=ON
# Reads the objects of the Release build: no cross-file call cycles (tools/lint/call-cycles.mjs).
step lint node tools/lint/call-cycles.mjs build
step asan build_and_ctest build-asan -DVG_SANITIZE=ON -DVG_WERROR=ON
step fuzz fuzz
step integration integration
step e2e node_tests tests/e2e

echo
echo "=== summary"
printf '%s\n' "${results[@]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
