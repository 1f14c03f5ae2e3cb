#!/usr/bin/env python3
"""The pre-commit hook, with the real pre-commit, run by `cargo test --test precommit`.

Usage: precommit_test.py FORM SCENARIO
  FORM:     remote | local   (tests/precommit.rs runs each pair)
  SCENARIO: good | bad

- remote: the hook as a repository that ships `.pre-commit-hooks.yaml` is used. A scratch git
  repository holding this repository's real `.pre-commit-hooks.yaml` is the hook repository
  (`repo:` path, `rev:` its commit SHA), so pre-commit reads the real hook definition (id, entry,
  files, types, pass_filenames, require_serial). The config overrides only `language: system`:
  instead of `cargo install`-ing the hook (a release build, minutes) on every change, the
  already-built test binary (STATELINT_BIN, put first on PATH as `statelint`) runs the real
  entry. The cost of the `language: rust` build itself is measured in bench/install.sh.
- local: the `repo: local`, `language: system` configuration documented in docs/install.md
  (taken from the page, so the docs cannot drift), with `statelint` on PATH.

Each scenario is a scratch git repository: a headless Service and a PDB are committed (they do
not change) beside a Helm template (not YAML: context files that do not parse are no error),
then a StatefulSet file is added and staged, and `pre-commit run` checks the staged files, as a
commit would. The hook runs `statelint check --context .`, so the Service in the unchanged file
is found.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

if shutil.which("pre-commit") is None:
    sys.exit(
        "the pre-commit test needs the `pre-commit` Python package, which is not installed\n"
        "run the tests with `bash scripts/test.sh`: it installs tests/requirements.txt into"
        " target/venv and puts target/venv/bin first on PATH"
    )
try:
    import yaml
except ImportError:
    sys.exit(
        "the pre-commit test needs PyYAML, which is not installed\n"
        "run the tests with `bash scripts/test.sh`: it installs tests/requirements.txt into"
        " target/venv and puts target/venv/bin first on PATH"
    )

COMPANIONS = """\
# Committed before the StatefulSet and unchanged by the commit under test.
apiVersion: v1
kind: Service
metadata:
  name: zk-hs
  namespace: data
spec:
  clusterIP: None
  selector:
    app: zk
  ports:
    - name: peer
      port: 2888
    - name: leader-election
      port: 3888
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: zk-pdb
  namespace: data
spec:
  minAvailable: 2
  selector:
    matchLabels:
      app: zk
"""

# Everything a quorum StatefulSet needs: headless Service (other file), PDB at quorum, required
# anti-affinity on the hostname, claim templates with class, modes and size, mounted, non-root.
GOOD = """\
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: zk
  namespace: data
spec:
  serviceName: zk-hs
  replicas: 3
  selector:
    matchLabels:
      app: zk
  template:
    metadata:
      labels:
        app: zk
    spec:
      securityContext:
        runAsUser: 1000
        fsGroup: 1000
      affinity:
        podAntiAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            - topologyKey: kubernetes.io/hostname
              labelSelector:
                matchLabels:
                  app: zk
      containers:
        - name: zookeeper
          image: zookeeper:3.9
          ports:
            - containerPort: 2181
              name: client
          volumeMounts:
            - name: datadir
              mountPath: /data
  volumeClaimTemplates:
    - metadata:
        name: datadir
      spec:
        storageClassName: standard
        accessModes: [ReadWriteOnce]
        resources:
          requests:
            storage: 10Gi
"""

# No Service of that name (SL001), no PDB selects its pods (SL002).
BAD = """\
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: kafka
  namespace: data
spec:
  serviceName: kafka-headless
  replicas: 3
  selector:
    matchLabels:
      app: kafka
  template:
    metadata:
      labels:
        app: kafka
    spec:
      securityContext:
        runAsUser: 1000
        fsGroup: 1000
      affinity:
        podAntiAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            - topologyKey: kubernetes.io/hostname
              labelSelector:
                matchLabels:
                  app: kafka
      containers:
        - name: kafka
          image: apache/kafka:3.8.0
          volumeMounts:
            - name: data
              mountPath: /var/lib/kafka
  volumeClaimTemplates:
    - metadata:
        name: data
      spec:
        storageClassName: standard
        accessModes: [ReadWriteOnce]
        resources:
          requests:
            storage: 100Gi
"""

# Helm templates are not YAML; read as context they must not fail the hook.
HELM_TEMPLATE = """\
apiVersion: v1
kind: Service
metadata:
  name: {{ include "app.fullname" . }}
{{- with .Values.labels }}
  labels: {{- toYaml . | nindent 4 }}
{{- end }}
"""

GIT_ID = {
    "GIT_AUTHOR_NAME": "statelint tests",
    "GIT_AUTHOR_EMAIL": "tests@statelint.invalid",
    "GIT_COMMITTER_NAME": "statelint tests",
    "GIT_COMMITTER_EMAIL": "tests@statelint.invalid",
    "GIT_AUTHOR_DATE": "2000-01-01T00:00:00Z",
    "GIT_COMMITTER_DATE": "2000-01-01T00:00:00Z",
}


def git(*args, cwd, env=None):
    r = subprocess.run(
        ["git", "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false", *args],
        cwd=cwd, env=env, capture_output=True, text=True,
    )
    if r.returncode != 0:
        sys.exit(f"git {' '.join(args)} failed in {cwd}:\n{r.stdout}{r.stderr}")
    return r.stdout.strip()



def hook_repository(folder):
    """A git repository holding only this repository's `.pre-commit-hooks.yaml`; its SHA."""
    env = dict(os.environ, **GIT_ID)
    folder.mkdir()
    git("init", "-q", ".", cwd=folder, env=env)
    shutil.copy(ROOT / ".pre-commit-hooks.yaml", folder / ".pre-commit-hooks.yaml")
    git("add", "-A", cwd=folder, env=env)
    git("commit", "-q", "-m", "hooks", cwd=folder, env=env)
    return git("rev-parse", "HEAD", cwd=folder, env=env)


def documented_local_config():
    """The `repo: local` configuration block of docs/install.md, verbatim."""
    page = (ROOT / "docs" / "install.md").read_text()
    blocks = [b for b in re.findall(r"```yaml\n(.*?)```", page, re.S) if "repo: local" in b]
    if len(blocks) != 1:
        sys.exit(f"docs/install.md should have one ```yaml block with `repo: local`, found {len(blocks)}")
    block = blocks[0]
    # the documented local hook must be the shipped hook, run from PATH
    shipped = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())[0]
    local = yaml.safe_load(block)["repos"][0]["hooks"][0]
    if local.get("language") != "system":
        sys.exit(f"the documented local hook should use `language: system`: {local}")
    for key in ("id", "entry", "files", "types", "pass_filenames", "require_serial"):
        if local.get(key) != shipped.get(key):
            sys.exit(
                f"docs/install.md's local hook has {key}: {local.get(key)!r}, "
                f".pre-commit-hooks.yaml has {shipped.get(key)!r}"
            )
    return block


def scratch_repo(folder, config, staged_name, staged_text):
    env = dict(os.environ, **GIT_ID)
    folder.mkdir()
    git("init", "-q", ".", cwd=folder, env=env)
    (folder / ".pre-commit-config.yaml").write_text(config)
    (folder / "companions.yaml").write_text(COMPANIONS)
    (folder / "chart" / "templates").mkdir(parents=True)
    (folder / "chart" / "templates" / "service.yaml").write_text(HELM_TEMPLATE)
    git("add", "-A", cwd=folder, env=env)
    git("commit", "-q", "-m", "companions", cwd=folder, env=env)
    (folder / staged_name).write_text(staged_text)
    git("add", staged_name, cwd=folder, env=env)


def run_hook(form, scenario):
    binary = os.environ.get("STATELINT_BIN")
    if not binary or not Path(binary).is_file():
        sys.exit("STATELINT_BIN must name the built statelint binary (tests/precommit.rs sets it)")
    name, text = {"good": ("zookeeper.yaml", GOOD), "bad": ("kafka.yaml", BAD)}[scenario]
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        bin_dir = d / "bin"
        bin_dir.mkdir()
        (bin_dir / "statelint").symlink_to(binary)
        if form == "remote":
            rev = hook_repository(d / "hook")
            config = (
                f"repos:\n  - repo: {d / 'hook'}\n    rev: {rev}\n    hooks:\n"
                "      - id: statelint\n"
                "        language: system   # the test binary instead of `cargo install`\n"
            )
        else:
            config = documented_local_config()
        scratch_repo(d / "work", config, name, text)
        env = dict(
            os.environ,
            PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
            PRE_COMMIT_HOME=str(d / "pre-commit-home"),
            PRE_COMMIT_COLOR="never",
            NO_COLOR="1",
        )
        started = time.monotonic()
        # no --files: the staged files, as on `git commit`
        r = subprocess.run(
            ["pre-commit", "run", "--verbose"], cwd=d / "work", env=env, capture_output=True, text=True
        )
        took = time.monotonic() - started
    print(f"pre-commit run ({form}, {scenario}): {took:.1f}s", file=sys.stderr)
    return r


def main():
    form, scenario = (sys.argv[1:] + ["", ""])[:2]
    if form not in ("remote", "local") or scenario not in ("good", "bad"):
        sys.exit("usage: precommit_test.py remote|local good|bad")
    r = run_hook(form, scenario)
    out = r.stdout + r.stderr
    print(out)
    if "An unexpected error has occurred" in out or "CalledProcessError" in out:
        sys.exit("pre-commit could not install or run the hook (see above)")
    if "statelint" not in out:
        sys.exit("the statelint hook did not run")
    if scenario == "good":
        if r.returncode != 0:
            sys.exit("the hook failed on a good StatefulSet whose Service and PDB sit in an unchanged file")
        if "SL001" in out or "SL002" in out:
            sys.exit("the hook did not find the companions in the unchanged file (--context .)")
        if "Passed" not in out:
            sys.exit("the hook did not report Passed on the staged StatefulSet")
    else:
        if r.returncode == 0:
            sys.exit("the hook passed a StatefulSet with no headless Service and no PDB")
        for code in ("SL001", "SL002"):
            if code not in out:
                sys.exit(f"the hook's output has no {code} finding for the bad StatefulSet")
        if "kafka.yaml" not in out:
            sys.exit("the hook's findings do not name the staged file")


if __name__ == "__main__":
    main()
