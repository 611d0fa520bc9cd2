"""`snakemake --profile slurm` against a real Slurm: a one-node cluster on this machine (tests/slurm/setup_slurm.sh).

The node pretends to be an 8xH800 node (fake GPU devices, config_overrides for CPUs and memory), so the profile's
real requests are submitted as written; only the partition (and an empty account: no slurmdbd here) is given on the
command line, as a user does, and `--sdm env-modules` replaces the profile's conda deployment (no conda here).

Skips, with the reason, where Slurm cannot run (not root, no apt-get, the daemons do not start); with
DED_REQUIRE_SLURM=1 (CI) those are failures instead.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
SLURM_TESTS = ROOT / "tests" / "slurm"
PROFILE = ROOT / "slurm" / "config.yaml"
SNAKEMAKE = Path(sys.executable).parent / "snakemake"
PARTITION = "main"

pytestmark = pytest.mark.slurm

# What the command line adds to the profile on this cluster (README.md, "Running on Slurm").
SLURM_ARGS = [
    "--profile", "slurm",
    "--default-resources", f"slurm_partition={PARTITION}", "slurm_account=''",
    "--sdm", "env-modules",
    "--slurm-init-seconds-before-status-checks", "2",
    # a one-node test cluster answers at once: poll often, so that each job's end is seen in seconds
    "--seconds-between-status-checks", "2",
]
SUBMITTED = re.compile(r"Job (\d+) has been submitted with SLURM jobid (\d+)")


def _unavailable(reason: str):
    if os.environ.get("DED_REQUIRE_SLURM") == "1":
        pytest.fail(f"Slurm required (DED_REQUIRE_SLURM=1) but unavailable: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def slurm_cluster():
    """A running one-node Slurm (partition `main`); stopped at the end if this session started it."""
    if os.name != "posix" or os.geteuid() != 0:
        _unavailable("a local Slurm needs root (daemons, /etc/slurm)")
    if shutil.which("sbatch") is None and shutil.which("apt-get") is None:
        _unavailable("Slurm is not installed and there is no apt-get to install it")
    try:
        proc = subprocess.run(["bash", str(SLURM_TESTS / "setup_slurm.sh")], capture_output=True, text=True,
                              timeout=600)
    except subprocess.TimeoutExpired:
        _unavailable("tests/slurm/setup_slurm.sh did not finish in 600 s")
    if proc.returncode != 0:
        _unavailable(f"Slurm did not start: {(proc.stderr or proc.stdout).strip()[-2000:]}")
    started_here = "already running" not in proc.stdout
    yield {"dir": Path(os.environ.get("DED_SLURM_DIR", "/tmp/ded-slurm")), "setup": proc.stdout}
    if started_here:
        subprocess.run(["bash", str(SLURM_TESTS / "stop_slurm.sh")], capture_output=True, timeout=120)


def run_snakemake(args: list[str], cwd: Path, timeout_s: int, log: Path) -> str:
    """snakemake under `timeout -k 10` (a hung snakemake ignores SIGTERM); returns its output, fails on error."""
    cmd = ["timeout", "-k", "10", str(timeout_s), str(SNAKEMAKE), *args]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "SBATCH_", "SRUN_"))}
    with open(log, "w") as out:
        proc = subprocess.run(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, env=env)
    text = log.read_text()
    assert proc.returncode == 0, f"snakemake exited {proc.returncode} in {cwd}:\n{text[-6000:]}"
    return text


def ctld_log_since(cluster: dict, offset: int) -> str:
    """slurmctld's log from a byte offset on (job ids restart after a clean start; older runs must not count)."""
    with open(cluster["dir"] / "log" / "slurmctld.log", "rb") as f:
        f.seek(offset)
        return f.read().decode(errors="replace")


def ctld_log_size(cluster: dict) -> int:
    path = cluster["dir"] / "log" / "slurmctld.log"
    return path.stat().st_size if path.exists() else 0


def profile() -> dict:
    return yaml.safe_load(PROFILE.read_text())


def time_limit(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}:00"


def scontrol_fields(text: str) -> dict[str, str]:
    return dict(item.split("=", 1) for item in text.split() if "=" in item)


def test_profile_submits_every_job_with_its_requests(slurm_cluster, tmp_path):
    """A tiny workflow whose rules carry the pipeline's names gets the profile's requests through sbatch."""
    work = tmp_path / "mini"
    work.mkdir()
    for name in ("Snakefile", "record.py"):
        shutil.copy(SLURM_TESTS / "mini" / name, work / name)
    shutil.copytree(ROOT / "slurm", work / "slurm")
    offset = ctld_log_size(slurm_cluster)
    text = run_snakemake([*SLURM_ARGS, "--jobs", "4"], work, 600, tmp_path / "snakemake.log")

    submitted = dict(SUBMITTED.findall(text))
    assert len(submitted) == 4, text[-3000:]  # seeds, two sample_shard, train; `all` is local
    records = {p.stem: json.loads(p.read_text()) for p in (work / "out").glob("*.json")}
    assert set(records) == {"seeds", "sample_shard-8", "sample_shard-0", "train"}
    assert sorted(r["SLURM_JOB_ID"] for r in records.values()) == sorted(submitted.values())

    res = profile()["set-resources"]
    jobs = {name: scontrol_fields(r["job"]) for name, r in records.items()}
    for name, job in jobs.items():
        assert job["Partition"] == PARTITION, name
        assert job["JobId"] == records[name]["SLURM_JOB_ID"]

    # GPU rule with 8 GPUs: the rule's count, the profile's GPU model, CPUs, memory and wall time
    gpu = jobs["sample_shard-8"]
    assert gpu["TresPerJob"] == "gres:gpu:h800:8"
    assert records["sample_shard-8"]["CUDA_VISIBLE_DEVICES"].split(",") == [str(i) for i in range(8)]
    # CPUs and memory from the rule (12 cores and 64 GB per GPU), the wall time from the profile
    assert gpu["NumCPUs"] == str(12 * 8)
    assert gpu["TimeLimit"] == time_limit(res["sample_shard"]["runtime"])
    assert gpu["MinMemoryNode"] == f"{64000 * 8 // 1024}G"
    # the same rule with a count of 0 (an HTTP-served teacher, the tiny world) is a CPU job
    assert records["sample_shard-0"]["CUDA_VISIBLE_DEVICES"] is None
    assert jobs["sample_shard-0"].get("TresPerJob", "gres:gpu:h800:0") == "gres:gpu:h800:0"
    # CPU rule
    assert "TresPerJob" not in jobs["seeds"]
    assert jobs["seeds"]["NumCPUs"] == str(res["seeds"]["cpus_per_task"])
    assert jobs["seeds"]["TimeLimit"] == time_limit(res["seeds"]["runtime"])
    # train: an `mpi` job (no srun around the rule), one Slurm task per GPU. The batch step's shell has lost
    # SLURM_JOB_NODELIST (the jobstep plugin keeps only the job's id), so the launcher asks squeue for the CPUs and
    # lets srun's per-node task name its node rank and the master host.
    train = jobs["train"]
    assert train["TresPerJob"] == "gres:gpu:h800:8"
    assert train["NtasksPerN:B:S:C"].split(":")[0] == str(res["train"]["tasks_per_node"])
    assert train["CPUs/Task"] == str(res["train"]["cpus_per_task"])
    assert train["TimeLimit"] == time_limit(res["train"]["runtime"])
    launcher = records["train"]
    assert launcher["extra"] == ["unset"]
    assert (launcher["NODE_RANK"], launcher["NNODES"], launcher["FORCE_TORCHRUN"]) == ("0", "1", "1")
    assert launcher["MASTER_ADDR"] == "localhost" == launcher["SLURM_STEP_NODELIST"]
    assert int(launcher["MASTER_PORT"]) == 29500 + int(launcher["SLURM_JOB_ID"]) % 1000
    assert launcher["SLURM_CPUS_ON_NODE"] == str(res["train"]["tasks_per_node"] * res["train"]["cpus_per_task"])
    assert launcher["CUDA_VISIBLE_DEVICES"].split(",") == [str(i) for i in range(8)]

    ctld_log = ctld_log_since(slurm_cluster, offset)
    for jobid in submitted.values():
        assert re.search(rf"_job_complete: JobId={jobid} WEXITSTATUS 0", ctld_log), jobid


# ---------------------------------------------------------------------------------------------------------------
# The tiny world through Slurm equals the same run without it
# ---------------------------------------------------------------------------------------------------------------
# What runs through Slurm: every kind of job of the DAG, not every job: Table 1 and Figures 3 and 4 (both teachers'
# sampling and verification, SFT and evaluation of the first-response runs and of the base student, the analyses),
# teacher selection, the compression student's pass rates, one teacher's code verification (the sandbox inside a
# Slurm job) and the OOD harness. The whole smoke DAG through Slurm took 10.5 of
# the suite's 24 minutes (each Slurm job starts a Snakemake of its own); the rest of it is more of the same kinds.
SLURM_TARGETS = [
    "results/tables/table1.tex", "results/selection/chosen.json", "figures/figure3_entropy.pdf",
    "figures/figure4_pca_shift.pdf", "results/passrate/student/math.jsonl", "results/verified/concise/code.jsonl",
    "results/eval/base_student/ood.csv",
]
COMPARED_SUFFIXES = {".jsonl", ".csv", ".tex"}
NOT_COMPARED_DIRS = {"logs", "runtime", "provenance"}
NOT_COMPARED_FILES = {"trainer_log.jsonl"}  # LlamaFactory's progress log: wall-clock elapsed/remaining times


def compared_outputs(work: Path) -> dict[str, bytes]:
    out = {}
    results = work / "results"
    for path in results.rglob("*"):
        rel = path.relative_to(results)
        if (path.is_file() and path.suffix in COMPARED_SUFFIXES and rel.parts[0] not in NOT_COMPARED_DIRS
                and path.name not in NOT_COMPARED_FILES):
            out[str(rel)] = path.read_bytes()
    return out


@pytest.mark.slow
@pytest.mark.e2e
def test_tiny_world_through_slurm_equals_local_run(slurm_cluster, smoke_run, tmp_path):
    """The smallest config (tests/smoke.py) through `--profile slurm` (SLURM_TARGETS), against the session's local run
    of it.

    The tiny tokenizer and models are taken from the local run (mtimes kept, so Snakemake sees them up to date): they
    stand in for hub downloads, which paper mode never builds, and pretraining them again would double the longest
    part of the run. Everything after them (sampling, verification, corpora, SFT, evaluation, analysis, tables)
    runs through Slurm (the GPU rules of paper mode as Slurm jobs, the local rules beside them) and must come out
    byte for byte the same.
    """
    from tests.smoke import copy_workflow, write_smoke_config

    remote = copy_workflow(tmp_path / "slurm")
    write_smoke_config(remote)
    shutil.copytree(smoke_run / "results" / "tinyworld", remote / "results" / "tinyworld")
    offset = ctld_log_size(slurm_cluster)
    text = run_snakemake([*SLURM_ARGS, "--jobs", "4", *SLURM_TARGETS, "--configfile", "config/smoke.yaml"], remote,
                         2400, tmp_path / "slurm.log")

    # every job that is not a local rule went through sbatch, and Slurm saw each of them end with status 0
    remote_jobs = re.findall(r"^(?:rule|checkpoint) (\w+):$", text, flags=re.M)
    local_jobs = re.findall(r"^local(?:rule|checkpoint) (\w+):$", text, flags=re.M)
    submitted = SUBMITTED.findall(text)
    assert len(remote_jobs) > 20, text[-3000:]
    assert len(submitted) == len(remote_jobs)
    assert len({jobid for _, jobid in submitted}) == len(submitted)
    assert {"sample_shard", "verify", "train", "evaluate", "ood_eval", "token_entropy", "pca_shift"} <= set(remote_jobs)
    assert "tiny_model" not in remote_jobs + local_jobs  # taken from the local run
    assert {"train_config", "experiment_corpus", "passrate", "select_teacher", "table", "figure3_entropy"} \
        <= set(local_jobs)
    ctld_log = ctld_log_since(slurm_cluster, offset)
    for _, jobid in submitted:
        assert re.search(rf"_job_complete: JobId={jobid} WEXITSTATUS 0", ctld_log), jobid

    # and the results are the same, byte for byte (the local run made every file the Slurm run did, and more)
    expected, got = compared_outputs(smoke_run), compared_outputs(remote)
    assert {"tables/table1.tex", "verified/concise/code.jsonl", "eval/base_student/ood.csv",
            "eval/concise_math_first/samples.csv", "passrate/student/math.jsonl"} <= set(got)
    assert set(got) <= set(expected), sorted(set(got) - set(expected))
    differ = [k for k in sorted(got) if expected[k] != got[k]]
    assert not differ, f"{len(differ)} outputs differ between the local and the Slurm run: {differ[:20]}\n" + \
        "\n".join(first_difference(k, expected[k], got[k]) for k in differ[:3])


def first_difference(name: str, a: bytes, b: bytes) -> str:
    for i, (x, y) in enumerate(zip(a.splitlines(), b.splitlines(), strict=False), start=1):
        if x != y:
            at = next((j for j, (u, v) in enumerate(zip(x, y)) if u != v), min(len(x), len(y)))
            lo = max(0, at - 80)
            return f"{name} line {i}, byte {at}:\n  local: ...{x[lo:at + 80]!r}\n  slurm: ...{y[lo:at + 80]!r}"
    return f"{name}: {len(a.splitlines())} lines locally, {len(b.splitlines())} through Slurm"
