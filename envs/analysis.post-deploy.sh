#!/usr/bin/env bash
# Snakemake runs this once, inside the freshly created conda env, from the directory it runs the workflow in (the
# repository root): it installs this checkout's `ded` package (editable: the rules' scripts import it).
set -euo pipefail
root=$(pwd)
if ! grep -qs '^name = "ded"' "$root/pyproject.toml"; then
  root=$(git rev-parse --show-toplevel 2>/dev/null || true)
  grep -qs '^name = "ded"' "$root/pyproject.toml" || { echo "post-deploy: run snakemake from the repository root" >&2; exit 1; }
fi
python -m pip install --no-deps --no-build-isolation -e "$root"
