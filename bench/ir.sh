#!/usr/bin/env bash
# User-space instruction count (callgrind Ir) of `statelint check --format json DIR`: a
# noise-free A/B number on a shared machine.   bench/ir.sh BIN DIR
# (the total needs no symbols; to attribute it to functions, build BIN with
# `cargo build --profile profiling`: the release profile is stripped)
set -euo pipefail
out=$(mktemp)
valgrind --tool=callgrind --callgrind-out-file="$out" "$1" check --format json "$2" >/dev/null 2>"$out.log" || true
grep -E '^(summary|totals):' "$out" | head -1 | awk -v b="$1" '{printf "%s: %.1f M instructions\n", b, $2/1e6}'
rm -f "$out" "$out.log"
