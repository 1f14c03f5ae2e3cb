#!/usr/bin/env bash
# Profile-guided build of `statelint` with the webhook (`--features server`): the container
# image's binary (Dockerfile) and what bench/webhook.sh measures with PGO=1.
#
#   scripts/pgo-build.sh [CARGO ARGS...]   e.g. --locked, or --example webhook_load
#
# 1. builds an instrumented `statelint` and examples/webhook_load (-Cprofile-generate);
# 2. trains them on fixtures/, never on the benchmark's review: `statelint check fixtures`,
#    then examples/webhook_load with REVIEWS=fixtures (a CREATE review of every StatefulSet,
#    Service, PDB and ConfigMap there, each file's objects as companions), in all four of its
#    modes: the rules, the bare read, SPEC section 6's decode-only floor and the ConfigMap floor,
#    so the servers the benchmark compares are trained alike;
# 3. merges the profile (llvm-profdata of the toolchain's LLVM: `rustup component add llvm-tools`)
#    and builds with it (-Cprofile-use) into $CARGO_TARGET_DIR/pgo (default target/pgo): the
#    binary is target/pgo/release/statelint.
#
# To check that a build answers as a plain one does: bench/same-answers.py (webhook) and
# bench/same-output.sh (CLI).
#
# Takes two release builds (about 5 minutes each on 2 cores). The pre-commit hook and
# `cargo install` build without it: PGO only changes how the code is laid out and inlined
# (hot paths together, cold ones apart), never what it does.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
target=${CARGO_TARGET_DIR:-$root/target}
host=$(rustc -vV | sed -n 's/^host: //p')
profdata_tool=$(rustc --print sysroot)/lib/rustlib/$host/bin/llvm-profdata
if [ ! -x "$profdata_tool" ]; then
  echo "error: $profdata_tool not found: PGO needs the toolchain's own llvm-profdata." >&2
  echo "  install it with: rustup component add llvm-tools" >&2
  exit 2
fi
gen=$target/pgo-gen
raw=$target/pgo-data/raw
rm -rf "$raw"
mkdir -p "$raw"
flags=${RUSTFLAGS:-}

echo "pgo-build: 1/3 instrumented build ($gen)" >&2
RUSTFLAGS="$flags -Cprofile-generate=$raw" cargo build --release --quiet --features server \
  --target-dir "$gen" --bin statelint --example webhook_load "$@"

echo "pgo-build: 2/3 training on fixtures/" >&2
# findings (exit 1) and input errors (2) are expected: the fixtures are made to fail
rc=0
"$gen/release/statelint" check --format json fixtures >/dev/null 2>&1 || rc=$?
if [ "$rc" -gt 2 ]; then
  echo "error: the instrumented statelint failed (exit $rc) on fixtures/" >&2
  exit 1
fi
# a fixed number of reviews (16 connections x 300, each of the ~1,100 reviews about four times),
# not a fixed time: nearly the same counts from one build to the next (two trainings overlap by
# 99.9% of edge counts, `llvm-profdata overlap`), so nearly the same layout
for mode in check bare decode floor; do
  REQUESTS=300 REVIEWS=fixtures "$gen/release/examples/webhook_load" 16 600 "$mode" >&2
done

# the profile's path carries its hash: a new profile changes RUSTFLAGS, so cargo rebuilds
merged=$target/pgo-data/merged.profdata
"$profdata_tool" merge -o "$merged" "$raw"
sum=$(sha256sum "$merged" | cut -c1-16)
profile=$target/pgo-data/statelint-$sum.profdata
mv "$merged" "$profile"
echo "pgo-build: 3/3 optimized build with $profile ($target/pgo)" >&2
RUSTFLAGS="$flags -Cprofile-use=$profile" cargo build --release --quiet --features server \
  --target-dir "$target/pgo" --bin statelint "$@"
echo "$target/pgo/release"
