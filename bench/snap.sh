#!/usr/bin/env bash
# Build release statelint + dump-objects and copy them to /tmp/perfbench/NAME (for A/B).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --bin statelint --example dump-objects 2>&1 | grep -E '^(warning|error)' -A5 || true
mkdir -p /tmp/perfbench/$1
cp target/release/statelint target/release/examples/dump-objects /tmp/perfbench/$1/
