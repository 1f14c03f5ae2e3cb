#!/usr/bin/env bash
# Behaviour check for performance work: run two builds over the same inputs and diff.
#   bench/same-output.sh OLD_BIN_DIR NEW_BIN_DIR [WORK_DIR]
# Each BIN_DIR holds `statelint` and `dump-objects` (target/release/examples/dump-objects).
# Inputs: generated N=1k and N=10k (gen-manifests, seed 7), every conformance case input,
# the public corpus (read in place). Compares `statelint check --format json` stdout + exit
# code byte for byte, and the dump-objects snapshot (typed bodies + the span of every node).
set -euo pipefail
old=$1 new=$2 work=${3:-/tmp/statelint-same}
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${SHARED:-/work/shared}
mkdir -p "$work"
for n in 1000 10000; do
  [ -d "$work/n$n" ] || "$root/target/release/examples/gen-manifests" $n "$work/n$n" 7 >/dev/null
done
# hand-written edge cases: wrong types in every typed kind, Lists, beta apiVersions, anchors
mkdir -p "$work/tricky"
cat >"$work/tricky/wrong.yaml" <<'YAML'
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: x, labels: {a: "1", b: 2}}
spec:
  replicas: "three"
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: x2}
spec:
  template:
    spec:
      containers: [{name: a, ports: [{containerPort: x}]}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: dep}
spec:
  template:
    spec:
      containers: [{name: a, ports: [{containerPort: x}]}]
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: cj}
spec: {jobTemplate: {spec: {template: {spec: {containers: 3}}}}}
---
apiVersion: v1
kind: Service
metadata: {name: s}
spec: {ports: [{port: "http"}]}
---
apiVersion: policy/v1beta1
kind: PodDisruptionBudget
metadata: {name: p}
spec: {minAvailable: [1]}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: c}
data: {a: {b: c}}
YAML
cat >"$work/tricky/ok.yaml" <<'YAML'
apiVersion: v1
kind: List
items:
- apiVersion: apps/v1beta1
  kind: StatefulSet
  metadata: {name: zk, namespace: "é", annotations: {statelint.io/ignore: "SL001, pdb-quorum"}}
  spec:
    template:
      metadata: {labels: &l {app: zk}}
      spec:
        containers:
        - &c {name: zk, image: "<IMAGE>", args: ["--x={{ .Values.y }}", "ns.${NAMESPACE}"]}
        - <<: *c
          name: zk2
- apiVersion: v1
  kind: Service
  metadata: {name: zk-hs, labels: *l}
  spec: {clusterIP: None, selector: *l}
- apiVersion: v1
  kind: Pod
  metadata: {name: pod}
  spec: {containers: [{name: a, image: b}]}
- apiVersion: v1
  kind: PodTemplate
  metadata: {name: pt}
  template: {spec: {containers: [{name: a, image: b}]}}
- {apiVersion: v1, kind: Secret, metadata: {name: s}}
- {kind: NoVersion}
YAML
printf '{"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "j"}, "spec": {"maxUnavailable": "50%%"}}\n' >"$work/tricky/pdb.json"
printf 'a: 1\n\0b: 2\n' >"$work/tricky/binary.yaml"
printf 'a: \xff\n' >"$work/tricky/latin1.yaml"
inputs=("$work/tricky" "$work/n1000" "$work/n10000" "$shared/corpus")
for c in "$shared"/conformance/cases/*/; do inputs+=("$c/input"); done
fail=0
for i in "${inputs[@]}"; do
  for bin in old new; do
    dir=${!bin}
    rc=0
    (cd "$(dirname "$i")" && "$dir/statelint" check --format json "$(basename "$i")") \
      >"$work/$bin.json" 2>"$work/$bin.err" || rc=$?
    echo "exit $rc" >>"$work/$bin.json"
  done
  if ! cmp -s "$work/old.json" "$work/new.json" || ! cmp -s "$work/old.err" "$work/new.err"; then
    echo "DIFF check: $i"; diff "$work/old.json" "$work/new.json" | head -20; fail=1
  fi
done
for i in "$work/tricky" "$work/n1000" "$shared/corpus" "$shared"/conformance/cases/*/input; do
  "$old/dump-objects" "$i" >"$work/old.dump"
  "$new/dump-objects" "$i" >"$work/new.dump"
  if ! cmp -s "$work/old.dump" "$work/new.dump"; then
    echo "DIFF dump: $i"; diff "$work/old.dump" "$work/new.dump" | head -20; fail=1
  fi
done
[ $fail = 0 ] && echo "same output over ${#inputs[@]} inputs"
exit $fail
