#!/bin/sh
# Runs every libFuzzer target of a VG_FUZZ=ON build for SECONDS each, starting from its seed
# corpus in tests/fuzz/corpus/<name>/ (copied to a temporary directory, so the repository is
# never written). Prints one line per target; exits 1 if any target crashed.
#
#   tests/fuzz/run.sh BUILD_DIR [SECONDS=20]
set -u

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    echo "usage: $0 BUILD_DIR [SECONDS=20]" >&2
    exit 2
fi
build=$1
seconds=${2:-20}
case $seconds in
'' | *[!0-9]*) echo "$0: SECONDS must be a whole number" >&2; exit 2 ;;
esac
corpora=$(cd "$(dirname "$0")" && pwd)/corpus
work=$(mktemp -d "${TMPDIR:-/tmp}/vg-fuzz.XXXXXX") || exit 1

found=0
failed=0
for bin in "$build"/tests/fuzz_*; do
    [ -x "$bin" ] && [ -f "$bin" ] || continue
    # only libFuzzer binaries understand the options below (the normal build has a replay driver)
    if ! grep -qa 'max_total_time' "$bin"; then
        echo "$0: $bin is not a libFuzzer binary; configure with CC=clang -DVG_FUZZ=ON" >&2
        exit 2
    fi
    found=$((found + 1))
    target=$(basename "$bin")
    name=${target#fuzz_}
    dir=$work/$name
    mkdir -p "$dir/corpus" "$dir/artifacts"
    seeds=0
    if [ -d "$corpora/$name" ]; then
        cp "$corpora/$name"/* "$dir/corpus/" 2>/dev/null
        seeds=$(ls "$dir/corpus" | wc -l)
    fi
    "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$dir/artifacts/" "$dir/corpus" >"$dir/log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -n 1)
    units=$(ls "$dir/corpus" | wc -l)
    crash=$(ls "$dir/artifacts" 2>/dev/null | head -n 1)
    if [ $rc -eq 0 ] && [ -z "$crash" ]; then
        echo "ok      $target: ${runs:-?} runs in ${seconds}s, corpus $seeds -> $units"
    else
        failed=$((failed + 1))
        echo "FAILED  $target (exit $rc): ${crash:+input $dir/artifacts/$crash, }log $dir/log"
    fi
done

if [ $found -eq 0 ]; then
    echo "$0: no fuzz_* binaries in $build/tests" >&2
    rm -rf "$work"
    exit 2
fi
if [ $failed -gt 0 ]; then
    echo "$failed of $found fuzz targets failed; inputs and logs kept in $work"
    exit 1
fi
rm -rf "$work"
exit 0
