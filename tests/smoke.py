"""The smallest config of the whole DAG, and a scratch copy of the workflow to run it in.

The smoke config is config/config.yaml with smaller sizes (SMOKE_OVERRIDES), written next to the copy, so that it
never drifts from the embedded default. Used by the end-to-end test and by the Slurm test, which compares its run
with the local one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from ded.config import deep_merge

ROOT = Path(__file__).resolve().parent.parent
SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")

SMOKE_OVERRIDES: dict = {
    # shorter pretraining: weaker teachers (the smoke run checks that every stage runs and connects; the embedded
    # default is where the teachers are tuned to solve 40-90% of the tasks)
    "tinyworld": {"models": {"teacher_concise": {"pretrain_steps": 1000}, "teacher_verbose": {"pretrain_steps": 1000},
                             "student": {"pretrain_steps": 400}}},
    "seeds": {"math": {"n": 24}, "code": {"n": 16}},
    "benchmarks": {
        "aime24": {"n": 8, "samples": 2},
        "aime25": {"n": 8, "samples": 2},
        "math500": {"n": 12},
        "gpqa_diamond": {"n": 8},
        "livecodebench": {"n": 9, "samples": 2},
    },
    "sampling": {"shard_size": 24},
    "evaluation": {"bootstrap": 200},
    "claims": {"bootstrap": 200},
    "ood": {"limit": 8, "data_n": 8},
}


def tracked_files(root: Path = ROOT) -> list[str]:
    out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=root, check=True,
                         capture_output=True).stdout.decode()
    return [f for f in out.split("\0") if f and (root / f).is_file()]


def copy_workflow(dst: Path, root: Path = ROOT) -> Path:
    """Copy the workflow's files (tracked and untracked-but-not-ignored) into dst, without any outputs."""
    for rel in tracked_files(root):
        target = dst / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / rel, target)
    return dst


# Experiments the smoke run leaves out: each table and figure keeps rows, and every corpus variant kind still trains
# (first, right, right_hard, right_hard_diverse, longest, mixed), but 4 fewer SFT runs and evaluations.
SMOKE_DROPPED_EXPERIMENTS = ("verbose_code_first", "code_right", "code_right_hard", "math_shortest")


def write_smoke_config(workdir: Path, overrides: dict | None = None) -> Path:
    base = yaml.safe_load((workdir / "config" / "config.yaml").read_text())
    cfg = deep_merge(deep_merge(base, SMOKE_OVERRIDES), overrides or {})
    for name in SMOKE_DROPPED_EXPERIMENTS:
        del cfg["experiments"][name]
    # the claims that compare a dropped experiment go with it
    cfg["claims"]["rows"] = [row for row in cfg["claims"]["rows"]
                             if not {row["a"].get("experiment"), row["b"].get("experiment")}
                             & set(SMOKE_DROPPED_EXPERIMENTS)]
    path = workdir / "config" / "smoke.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def run_snakemake(workdir: Path, *args: str, timeout: int = 1500) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run(["timeout", "-k", "10", str(timeout), SNAKEMAKE, *args], cwd=workdir, env=env,
                          capture_output=True, text=True)
