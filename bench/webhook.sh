#!/usr/bin/env bash
# Webhook benchmark (SPEC section 6): TLS on loopback, 16 keep-alive connections, 10 s each.
# Prints a markdown table on stdout.
#  1. examples/webhook_load: the real server (start_with_runner) and an in-process HTTPS client
#     on 16 connections, same build: "floor" (a ConfigMap CREATE review no rule concerns, decoded
#     and answered), "bare" (the Kafka StatefulSet review read into an Object, answered
#     `allowed: true` without rules) and "check" (the same ~1.3 KB Kafka StatefulSet CREATE,
#     every rule; the floor's review is padded to its size), and "decode": SPEC section 6's own
#     floor, "a bare axum + rustls server decoding the review" (the same Kafka StatefulSet
#     review decoded whole by axum's Json<AdmissionReview<DynamicObject>>, answered allowed).
#     Issue 15's target: check >= 0.80x the floor's admissions/s, and check's p99 <= 2x the
#     floor's (the "vs" columns; both floors are shown);
#  2. wrk (a separate process, one thread) against the `statelint serve` binary with JSON
#     decision logs on, posting the seed's ZooKeeper StatefulSet as a CREATE review.
# The four webhook_load runs are interleaved in ROUNDS rounds (default 5) of SECS seconds each
# (default 4), and each figure is the median over the rounds; the "vs SPEC floor" ratio is the
# median of the per-round ratios (each round's check against the same round's floor). On a shared
# VM one run swings by 20-30% from the next: a single pair of runs says little.
# Needs: wrk (apt-get install -y wrk), openssl, python3. SECS, ROUNDS, CONNS and PROFILE (default
# release) can be set in the environment. PGO=1 measures the profile-guided build the container
# image ships (scripts/pgo-build.sh: trained on fixtures/, not on these reviews; two release
# builds, about 10 minutes) instead of a plain one.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
secs=${SECS:-4}
rounds=${ROUNDS:-5}
conns=${CONNS:-16}
cd "$root"
# PROFILE=profiling reuses a `profiling` build (release code with symbols, same speed)
profile=${PROFILE:-release}
if [ "${PGO:-0}" = 1 ]; then
  bin=$(bash scripts/pgo-build.sh --example webhook_load --example admit_cost)
  build="profile-guided release build (scripts/pgo-build.sh)"
else
  bin=${CARGO_TARGET_DIR:-$root/target}/$profile
  cargo build --profile "$profile" --quiet --features server --bin statelint --example webhook_load --example admit_cost
  build="plain \`$profile\` build"
fi
tmp=$(mktemp -d)
serve_pid=
trap '[ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null; rm -rf "$tmp"' EXIT

parse() { # "... N/s, p50 Xµs, p99 Yµs, ..., cpu Cµs/admission" -> "N X Y C"
  sed -E 's/.* ([0-9]+)\/s, p50 ([0-9]+)µs, p99 ([0-9]+)µs.*, cpu ([0-9.?]+)µs\/admission.*/\1 \2 \3 \4/'
}
load=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")
for r in $(seq "$rounds"); do
  for mode in floor decode bare check; do
    echo "$r $mode $($bin/examples/webhook_load "$conns" "$secs" "$mode" 2>&1 | tail -1 | parse)" >>"$tmp/rounds"
  done
done
# median over the rounds of column $2 (1 admissions/s, 2 p50, 3 p99, 4 CPU) of mode $1
median() { awk -v m="$1" -v c="$2" '$2 == m {print $(c + 2)}' "$tmp/rounds" | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
# median over the rounds of check's column $1 / the SPEC floor's in the same round
median_ratio() {
  awk -v c="$1" '$2 == "decode" {d[$1] = $(c + 2)} $2 == "check" {k[$1] = $(c + 2)} END {for (r in k) printf "%.4f\n", k[r] / d[r]}' "$tmp/rounds" |
    sort -g | awk '{v[NR] = $1} END {printf "%.2f", v[int((NR + 1) / 2)]}'
}
read -r floor_rps floor_p50 floor_p99 floor_cpu < <(echo "$(median floor 1) $(median floor 2) $(median floor 3) $(median floor 4)")
read -r dec_rps dec_p50 dec_p99 dec_cpu < <(echo "$(median decode 1) $(median decode 2) $(median decode 3) $(median decode 4)")
read -r bare_rps bare_p50 bare_p99 bare_cpu < <(echo "$(median bare 1) $(median bare 2) $(median bare 3) $(median bare 4)")
read -r chk_rps chk_p50 chk_p99 chk_cpu < <(echo "$(median check 1) $(median check 2) $(median check 3) $(median check 4)")

# a CA and a server certificate it signs (rustls, the client of the next row, refuses a
# self-signed CA certificate as the server's)
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=statelint-bench-ca \
  -keyout "$tmp/ca.key" -out "$tmp/ca.crt" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout "$tmp/tls.key" -out "$tmp/tls.csr" 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n' >"$tmp/ext.cnf"
openssl x509 -req -in "$tmp/tls.csr" -CA "$tmp/ca.crt" -CAkey "$tmp/ca.key" -CAcreateserial -days 2 \
  -extfile "$tmp/ext.cnf" -out "$tmp/tls.crt" 2>/dev/null

# The `statelint serve` binary itself (the image's, with PGO=1), a separate process with JSON
# decision logs on (one line per admission), the Kafka review's companions from --context;
# client: webhook_load's, URL=. Medians over ROUNDS runs; CPU is the server process's alone.
$bin/examples/webhook_load companions >"$tmp/context.json"
: >"$tmp/binary"
for r in $(seq "$rounds"); do
  $bin/statelint serve --addr 127.0.0.1:18444 --tls-cert "$tmp/tls.crt" --tls-key "$tmp/tls.key" \
    --no-cluster --context "$tmp/context.json" --log-format json >"$tmp/binary.log" 2>&1 &
  serve_pid=$!
  for _ in $(seq 50); do grep -q listening "$tmp/binary.log" 2>/dev/null && break; sleep 0.1; done
  cpu0=$(awk '{print $14 + $15}' "/proc/$serve_pid/stat")
  out=$(URL=https://127.0.0.1:18444/validate CA="$tmp/ca.crt" $bin/examples/webhook_load "$conns" "$secs" check 2>&1 | tail -1)
  cpu1=$(awk '{print $14 + $15}' "/proc/$serve_pid/stat")
  kill "$serve_pid"
  wait "$serve_pid" 2>/dev/null || true
  serve_pid=
  n=$(echo "$out" | sed -E 's/.*: ([0-9]+) admissions.*/\1/')
  # ticks of 10 ms -> µs per admission
  echo "$r binary $(echo "$out" | parse | cut -d' ' -f1-3) $(awk -v a="$cpu0" -v b="$cpu1" -v n="$n" 'BEGIN{printf "%.1f", (b - a) * 10000 / n}')" >>"$tmp/rounds"
done
read -r bin_rps bin_p50 bin_p99 bin_cpu < <(echo "$(median binary 1) $(median binary 2) $(median binary 3) $(median binary 4)")
wrk_row="| \`statelint serve\` binary, JSON decision logs on, wrk -t1 -c$conns (separate process) | n/a | | | | | | | |"
if command -v wrk >/dev/null && python3 -c 'import yaml' 2>/dev/null; then
  python3 - "$root/fixtures/seed/zookeeper.yaml" "$tmp/post.lua" <<'PY'
import json, sys, yaml
sts = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d and d.get("kind") == "StatefulSet"][0]
review = {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
    "uid": "705ab4f5-6393-11e8-b7cc-42010a800002",
    "kind": {"group": "apps", "version": "v1", "kind": "StatefulSet"},
    "resource": {"group": "apps", "version": "v1", "resource": "statefulsets"},
    "name": sts["metadata"]["name"], "namespace": "default", "operation": "CREATE",
    "userInfo": {"username": "bench"}, "object": sts, "dryRun": False}}
open(sys.argv[2], "w").write('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = [['
                             + json.dumps(review) + ']]\n')
PY
  $bin/statelint serve --addr 127.0.0.1:18443 --tls-cert "$tmp/tls.crt" --tls-key "$tmp/tls.key" \
    --no-cluster --log-format json >"$tmp/serve.log" 2>&1 &
  serve_pid=$!
  sleep 1
  out=$(wrk -t1 -c"$conns" -d"${secs}s" --latency -s "$tmp/post.lua" https://127.0.0.1:18443/validate)
  rps=$(echo "$out" | awk '/Requests\/sec/ {printf "%d", $2}')
  ms() { echo "$out" | awk -v p="$1" '$1==p {v=$2; if (v ~ /us$/) {sub(/us/,"",v); printf "%.2f", v/1000} else if (v ~ /ms$/) {sub(/ms/,"",v); printf "%.2f", v} else print v}'; }
  wrk_row="| \`statelint serve\` binary, JSON decision logs on, wrk -t1 -c$conns (separate process) | $rps | $(ms 50%) | $(ms 99%) | $(awk -v a="$rps" -v b="$dec_rps" 'BEGIN{printf "%.2f", a/b}') | | $(awk -v a="$rps" -v b="$floor_rps" 'BEGIN{printf "%.2f", a/b}') | | |"
fi
ms_of() { awk -v u="$1" 'BEGIN{printf "%.2f", u/1000}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a/b}'; }
# CPU µs per admission (server and in-process client, user + system) barely depends on the
# machine's load; floor / check of it is the admissions/s ratio an otherwise idle machine gives.
echo "$build; load average before the runs: $load; $rounds rounds of ${secs} s per server, medians"
echo
echo "check / SPEC floor, round by round: $(awk '$2 == "decode" {d[$1] = $3} $2 == "check" {printf "%.2f ", $3 / d[$1]}' "$tmp/rounds")"
echo
echo "| server | admissions/s | p50 ms | p99 ms | admissions/s vs SPEC floor (decode) | p99 vs SPEC floor | admissions/s vs ConfigMap floor | p99 vs ConfigMap floor | CPU µs/admission |"
echo "|---|---|---|---|---|---|---|---|---|"
echo "| SPEC floor: bare axum + rustls server, the same review decoded whole, \`allowed: true\` (webhook_load decode) | $dec_rps | $(ms_of "$dec_p50") | $(ms_of "$dec_p99") | 1.00 | 1.00 | $(ratio "$dec_rps" "$floor_rps") | $(ratio "$dec_p99" "$floor_p99") | $dec_cpu |"
echo "| ConfigMap floor: statelint's server, a ConfigMap CREATE of the same size, no rule (webhook_load floor) | $floor_rps | $(ms_of "$floor_p50") | $(ms_of "$floor_p99") | $(ratio "$floor_rps" "$dec_rps") | $(ratio "$floor_p99" "$dec_p99") | 1.00 | 1.00 | $floor_cpu |"
echo "| bare: the Kafka StatefulSet read, \`allowed: true\`, no rule (webhook_load bare) | $bare_rps | $(ms_of "$bare_p50") | $(ms_of "$bare_p99") | $(ratio "$bare_rps" "$dec_rps") | $(ratio "$bare_p99" "$dec_p99") | $(ratio "$bare_rps" "$floor_rps") | $(ratio "$bare_p99" "$floor_p99") | $bare_cpu |"
echo "| every rule, Kafka StatefulSet CREATE (webhook_load check) | $chk_rps | $(ms_of "$chk_p50") | $(ms_of "$chk_p99") | **$(median_ratio 1)** (target >= 0.80) | **$(median_ratio 3)** (target <= 2.00) | $(ratio "$chk_rps" "$floor_rps") | $(ratio "$chk_p99" "$floor_p99") | $chk_cpu |"
echo "| \`statelint serve\` binary, a separate process, JSON decision logs on, the same Kafka review (companions from --context), webhook_load's client (URL=) | $bin_rps | $(ms_of "$bin_p50") | $(ms_of "$bin_p99") | $(ratio "$bin_rps" "$dec_rps") | $(ratio "$bin_p99" "$dec_p99") | $(ratio "$bin_rps" "$floor_rps") | $(ratio "$bin_p99" "$floor_p99") | $bin_cpu (server only) |"
echo "$wrk_row"
# Instructions per review without HTTP/TLS (decode, decide, encode; callgrind: noise-free on a
# shared machine, unlike the admissions/s above), from examples/admit_cost.
if command -v valgrind >/dev/null; then
  ir() {
    valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.out" $bin/examples/admit_cost "$1" "$2" >/dev/null 2>&1
    awk '/^(summary|totals):/ {print $2; exit}' "$tmp/cg.out"
  }
  n=500
  per() { echo $(( ($(ir "$1" "$n") - $(ir "$1" 0)) / n )); }
  sts_ir=$(per sts)
  floor_ir=$(per floor)
  dec_ir=$(per decode)
  echo
  echo "callgrind, instructions per review (examples/admit_cost, $n reviews, start-up subtracted):"
  echo "Kafka StatefulSet CREATE $sts_ir; SPEC floor (the same review decoded whole) $dec_ir, ratio $(ratio "$sts_ir" "$dec_ir"); ConfigMap floor $floor_ir, ratio $(ratio "$sts_ir" "$floor_ir")"
fi
