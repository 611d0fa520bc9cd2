"""`ded cost-plan` and the Slurm profile's requests, from dry-run DAGs only (no Slurm, no network)."""

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

from ded import costplan

ROOT = Path(__file__).resolve().parent.parent
PROFILE_DIR = ROOT / "slurm"
PROFILE = yaml.safe_load((PROFILE_DIR / "config.yaml").read_text())
SNAKEMAKE = Path(sys.executable).parent / "snakemake"
DED = Path(sys.executable).parent / "ded"

# Rules that run on GPUs in the paper's grid, and where each one's GPU count comes from in config/paper.yaml.
GPU_RULES = {"sample_shard", "evaluate", "ood_eval", "train", "token_entropy", "pca_shift", "verify"}


def hours(rule: str) -> float:
    return PROFILE["set-resources"][rule]["runtime"] / 60


# ---------------------------------------------------------------------------------------------------------------
# Resources -> GPUs, as snakemake-executor-plugin-slurm 2.8.0 turns them into sbatch options
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("resources, expected", [
    ({"gpu": 8, "gpu_model": "h800"}, (8, "h800", 1)),
    ({"gpu": 0, "gpu_model": "h800"}, (0, "h800", 1)),
    ({"gpu_model": "h800"}, (1, "h800", 1)),                      # the plugin's --gpus=h800:1
    ({"gpu": 16, "gpu_model": "h800", "nodes": 2}, (16, "h800", 2)),  # --gpus is for the whole job
    ({"gres": "gpu:h800:8", "nodes": 2}, (16, "h800", 2)),         # gres is per node
    ({"gres": "gpu:4"}, (4, None, 1)),
    ({"mem_mb": 1000}, (0, None, 1)),
])
def test_job_gpus(resources, expected):
    assert costplan.job_gpus(resources, "r") == expected


def test_job_gpus_rejects_a_count_that_is_not_a_number():
    with pytest.raises(ValueError, match="rule r: resource gpu='eight'"):
        costplan.job_gpus({"gpu": "eight"}, "r")


# ---------------------------------------------------------------------------------------------------------------
# A small workflow with the pipeline's rule names and a selection checkpoint, planned with the real profile
# ---------------------------------------------------------------------------------------------------------------
MINI = '''
import json
if not workflow.overwrite_configfiles:
    configfile: "config.yaml"

TEACHERS = list(config["teachers"])
localrules: report

def chosen():
    if config["selection"].get("teacher"):
        return config["selection"]["teacher"]
    return json.load(open(checkpoints.select_teacher.get().output[0]))["teacher"]

rule report:
    input: "eval/final.txt"
    output: "report.txt"
    shell: "touch {output}"

rule sample_shard:
    output: "samples/{t}/{shard}.txt"
    resources: gpu=lambda w: config["teachers"][w.t]["gpus"]
    shell: "touch {output}"

rule train:
    input: lambda w: expand("samples/{t}/{s}.txt", t=w.t, s=range(config["shards"]))
    output: "models/{kind}_{t}.txt"
    resources: gpu=16, nodes=2
    shell: "touch {output}"

rule evaluate:
    input: "models/{kind}_{t}.txt"
    output: "eval/{kind}_{t}.txt"
    resources: gpu=8
    shell: "touch {output}"

checkpoint select_teacher:
    input: expand("eval/select_{t}.txt", t=TEACHERS)
    output: "selection/chosen.json"
    shell: "echo '{{\\"teacher\\": \\"a\\"}}' > {output}"

rule final:
    input: lambda w: f"eval/final_{chosen()}.txt"
    output: "eval/final.txt"
    shell: "touch {output}"
'''

MINI_CONFIG = {"shards": 2, "selection": {"teacher": None},
               # b is served over HTTP (no GPU); c has more shards' worth of cost only if chosen
               "teachers": {"a": {"gpus": 8}, "b": {"gpus": 0}, "c": {"gpus": 8}}}


@pytest.fixture
def mini_workflow(tmp_path, monkeypatch):
    (tmp_path / "Snakefile").write_text(MINI)
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(MINI_CONFIG))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def by_rule(plan: costplan.Plan) -> dict[str, costplan.RuleCost]:
    rules = {r.rule: r for r in plan.rules}
    assert len(rules) == len(plan.rules), "one row per rule expected here"
    return rules


def test_plan_of_a_pending_selection_takes_the_most_expensive_teacher(mini_workflow):
    plan = costplan.plan(None, str(PROFILE_DIR))
    rules = by_rule(plan)
    # sampling: 2 shards of a and of c on GPUs; b's 2 shards are CPU jobs (gpu 0)
    assert (rules["sample_shard"].jobs, rules["sample_shard"].gpus_per_job) == (4, 8)
    # train/evaluate: select_a, select_b, select_c, and final_<chosen> (a and c tie; a comes first)
    assert (rules["train"].jobs, rules["train"].gpus_per_job, rules["train"].nodes_per_job) == (4, 16, 2)
    assert rules["evaluate"].jobs == 4
    assert plan.assumed_teacher == "a"
    assert any("teacher selection has not run" in n for n in plan.notes)
    for name, r in rules.items():
        assert r.gpu_model == "h800"
        assert r.hours_per_job == pytest.approx(hours(name))
        assert r.gpu_hours == pytest.approx(r.jobs * r.gpus_per_job * hours(name))
    assert plan.total_gpu_hours == pytest.approx(4 * 8 * hours("sample_shard") + 4 * 16 * hours("train")
                                                 + 4 * 8 * hours("evaluate"))
    assert plan.total_gpu_jobs == 12
    assert (plan.cpu_jobs, plan.local_jobs) == (2 + 2, 1)  # b's shards, select_teacher, final; report


def test_plan_with_an_assumed_teacher_and_with_a_named_one(mini_workflow):
    assumed_b = by_rule(costplan.plan(None, str(PROFILE_DIR), assume_teacher="b"))
    assert assumed_b["train"].jobs == 4  # final_b is trained on b's samples, which cost no GPU
    assert assumed_b["sample_shard"].jobs == 4
    with pytest.raises(ValueError, match="--assume-teacher 'z'"):
        costplan.plan(None, str(PROFILE_DIR), assume_teacher="z")

    named = costplan.plan(None, str(PROFILE_DIR), config=["selection={'teacher': 'c'}"])
    assert named.assumed_teacher is None and named.notes == []
    rules = by_rule(named)
    # no selection: no select_* models, only final_c
    assert (rules["train"].jobs, rules["evaluate"].jobs, rules["sample_shard"].jobs) == (1, 1, 2)


def test_cli_prints_a_table_and_json(mini_workflow, capsys):
    assert costplan.main(["--profile", str(PROFILE_DIR), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["total_gpu_jobs"] == 12 and data["assumed_teacher"] == "a"
    assert {r["rule"] for r in data["rules"]} == {"sample_shard", "train", "evaluate"}

    assert costplan.main(["--profile", str(PROFILE_DIR), "--assume-teacher", "a"]) == 0
    table = capsys.readouterr().out
    assert re.search(r"^train\s+4\s+16\s+h800\s+2\s+12\s+768\.0$", table, flags=re.M), table
    assert re.search(r"^total\s+12\s+", table, flags=re.M)

    assert costplan.main(["--profile", str(PROFILE_DIR), "--configfile", "missing.yaml"]) == 1
    assert "missing.yaml" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------------------------
# The private Snakemake API the plan builds its DAG with: a release without it fails with the one that has it
# ---------------------------------------------------------------------------------------------------------------
def test_a_snakemake_without_the_private_api_fails_naming_the_checked_release(mini_workflow, monkeypatch, capsys):
    from snakemake.workflow import Workflow

    monkeypatch.delattr(Workflow, "_build_dag")
    with pytest.raises(costplan.SnakemakeAPIError,
                       match=r"written against snakemake 9\.27\.1; the installed snakemake \S+ has no "
                             r"Workflow\._build_dag\(\)"):
        costplan.plan(None, str(PROFILE_DIR))
    assert costplan.main(["--profile", str(PROFILE_DIR)]) == 1
    assert "SnakemakeAPIError" in capsys.readouterr().err


def test_private_api_check_names_a_changed_signature_and_a_missing_dag_method():
    from types import SimpleNamespace

    class Renamed:
        _localrules: set = set()

        def _prepare_dag(self, forceall, ignore_incomplete, lock_warn_only, no_lock=False):
            pass

        def _build_dag(self):
            pass

    api = SimpleNamespace(workflow_api=SimpleNamespace(_workflow=Renamed()))
    with pytest.raises(costplan.SnakemakeAPIError, match=r"has no Workflow\._prepare_dag\(nolock=\.\.\.\)"):
        costplan.private_workflow(api)
    with pytest.raises(costplan.SnakemakeAPIError, match=r"has no DAGApi\.workflow_api\._workflow"):
        costplan.private_workflow(SimpleNamespace())
    with pytest.raises(costplan.SnakemakeAPIError, match=r"has no DAG\.needrun_jobs\(\)"):
        costplan.checked_dag(SimpleNamespace(dag=object()))


def test_the_checked_snakemake_is_the_pinned_one():
    """Bumping the pin means reading the private API again (and then this constant)."""
    lines = [line.split("#")[0].strip() for line in (ROOT / "requirements.txt").read_text().splitlines()]
    pins = dict(line.split("==", 1) for line in lines if "==" in line)
    assert pins["snakemake"] == costplan.SNAKEMAKE_CHECKED


# ---------------------------------------------------------------------------------------------------------------
# The paper's grid (config/paper.yaml) on the profile: every GPU rule asks for H800s, as many as the config says
# ---------------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def paper_plan() -> dict:
    proc = subprocess.run([str(DED), "cost-plan", "--configfile", "config/paper.yaml", "--json"], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


def test_paper_plan_requests_h800s_for_every_gpu_rule(paper_plan):
    paper = yaml.safe_load((ROOT / "config" / "paper.yaml").read_text())
    training = paper["training"]
    vllm_sampled = [m for m in [*paper["teachers"].values(), paper["students"][paper["compression"]["student"]]]
                    if m["backend"] == "vllm"]
    expected = {
        # each vLLM model's own tensor parallelism (replicas as separate jobs); HTTP teachers' shards are CPU jobs
        "sample_shard": {m["tensor_parallel_size"] for m in vllm_sampled},
        # trained and base models at evaluation.tensor_parallel_size; each vLLM teacher evaluated as itself
        # (teacher_<name>) at its own; an HTTP teacher's evaluation is a CPU job
        "evaluate": {paper["evaluation"]["tensor_parallel_size"]}
        | {m["tensor_parallel_size"] for m in paper["teachers"].values() if m["backend"] == "vllm"},
        "ood_eval": {paper["ood"]["tensor_parallel_size"]},
        "train": {training["nodes"] * training["gpus_per_node"]},
        "verify": {paper["filtering"]["judge"]["tensor_parallel_size"]},  # math only: code never calls the judge
    }
    assert expected["sample_shard"] == {2, 8} and expected["train"] == {16}
    rows = paper_plan["rules"]
    assert {r["rule"] for r in rows} == GPU_RULES
    problems = []
    for r in rows:
        if r["gpu_model"] != "h800":
            problems.append(f"{r['rule']}: GPU model {r['gpu_model']}")
        want = expected.get(r["rule"])
        if want is not None and r["gpus_per_job"] not in want:
            problems.append(f"{r['rule']}: {r['gpus_per_job']} GPU(s) per job, expected {want} (1 is the Slurm "
                            f"plugin's default when the rule declares no `gpu`)")
        if r["rule"] == "train" and r["nodes_per_job"] != training["nodes"]:
            problems.append(f"train: {r['nodes_per_job']} node(s), expected training.nodes={training['nodes']}")
        if r["hours_per_job"] != pytest.approx(hours(r["rule"])):
            problems.append(f"{r['rule']}: {r['hours_per_job']} h per job, the profile says {hours(r['rule'])}")
    assert not problems, "; ".join(problems)
    assert paper_plan["total_gpu_hours"] == pytest.approx(sum(r["gpu_hours"] for r in rows), abs=0.1)
    # sampling shards: ceil(1000 / 100) per domain; DeepSeek-R1 is served over HTTP, so its shards use no GPU
    shards = sum(r["jobs"] for r in rows if r["rule"] == "sample_shard")
    assert shards % 10 == 0 and shards >= 10 * 2 * 3  # QwQ, Qwen3-32B, Qwen3-235B (math) and the student
    # verification: the judge's GPUs for math samples only
    verify = [r for r in rows if r["rule"] == "verify"]
    assert sum(r["jobs"] for r in verify) == len(paper["teachers"]) + 1  # math of each teacher and the student


def test_paper_dry_run_shows_the_h800_requests(paper_plan):
    """`snakemake -n --profile slurm --configfile config/paper.yaml` exactly as README.md writes it, on a machine
    without conda (this one: the profile must not force --sdm conda, which calls `conda info` even for -n)."""
    assert shutil.which("conda") is None or os.environ.get("DED_TEST_WITH_CONDA"), "this test wants no conda"
    readme = (ROOT / "README.md").read_text()
    assert "snakemake -n --profile slurm --configfile config/paper.yaml" in readme
    proc = subprocess.run([str(SNAKEMAKE), "-n", "--profile", "slurm", "--configfile", "config/paper.yaml"], cwd=ROOT,
                          capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PATH": f"{SNAKEMAKE.parent}:{os.environ.get('PATH', '')}"})
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    resources = {}
    for rule, res in re.findall(r"^(?:local)?rule (\w+):\n(?:    .*\n)*?    resources: (.*)$", proc.stdout, flags=re.M):
        resources.setdefault(rule, []).append(dict(kv.split("=", 1) for kv in res.split(", ")))
    gpu_jobs = {r["rule"] for r in paper_plan["rules"]}
    assert gpu_jobs <= set(resources)
    for rule in gpu_jobs:
        assert all(job.get("gpu_model") == "h800" for job in resources[rule]), rule
        assert any(int(job.get("gpu", 0)) > 0 for job in resources[rule]), rule
    # an HTTP teacher's shard is a small CPU job; a vLLM shard gets 12 cores and 64 GB per GPU
    for job in resources["sample_shard"]:
        gpus = int(job["gpu"])
        assert (int(job["cpus_per_task"]), int(job["mem_mb"])) == ((12 * gpus, 64000 * gpus) if gpus else (2, 8000))
    # the preflight runs before anything in paper mode, on the submit host
    assert "rule preflight:" in proc.stdout


def test_profile_names_only_rules_of_the_workflow():
    """Snakemake ignores set-resources of unknown rules: a renamed rule would silently lose its requests."""
    proc = subprocess.run([str(SNAKEMAKE), "--list-rules"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rules = {line.split()[0] for line in proc.stdout.splitlines() if line.strip()}
    assert set(PROFILE["set-resources"]) <= rules, set(PROFILE["set-resources"]) - rules
    for rule in GPU_RULES:
        assert PROFILE["set-resources"][rule]["gpu_model"] == "h800"
        # the count is the rule's (from the config); the profile must not override it
        assert "gpu" not in PROFILE["set-resources"][rule] and "gres" not in PROFILE["set-resources"][rule]


# ---------------------------------------------------------------------------------------------------------------
# Per-rule conda environments (used with the profile's software-deployment-method: conda)
# ---------------------------------------------------------------------------------------------------------------
FAMILIES = {"data", "sampling", "training", "analysis"}


def test_every_rule_family_has_a_pinned_environment_that_installs_ded():
    used = set()
    for smk in (ROOT / "rules").glob("*.smk"):
        used |= set(re.findall(r'envfile\("(\w+)"\)', smk.read_text()))
    assert used and used <= FAMILIES, used - FAMILIES
    for family in FAMILIES:
        env = yaml.safe_load((ROOT / "envs" / f"{family}.yaml").read_text())
        deps = env["dependencies"]
        assert "python=3.11" in deps, family
        pip = next(d["pip"] for d in deps if isinstance(d, dict))
        unpinned = [p for p in pip if not re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[0-9][0-9A-Za-z.+]*", p)]
        assert not unpinned, f"{family}: {unpinned}"
        post = (ROOT / "envs" / f"{family}.post-deploy.sh").read_text()
        assert re.search(r"^exec bash envs/install-ded\.sh\b", post, flags=re.M), family  # the one installer
        assert any(p.startswith("setuptools==") for p in pip), family  # the editable install builds without isolation
    sampling = yaml.safe_load((ROOT / "envs" / "sampling.yaml").read_text())["dependencies"][-1]["pip"]
    training = yaml.safe_load((ROOT / "envs" / "training.yaml").read_text())["dependencies"][-1]["pip"]
    assert {"vllm==0.33.0", "torch==2.14.0"} <= set(sampling)
    assert any(p.startswith("transformers==5.") and 16 <= int(p.split(".")[1]) < 21 for p in sampling)
    assert "llamafactory==0.9.5" in training and any(p.startswith("deepspeed==") for p in training)
    assert not any(p.startswith("vllm") for p in training)
    assert "flash-attn==" in (ROOT / "envs" / "training.post-deploy.sh").read_text()


FAKE_PYTHON = """#!/usr/bin/env bash
echo "MAX_JOBS=${MAX_JOBS:-} $*" >> "$RECORD"
"""


def test_post_deploy_scripts_install_ded_through_the_shared_installer(tmp_path):
    """What each env's post-deploy script runs, with a python on PATH that records its arguments, from a checkout's
    root (Snakemake runs the script from the workflow's directory) and from elsewhere."""
    checkout = tmp_path / "checkout"
    shutil.copytree(ROOT / "envs", checkout / "envs")
    shutil.copy(ROOT / "pyproject.toml", checkout / "pyproject.toml")
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "python").write_text(FAKE_PYTHON)
    (fake / "python").chmod(0o755)
    env = {"PATH": f"{fake}:{os.environ['PATH']}", "RECORD": str(tmp_path / "record.txt")}

    def run(family, cwd):
        (tmp_path / "record.txt").unlink(missing_ok=True)
        proc = subprocess.run(["bash", str(checkout / "envs" / f"{family}.post-deploy.sh")], cwd=cwd, env=env,
                              capture_output=True, text=True, timeout=60)
        calls = (tmp_path / "record.txt").read_text().splitlines() if (tmp_path / "record.txt").exists() else []
        return proc, calls

    ded = f"-m pip install --no-deps --no-build-isolation -e {checkout}"
    for family in sorted(FAMILIES - {"training"}):
        proc, calls = run(family, checkout)
        assert proc.returncode == 0, proc.stderr
        assert calls == [f"MAX_JOBS= {ded}"], family
    proc, calls = run("training", checkout)
    assert proc.returncode == 0, proc.stderr
    assert calls == ["MAX_JOBS=8 -m pip install --no-build-isolation flash-attn==2.8.3.post2", f"MAX_JOBS=8 {ded}"]
    proc, calls = run("data", tmp_path)
    assert proc.returncode == 1 and calls == []
    assert "run snakemake from the repository root" in proc.stderr
