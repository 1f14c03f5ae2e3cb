#!/usr/bin/env bash
# Cold `cargo install` of statelint from a source tree: wall time, peak RSS of the build (the
# largest single process, rustc or the linker), crates compiled, installed binary size.
#
#   bench/install.sh [SRC_DIR] [cli|server|both]    (default: this repository, both)
#
# cli:    `cargo install --path SRC`                    what users and the pre-commit hook build
# server: `cargo install --path SRC --features server`  the webhook too (the image's build)
#
# Cold = an empty target dir (CARGO_TARGET_DIR=$(mktemp -d)) and an empty install root; crates
# are already downloaded (~/.cargo/registry), so the network is not measured: `--locked
# --offline`. Prints one Markdown table row per build. Run it on a quiet machine: other builds
# on the same cores stretch the wall time (the script prints the load average before each run).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
src="$(cd "${1:-$here}" && pwd)"
which="${2:-both}"

measure() {
  local label="$1"; shift
  local target root log
  target="$(mktemp -d)"; root="$(mktemp -d)"; log="$(mktemp)"
  echo "# $label: load average $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores" >&2
  CARGO_TARGET_DIR="$target" /usr/bin/time -v \
    cargo install --locked --offline --path "$src" --root "$root" "$@" >"$log" 2>&1 || {
    tail -30 "$log" >&2; exit 1; }
  local wall rss crates size
  wall="$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$log")"
  rss="$(awk -F': ' '/Maximum resident set size/ {printf "%d MB", $2/1024}' "$log")"
  crates="$(grep -c '^ *Compiling ' "$log" || true)"
  size="$(stat -c %s "$root/bin/statelint" | awk '{printf "%.1f MB", $1/1e6}')"
  echo "| \`cargo install --path .$( [ $# -gt 0 ] && printf ' %s' "$@")\` | $wall | $rss | $crates | $size |"
  rm -rf "$target" "$root" "$log"
}

echo "| build | wall (m:ss) | peak RSS | crates compiled | binary |"
echo "|---|---|---|---|---|"
case "$which" in
  cli) measure cli ;;
  server) measure server --features server ;;
  both) measure cli; measure server --features server ;;
  *) echo "usage: bench/install.sh [SRC_DIR] [cli|server|both]" >&2; exit 2 ;;
esac
