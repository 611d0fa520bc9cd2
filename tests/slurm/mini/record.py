"""Print, as one JSON object, where this process runs: its Slurm job and step, GPUs, and the launcher variables."""

import json
import os
import subprocess
import sys

KEYS = ["SLURM_JOB_ID", "SLURM_NODEID", "SLURM_STEP_NODELIST", "SLURM_JOB_NODELIST", "SLURM_CPUS_ON_NODE",
        "CUDA_VISIBLE_DEVICES", "FORCE_TORCHRUN", "NNODES", "NODE_RANK", "MASTER_ADDR", "MASTER_PORT"]

record = {k: os.environ.get(k) for k in KEYS}
record["rule"] = sys.argv[1]
record["extra"] = sys.argv[2:]
job = os.environ.get("SLURM_JOB_ID")
record["job"] = subprocess.run(["scontrol", "show", "job", "-o", job], capture_output=True, text=True).stdout \
    if job else ""
print(json.dumps(record))
