#!/usr/bin/env bash
# `statelint audit` benchmark: a fake cluster (examples/fake_cluster.rs: the tests' fake API
# server on loopback, paged lists) holding the generator's N StatefulSets with their Services
# and PDBs (a quarter broken), audited end to end: list every kind in pages of 500, convert,
# index, run every rule, write JSON. Compared with `statelint check` of the same files.
#
#   bench/audit.sh               # N=10000, writes bench/audit-results.md
#   N=1000 RUNS=3 bench/audit.sh
#
# Env: N (default 10000), RUNS (hyperfine runs, default 5), BENCH_DIR (default
# /tmp/statelint-audit-bench), OUT (default bench/audit-results.md).
# Needs: hyperfine, GNU time (/usr/bin/time). The fake server shares the 2 cores with audit:
# the wall time includes serving and encoding every page, as a real API server would.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
n=${N:-10000}
runs=${RUNS:-5}
work=${BENCH_DIR:-/tmp/statelint-audit-bench}
out=${OUT:-$root/bench/audit-results.md}
command -v hyperfine >/dev/null || { echo "hyperfine is missing: apt-get install hyperfine" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "GNU time is missing: apt-get install time" >&2; exit 1; }

(cd "$root" && cargo build --release --features cluster --bin statelint \
  --example gen-manifests --example fake_cluster 2>&1 | tail -1)
target=${CARGO_TARGET_DIR:-$root/target}/release
mkdir -p "$work"
rm -rf "$work/in"
"$target/examples/gen-manifests" "$n" "$work/in" >/dev/null
bytes=$(du -sb "$work/in" | cut -f1)

"$target/examples/fake_cluster" "$work/in" "$work/kubeconfig" >"$work/server.out" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 600); do grep -q '^ready' "$work/server.out" 2>/dev/null && break; sleep 0.1; done
objects=$(awk '/^ready/ {print $2}' "$work/server.out")
export KUBECONFIG=$work/kubeconfig

audit_cmd="$target/statelint audit --format json"
check_cmd="$target/statelint check --format json $work/in"
# the same findings? (rule, object, message; positions aside)
$audit_cmd >"$work/audit-out.json" || true
$check_cmd >"$work/check-out.json" || true
counts=$(python3 - "$work/audit-out.json" "$work/check-out.json" <<'PY'
import json, sys
a, c = (json.load(open(p)) for p in sys.argv[1:3])
key = lambda f: (f["code"], json.dumps(f["object"], sort_keys=True), f["message"])
same = sorted(map(key, a["findings"])) == sorted(map(key, c["findings"]))
print(len(a["findings"]), len(c["findings"]), a["summary"]["statefulsets"], c["summary"]["statefulsets"], "yes" if same else "NO")
PY
)
read -r fa fc sa sc same <<<"$counts"

row() { # name cmd -> "mean sd cpu rss"
  hyperfine -N -i --warmup 1 --runs "$runs" --export-json "$work/$1-hf.json" "$2" >/dev/null 2>&1
  read -r mean sd cpu < <(python3 -c "import json,sys; r=json.load(open(sys.argv[1]))['results'][0]; print(r['mean'], r['stddev'] or 0, r['user'] + r['system'])" "$work/$1-hf.json")
  /usr/bin/time -o "$work/$1.time" -f "%M" $2 >/dev/null 2>&1 || true
  rss=$(tail -1 "$work/$1.time")
  echo "$mean $sd $cpu $rss"
}
read -r am asd acpu arss <<<"$(row audit "$audit_cmd")"
read -r cm csd ccpu crss <<<"$(row check "$check_cmd")"
server_rss=$(awk '/VmHWM/ {print $2}' /proc/$server/status)

{
  echo "# statelint audit benchmark"
  echo
  echo "$(date -u +%Y-%m-%d), $(nproc) cores, N=$n StatefulSets ($objects objects in the fake cluster, $((bytes / 1000000)) MB of YAML as files), hyperfine $runs runs, load average $(cut -d' ' -f1 /proc/loadavg) at the end (wall times on this shared machine are noisy; CPU time is steadier)."
  echo "Command: \`N=$n bench/audit.sh\`."
  echo
  echo "| command | wall (mean ± sd) | CPU user+sys | peak RSS | findings | StatefulSets |"
  echo "|---|---|---|---|---|---|"
  printf '| `statelint audit --format json` (fake API server, pages of 500) | %.3f s ± %.3f | %.3f s | %d MB | %s | %s |\n' "$am" "$asd" "$acpu" $((arss / 1024)) "$fa" "$sa"
  printf '| `statelint check --format json DIR` (same objects as files) | %.3f s ± %.3f | %.3f s | %d MB | %s | %s |\n' "$cm" "$csd" "$ccpu" $((crss / 1024)) "$fc" "$sc"
  echo
  echo "Same findings as check, finding for finding (rule, object, message): $same."
  echo "The fake API server (examples/fake_cluster.rs) runs on the same cores and peaked at $((server_rss / 1024)) MB;"
  echo "audit's wall time includes it serving and encoding every page."
} >"$out"
cat "$out"
