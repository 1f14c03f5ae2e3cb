#!/usr/bin/env python3
"""Render a Helm chart folder offline, to check real charts with statelint (docs/corpus.md,
"Rendered charts beyond the corpus").

    python3 scripts/render-chart.py CHART [--name REL] [--namespace NS] [--deps DIR]...
                                    [-f FILE]... [--set K=V]... [--set-string K=V]...
                                    [--stub NAME]... [--api-versions V]... > out.yaml

Renders with Helm v4 as a library (helm-python-sdk), through tests/tools/helm, our
`helm template` stand-in: run `bash scripts/test.sh --test docs` once, then use
`target/venv/bin/python3`. Nothing is fetched: a dependency that the chart's `charts/` folder
lacks (Bitnami's `common`, Kafka's `zookeeper` subchart...) is taken from a folder named like
it under one of the `--deps` folders (e.g. `--deps bitnami-charts/bitnami`), copied with the
chart into a temporary folder (the chart folder itself is never written). Versions are not
compared: the folder found is used as it is. `--stub NAME` stands an empty chart in for a
dependency that the values switch off (e.g. Pulsar's `victoria-metrics-k8s-stack` with
`--set victoria-metrics-k8s-stack.enabled=false`), so that Helm does not ask for it.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HELM = os.path.join(ROOT, "tests", "tools", "helm")


def chart_meta(folder):
    """(name, dependency names) of the chart in `folder` (Chart.yaml, or a v1 chart's
    requirements.yaml)."""
    import yaml

    with open(os.path.join(folder, "Chart.yaml")) as f:
        meta = yaml.safe_load(f) or {}
    deps = meta.get("dependencies") or []
    req = os.path.join(folder, "requirements.yaml")
    if not deps and os.path.exists(req):
        with open(req) as f:
            deps = (yaml.safe_load(f) or {}).get("dependencies") or []
    return meta.get("name"), [d["name"] for d in deps]


def present(charts_dir, name):
    if os.path.isdir(os.path.join(charts_dir, name)):
        return True
    if os.path.isdir(charts_dir):
        return any(
            f.startswith(name + "-") and f.endswith(".tgz") for f in os.listdir(charts_dir)
        )
    return False


def fill(folder, deps_dirs, stubs):
    """Copy the dependencies `folder` lacks from `deps_dirs` into its `charts/`, recursively;
    write an empty chart for those named in `stubs`."""
    _, deps = chart_meta(folder)
    charts = os.path.join(folder, "charts")
    for dep in deps:
        if not present(charts, dep) and dep in stubs:
            os.makedirs(os.path.join(charts, dep))
            with open(os.path.join(charts, dep, "Chart.yaml"), "w") as f:
                f.write(f"apiVersion: v2\nname: {dep}\nversion: 0.0.0\n")
            continue
        if not present(charts, dep):
            src = next(
                (
                    os.path.join(d, dep)
                    for d in deps_dirs
                    if os.path.exists(os.path.join(d, dep, "Chart.yaml"))
                ),
                None,
            )
            if src is None:
                sys.exit(
                    f"render-chart: {folder} depends on {dep}, which is neither in its charts/ "
                    f"nor under any --deps folder ({', '.join(deps_dirs) or 'none given'})"
                )
            os.makedirs(charts, exist_ok=True)
            shutil.copytree(src, os.path.join(charts, dep), symlinks=True)
        sub = os.path.join(charts, dep)
        if os.path.isdir(sub):
            fill(sub, deps_dirs, stubs)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("chart")
    p.add_argument("--name", default="release-name")
    p.add_argument("--namespace", "-n", default="default")
    p.add_argument("--deps", action="append", default=[])
    p.add_argument("--stub", action="append", default=[])
    p.add_argument("--values", "-f", action="append", default=[])
    p.add_argument("--set", action="append", default=[])
    p.add_argument("--set-string", action="append", default=[])
    # what statelint passes when it renders a chart itself (docs/charts.md)
    p.add_argument("--api-versions", action="append", default=["policy/v1/PodDisruptionBudget"])
    a = p.parse_args()
    chart = os.path.abspath(a.chart)
    if not os.path.exists(os.path.join(chart, "Chart.yaml")):
        sys.exit(f"render-chart: {a.chart} holds no Chart.yaml")
    with tempfile.TemporaryDirectory(prefix="render-chart-") as tmp:
        name, _ = chart_meta(chart)
        copy = os.path.join(tmp, name or os.path.basename(chart))
        shutil.copytree(chart, copy, symlinks=True)
        fill(copy, [os.path.abspath(d) for d in a.deps], set(a.stub))
        cmd = [sys.executable, HELM, "template", a.name, copy, "--namespace", a.namespace]
        for f in a.values:
            cmd += ["--values", os.path.abspath(f)]
        for s in a.set:
            cmd += ["--set", s]
        for s in a.set_string:
            cmd += ["--set-string", s]
        for v in a.api_versions:
            cmd += ["--api-versions", v]
        sys.exit(subprocess.run(cmd).returncode)


if __name__ == "__main__":
    main()
