#!/usr/bin/env bash
# The installer every envs/<env>.post-deploy.sh calls. Snakemake runs <env>.post-deploy.sh (it looks for that name
# next to <env>.yaml) once inside a freshly created conda env, from the workflow's directory. This installs the env's
# source-only packages given as arguments (pip requirements, built against the env's own torch: no build isolation),
# then this checkout's `ded` package, editable (the rules' scripts import it).
# Snakemake's env hash covers each <env>.post-deploy.sh but not this file: after changing it, recreate the envs.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
grep -qs '^name = "ded"' "$root/pyproject.toml" || { echo "install-ded: $root is not a ded checkout" >&2; exit 1; }
if [ "$#" -gt 0 ]; then
  python -m pip install --no-build-isolation "$@"
fi
python -m pip install --no-deps --no-build-isolation -e "$root"
