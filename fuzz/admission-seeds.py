#!/usr/bin/env python3
"""Seed corpus for the `admission` fuzz target: every object of the fixtures wrapped in an
AdmissionReview as the API server sends it (CREATE, UPDATE with oldObject, DELETE), written to
fuzz/corpus/admission/ (gitignored)."""
import json
import os
import pathlib
import subprocess
import sys

root = pathlib.Path(__file__).resolve().parent.parent
out = root / "fuzz" / "corpus" / "admission"
out.mkdir(parents=True, exist_ok=True)
try:
    import yaml  # PyYAML, if present
except ImportError:
    print("PyYAML missing: pip install pyyaml", file=sys.stderr)
    sys.exit(2)

PLURAL = {"StatefulSet": ("apps", "v1", "statefulsets"), "Service": ("", "v1", "services"),
          "PodDisruptionBudget": ("policy", "v1", "poddisruptionbudgets")}
n = 0
for f in sorted(root.glob("fixtures/**/*.yaml")):
    try:
        docs = list(yaml.safe_load_all(f.read_text()))
    except yaml.YAMLError:
        continue  # a Helm template (fixtures/charts): not a manifest until rendered
    for doc in docs:
        if not isinstance(doc, dict) or doc.get("kind") not in PLURAL:
            continue
        group, version, resource = PLURAL[doc["kind"]]
        meta = doc.get("metadata") or {}
        for op in ("CREATE", "UPDATE", "DELETE"):
            req = {"uid": f"seed-{n}", "kind": {"group": group, "version": version, "kind": doc["kind"]},
                   "resource": {"group": group, "version": version, "resource": resource},
                   "name": meta.get("name", ""), "namespace": meta.get("namespace", "default"),
                   "operation": op, "userInfo": {"username": "fuzz"}, "dryRun": False}
            if op != "DELETE":
                req["object"] = doc
            if op != "CREATE":
                req["oldObject"] = doc
            review = {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": req}
            (out / f"seed-{n}.json").write_text(json.dumps(review))
            n += 1
print(f"{n} AdmissionReviews in {out}")
