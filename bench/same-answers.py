#!/usr/bin/env python3
"""Behaviour check for build changes of the webhook (a profile-guided build, other flags): the
same AdmissionReviews to two `statelint serve` binaries, answers compared byte for byte.

    python3 bench/same-answers.py OLD_BIN NEW_BIN DIR [DIR...]

A CREATE review is made of every StatefulSet, Service, PodDisruptionBudget and ConfigMap in the
YAML files under the DIRs (e.g. fixtures/ and ../shared/corpus/); each binary runs
`serve --insecure-http --no-cluster` on loopback and answers them in turn over one keep-alive
connection. Exit 1 when an answer differs. Needs PyYAML.
"""
import glob
import http.client
import json
import os
import subprocess
import sys
import time

import yaml

RESOURCES = {"StatefulSet": ("apps", "statefulsets"), "Service": ("", "services"),
             "PodDisruptionBudget": ("policy", "poddisruptionbudgets"), "ConfigMap": ("", "configmaps")}


def reviews(dirs):
    out = []
    for d in dirs:
        for f in sorted(glob.glob(os.path.join(d, "**", "*.y*ml"), recursive=True)):
            try:
                docs = list(yaml.safe_load_all(open(f, encoding="utf-8")))
            except (yaml.YAMLError, UnicodeDecodeError):
                continue  # templates and deliberately broken files
            for doc in docs:
                if not isinstance(doc, dict) or doc.get("kind") not in RESOURCES:
                    continue
                group, resource = RESOURCES[doc["kind"]]
                meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
                out.append(json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                    "request": {"uid": "same-answers", "kind": {"group": group, "version": "v1", "kind": doc["kind"]},
                                "resource": {"group": group, "version": "v1", "resource": resource},
                                "name": meta.get("name"), "namespace": meta.get("namespace", "default"),
                                "operation": "CREATE", "userInfo": {"username": "same-answers"},
                                "object": doc, "dryRun": False}}, default=str))
    return out


def answers(binary, port, bodies):
    server = subprocess.Popen([binary, "serve", "--insecure-http", "--no-cluster", "--addr", f"127.0.0.1:{port}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                conn.request("GET", "/healthz")
                conn.getresponse().read()
                break
            except OSError:
                time.sleep(0.1)
        else:
            sys.exit(f"error: {binary} did not start listening on 127.0.0.1:{port}")
        out = []
        for body in bodies:
            conn.request("POST", "/validate", body, {"content-type": "application/json"})
            r = conn.getresponse()
            out.append((r.status, r.read()))
        return out
    finally:
        server.terminate()
        server.wait()


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    old, new, dirs = sys.argv[1], sys.argv[2], sys.argv[3:]
    bodies = reviews(dirs)
    if not bodies:
        sys.exit(f"error: no StatefulSet, Service, PDB or ConfigMap under {' '.join(dirs)}")
    a, b = answers(old, 18611, bodies), answers(new, 18612, bodies)
    differ = [i for i, (x, y) in enumerate(zip(a, b)) if x != y]
    denied = sum(1 for _, body in a if b'"allowed":false' in body)
    print(f"{len(bodies)} reviews, {denied} denied, {len(differ)} answers differ")
    for i in differ[:5]:
        print(f"review {i}: {a[i][1][:300]!r}\n      vs {b[i][1][:300]!r}")
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
