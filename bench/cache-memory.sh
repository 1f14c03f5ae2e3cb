#!/usr/bin/env bash
# Watch-cache memory of `statelint serve` (issue 15): the real binary lists and watches the
# fake API server (examples/fake_apiserver, a separate process on loopback, through a
# kubeconfig) loaded with N Services, N/10 StatefulSets, N/10 PDBs and 20,000 ConfigMaps
# (Helm-style objects with managedFields and status, see the example's header).
#
# For each size: time to /readyz 200, steady RSS 2 s after the sync, memory per object
# ((steady - empty-cluster RSS) / objects), then the peak RSS of a relist: the fake expires every
# watch (410 Gone), all four kinds relist, and the peak (VmHWM, reset just before through
# /proc/PID/clear_refs) is compared with the steady RSS. Then the same per kind alone.
#
#   bash bench/cache-memory.sh                      # this tree's binary
#   STATELINT=path/to/statelint bash bench/cache-memory.sh   # another build (e.g. before)
#   SIZES="10000" KINDS=0 bash bench/cache-memory.sh         # quicker
#
# Prints a markdown table on stdout. Needs curl. Linux only (/proc).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
sizes=${SIZES-"10000 50000 100000"}
cms=${CONFIGMAPS:-20000}
per_kind=${KINDS:-1}
target=${CARGO_TARGET_DIR:-$root/target}
cargo build --profile release --quiet --features server --bin statelint --example fake_apiserver
bin=${STATELINT:-$target/release/statelint}
fake=$target/release/examples/fake_apiserver
port=${PORT:-18461}
tmp=$(mktemp -d)
fpid=""
spid=""
stop() {
  for p in $spid $fpid; do
    kill "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  spid=""
  fpid=""
}
trap 'stop; rm -rf "$tmp"' EXIT

kb() { awk -v k="$2:" '$1==k {print $2}' "/proc/$1/status"; }
mb() { awk -v k="$1" 'BEGIN{printf "%.1f", k/1024}'; }
synced_lines() { grep -c '"watch cache synced"' "$tmp/serve.log" || true; }

# run SERVICES STATEFULSETS PDBS CONFIGMAPS -> sets sync_s steady_kb relist_kb estimate
run() {
  rm -f "$tmp/kubeconfig" "$tmp/fake.out" "$tmp/serve.log"
  "$fake" --services "$1" --statefulsets "$2" --pdbs "$3" --configmaps "$4" \
    --kubeconfig "$tmp/kubeconfig" >"$tmp/fake.out" &
  fpid=$!
  until grep -q '^ready' "$tmp/fake.out" 2>/dev/null && [ -s "$tmp/kubeconfig" ]; do sleep 0.2; done
  local fport
  fport=$(awk '/^ready/ {print $2}' "$tmp/fake.out")
  local t0
  t0=$(date +%s.%N)
  KUBECONFIG="$tmp/kubeconfig" "$bin" serve --addr "127.0.0.1:$port" --insecure-http \
    --log-format json 2>"$tmp/serve.log" &
  spid=$!
  until curl -sf "http://127.0.0.1:$port/readyz" >/dev/null; do
    kill -0 "$spid" 2>/dev/null || { echo "statelint serve exited: $(cat "$tmp/serve.log")" >&2; exit 1; }
    sleep 0.1
  done
  sync_s=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')
  sleep 2
  steady_kb=$(kb "$spid" VmRSS)
  estimate=$(curl -sf "http://127.0.0.1:$port/metrics" | awk '/^statelint_cache_bytes/ {s+=$2} END {if (s) printf "%.1f", s/1048576; else print "n/a"}')
  # relist: reset the peak, expire every watch, wait for the four kinds to sync again
  local before
  before=$(synced_lines)
  echo 5 >"/proc/$spid/clear_refs"
  curl -sf -X POST "http://127.0.0.1:$fport/fake/expire" >/dev/null
  until [ "$(synced_lines)" -ge $((before + 4)) ]; do sleep 0.2; done
  sleep 1
  relist_kb=$(kb "$spid" VmHWM)
  stop
}

echo "binary: $bin"
echo
run 0 0 0 0
base_kb=$steady_kb
echo "empty cluster: steady RSS $(mb "$base_kb") MB"
echo
echo "| Services | StatefulSets | PDBs | ConfigMaps | sync s | steady RSS MB | bytes/object | relist peak MB | peak / steady | cache_bytes estimate MB |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for n in $sizes; do
  s=$((n / 10))
  run "$n" "$s" "$s" "$cms"
  objects=$((n + 2 * s + cms))
  echo "| $n | $s | $s | $cms | $sync_s | $(mb "$steady_kb") | $(( (steady_kb - base_kb) * 1024 / objects )) | $(mb "$relist_kb") | $(awk -v a="$relist_kb" -v b="$steady_kb" 'BEGIN{printf "%.2f", a/b}') | $estimate |"
done
if [ "$per_kind" = 1 ]; then
  echo
  echo "| one kind alone | objects | steady RSS MB | bytes/object | relist peak / steady |"
  echo "|---|---|---|---|---|"
  for spec in "Services:20000 0 0 0:20000" "StatefulSets:0 10000 0 0:10000" "PDBs:0 0 10000 0:10000" \
              "ConfigMaps (1 in 10 kept):0 0 0 20000:20000"; do
    IFS=: read -r label counts objects <<<"$spec"
    # shellcheck disable=SC2086
    run $counts
    echo "| $label | $objects | $(mb "$steady_kb") | $(( (steady_kb - base_kb) * 1024 / objects )) | $(awk -v a="$relist_kb" -v b="$steady_kb" 'BEGIN{printf "%.2f", a/b}') |"
  done
fi
