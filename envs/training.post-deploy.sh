#!/usr/bin/env bash
# Run by Snakemake once in the new env, from the workflow's directory: flash-attn, then this checkout's ded
# (envs/install-ded.sh). flash-attn is published as source only and its build imports torch (hence no build
# isolation); it first looks for a prebuilt wheel matching this torch/CUDA/Python, else compiles with the nvcc on
# PATH (MAX_JOBS bounds the memory).
set -euo pipefail
if [ ! -f envs/install-ded.sh ]; then
  echo "post-deploy: no envs/install-ded.sh in $(pwd): run snakemake from the repository root" >&2
  exit 1
fi
export MAX_JOBS=${MAX_JOBS:-8}
exec bash envs/install-ded.sh flash-attn==2.8.3.post2
