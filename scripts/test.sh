#!/usr/bin/env bash
# The project's test command: runs EVERY test on a machine with only Rust and Python 3.
#
#   bash scripts/test.sh                 # the whole suite
#   bash scripts/test.sh --test cli      # arguments go to `cargo test`
#
# 1. creates a project-local virtualenv, target/venv (python3 -m venv), with the pinned Python
#    tools of tests/requirements.txt (Helm SDK, kubectl, checkov, kubernetes-validate,
#    pre-commit, PyYAML); it is re-created when tests/requirements.txt changes (hash stamp in
#    target/venv/.requirements.sha256). Nothing is installed system-wide.
# 2. puts target/venv/bin first on PATH, so the tests' `python3`, `pre-commit`, `checkov` are
#    the pinned ones;
# 3. runs `cargo test --all-features` (every cargo feature, so no test target is left out).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

venv="$root/target/venv"
req="$root/tests/requirements.txt"
stamp="$venv/.requirements.sha256"
python="${PYTHON:-python3}"

command -v "$python" >/dev/null || { echo "scripts/test.sh: python3 is needed (Python 3.9+)" >&2; exit 2; }
want="$( (cat "$req"; "$python" -c 'import sys; print(sys.version)') | sha256sum | cut -d' ' -f1)"
if [ ! -x "$venv/bin/python3" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "scripts/test.sh: creating target/venv from tests/requirements.txt (about a minute)" >&2
  rm -rf "$venv"
  mkdir -p "$root/target"
  "$python" -m venv "$venv"
  "$venv/bin/python3" -m pip install --quiet --disable-pip-version-check -r "$req"
  echo "$want" >"$stamp"
fi

export VIRTUAL_ENV="$venv"
export PATH="$venv/bin:$PATH"
unset PYTHONHOME
exec cargo test --all-features "$@"
