#!/usr/bin/env bash
# Seed the fuzz corpora from the repo's fixtures and the shared public corpus.
# fuzz/corpus/ is gitignored: the public manifests are read in place and never committed.
# Usage: fuzz/seed.sh [CORPUS_ROOT]   (default /work/shared/corpus)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(dirname "$here")"
public="${1:-/work/shared/corpus}"
for target in yaml check; do
  dir="$here/corpus/$target"
  mkdir -p "$dir"
  n=0
  while IFS= read -r -d '' f; do
    # flat names: path with / replaced, so files of the same name do not clash
    rel="${f#"$repo"/}"
    cp "$f" "$dir/fixture-${rel//\//_}"
    n=$((n + 1))
  done < <(find "$repo/fixtures" -type f -name '*.yaml' -print0)
  if [ -d "$public" ]; then
    while IFS= read -r -d '' f; do
      rel="${f#"$public"/}"
      cp "$f" "$dir/corpus-${rel//\//_}"
      n=$((n + 1))
    done < <(find "$public" -type f \( -name '*.yaml' -o -name '*.yml' \) -print0)
  fi
  echo "$target: $n seed files in $dir"
done
