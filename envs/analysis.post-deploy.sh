#!/usr/bin/env bash
# Run by Snakemake once in the new env, from the workflow's directory: this checkout's ded (envs/install-ded.sh).
set -euo pipefail
if [ ! -f envs/install-ded.sh ]; then
  echo "post-deploy: no envs/install-ded.sh in $(pwd): run snakemake from the repository root" >&2
  exit 1
fi
exec bash envs/install-ded.sh
