#!/usr/bin/env bash
# Snakemake runs this once, inside the freshly created conda env, from the directory it runs the workflow in (the
# repository root): it installs this checkout's `ded` package (editable: the rules' scripts import it).
set -euo pipefail
root=$(pwd)
if ! grep -qs '^name = "ded"' "$root/pyproject.toml"; then
  root=$(git rev-parse --show-toplevel 2>/dev/null || true)
  grep -qs '^name = "ded"' "$root/pyproject.toml" || { echo "post-deploy: run snakemake from the repository root" >&2; exit 1; }
fi
# flash-attn is published as source only and its build imports torch: no build isolation. It first looks for a
# prebuilt wheel matching this torch/CUDA/Python, else compiles with the nvcc on PATH (MAX_JOBS bounds the memory).
MAX_JOBS=${MAX_JOBS:-8} python -m pip install --no-build-isolation flash-attn==2.8.3.post2
python -m pip install --no-deps --no-build-isolation -e "$root"
