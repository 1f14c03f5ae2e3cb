#!/usr/bin/env bash
# Run one fuzz target for a set time and print its exec counts.
# Usage: fuzz/run.sh TARGET SECONDS [extra libFuzzer args...]
# Needs cargo-fuzz; on a stable toolchain RUSTC_BOOTSTRAP=1 enables the sanitizer flags.
# Crashes land in fuzz/artifacts/TARGET/ and make this script exit non-zero.
set -uo pipefail
target="${1:?usage: run.sh TARGET SECONDS}"
secs="${2:?usage: run.sh TARGET SECONDS}"
shift 2
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
mkdir -p "corpus/$target" "artifacts/$target" logs
[ -n "$(ls -A "corpus/$target" 2>/dev/null)" ] || ./seed.sh >/dev/null
log="logs/$target-$(date +%Y%m%d-%H%M%S).log"
start=$(date +%s)
RUSTC_BOOTSTRAP=1 cargo fuzz run -O "$target" "corpus/$target" -- \
  -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 "$@" \
  >"$log" 2>&1
rc=$?
end=$(date +%s)
echo "target $target: ran $((end - start)) s (exit $rc), log $log"
grep -E '^#[0-9]+[[:space:]]+DONE|^Done [0-9]+ runs|^stat::number_of_executed_units|^stat::peak_rss_mb|^stat::average_exec_per_sec' "$log" || tail -n 20 "$log"
grep -E 'ERROR: libFuzzer|panicked at|SUMMARY|Test unit written to' "$log" || true
exit $rc
