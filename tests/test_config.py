"""The config schema: both shipped configs validate; unknown keys, wrong types and dangling references fail with
the key's path."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from ded import config as dedcfg

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = str(ROOT / "config" / "schema.yaml")


def load(name):
    return yaml.safe_load((ROOT / "config" / name).read_text())


def full_validate(cfg):
    validate(cfg, SCHEMA, set_default=False)
    validate(cfg, SCHEMA)
    return cfg


@pytest.mark.parametrize("name", ["config.yaml", "paper.yaml"])
def test_shipped_configs_validate_and_get_defaults(name):
    cfg = full_validate(load(name))
    assert dedcfg.validate_references(cfg) == []
    assert cfg["training"]["lr_scheduler"] == "cosine"  # a default the configs do not set
    assert cfg["diversity"]["unit"] == "chars"


def test_paper_config_carries_the_papers_values():
    cfg = full_validate(load("paper.yaml"))
    t = cfg["training"]
    assert (t["cutoff_len"], t["global_batch_size"], t["learning_rate"], t["epochs"]) == (16384, 48, 1e-5, 10)
    assert cfg["filtering"]["max_tokens"] == 16384
    assert set(cfg["teachers"]) == {"deepseek_r1", "qwq_32b", "qwen3_32b", "qwen3_235b_a22b"}
    assert {s["model"] for s in cfg["students"].values()} == {
        "deepseek-ai/DeepSeek-R1-Distill-Qwen-32B", "Qwen/Qwen2.5-32B-Instruct", "microsoft/phi-4"}
    assert cfg["seeds"]["math"]["n"] == 1000 and cfg["seeds"]["code"]["n"] == 1000
    assert cfg["benchmarks"]["aime24"]["samples"] == 16 and cfg["benchmarks"]["math500"]["samples"] == 1


def test_every_schema_key_has_a_description():
    schema = yaml.safe_load(Path(SCHEMA).read_text())
    missing = []

    def walk(node, path):
        if isinstance(node, dict):
            for key, sub in (node.get("properties") or {}).items():
                if "description" not in sub:
                    missing.append(f"{path}.{key}")
                walk(sub, f"{path}.{key}")
            for key in ("additionalProperties", "items"):
                if isinstance(node.get(key), dict):
                    walk(node[key], f"{path}.{key}")
            for key, sub in (node.get("definitions") or {}).items():
                walk(sub, f"definitions.{key}")

    walk(schema, "config")
    assert missing == []


@pytest.mark.parametrize(
    "mutate, expected",
    [
        (lambda c: c["sampling"].update(trajectorys=3), ["'trajectorys' was unexpected", "instance['sampling']"]),
        (lambda c: c.update(samplng={}), ["'samplng' was unexpected"]),
        (lambda c: c.update(sampling=5), ["5 is not of type 'object'", "instance['sampling']"]),
        (lambda c: c["teachers"]["concise"].update(backend="vlm"),
         ["'vlm' is not one of", "instance['teachers']['concise']['backend']"]),
        (lambda c: c["experiments"]["mixed"]["data"][0].update(limit="x"),
         ["'x' is not of type", "instance['experiments']['mixed']['data'][0]['limit']"]),
        (lambda c: c["diversity"].update(P=0), ["0 is less than the minimum of 1", "instance['diversity']['P']"]),
        # the overrides are validated as the training section itself
        (lambda c: c["experiments"]["mixed"].update(training={"epoch": 3}),
         ["'epoch' was unexpected", "instance['experiments']['mixed']['training']"]),
        (lambda c: c["experiments"]["mixed"].update(training={"nodes": 0}),
         ["0 is less than the minimum of 1", "instance['experiments']['mixed']['training']['nodes']"]),
        (lambda c: c["selection"].update(train={"max_step": 30}),
         ["'max_step' was unexpected", "instance['selection']['train']"]),
        (lambda c: c["training"].update(gpus_per_nod=1), ["'gpus_per_nod' was unexpected", "instance['training']"]),
    ],
)
def test_bad_configs_fail_with_the_key_path(mutate, expected):
    cfg = copy.deepcopy(load("config.yaml"))
    mutate(cfg)
    with pytest.raises(WorkflowError) as info:
        full_validate(cfg)
    message = str(info.value)
    for fragment in expected:
        assert fragment in message


def test_training_overrides_get_no_defaults():
    """Defaults fill the top-level training section only: an override that got them would reset every key."""
    cfg = copy.deepcopy(load("config.yaml"))
    cfg["experiments"]["mixed"]["training"] = {"seed": 7}
    cfg["selection"]["train"] = {"max_steps": 30}
    assert "lr_scheduler" not in cfg["training"]
    full_validate(cfg)
    assert cfg["experiments"]["mixed"]["training"] == {"seed": 7}
    assert cfg["selection"]["train"] == {"max_steps": 30}
    assert cfg["training"]["lr_scheduler"] == "cosine"
    assert cfg["experiments"]["math_right"]["training"] == {}
    params = dedcfg.training_params(cfg, "mixed")
    assert (params["seed"], params["gpus_per_node"]) == (7, cfg["training"]["gpus_per_node"])


def test_gpu_count_of_a_model_spec():
    """One count for sampling, evaluation, the judge and the preflight: vLLM's tensor parallelism, else none."""
    assert dedcfg.model_gpus({"model": "m", "backend": "vllm", "tensor_parallel_size": 2}) == 2
    assert dedcfg.model_gpus({"model": "m", "backend": "vllm"}) == 1
    assert dedcfg.model_gpus({"model": "m", "backend": "transformers", "tensor_parallel_size": 4}) == 0
    assert dedcfg.model_gpus({"model": "m", "backend": "openai", "tensor_parallel_size": 8}) == 0


def test_dangling_references_are_reported_with_their_key():
    cfg = full_validate(load("config.yaml"))
    cfg["experiments"]["mixed"]["teacher"] = "gpt5"
    cfg["experiments"]["mixed"]["benchmarks"] = ["aime26"]
    cfg["selection"]["teacher"] = "nobody"
    problems = dedcfg.validate_references(cfg)
    assert "experiments.mixed.teacher: unknown teacher 'gpt5'" in problems
    assert "experiments.mixed.benchmarks: unknown benchmark 'aime26'" in problems
    assert "selection.teacher: unknown teacher 'nobody'" in problems


def test_selected_teacher_and_training_overrides():
    cfg = full_validate(load("paper.yaml"))
    assert dedcfg.resolve_teacher(cfg, "selected", "qwq_32b") == "qwq_32b"
    assert dedcfg.resolve_teacher(cfg, "deepseek_r1", None) == "deepseek_r1"
    with pytest.raises(dedcfg.ConfigError):
        dedcfg.resolve_teacher(cfg, "selected", None)
    quick = dedcfg.training_params(cfg, quick=True)
    assert quick["epochs"] == 3 and quick["learning_rate"] == 1e-5


def test_selection_reuses_an_experiment_only_when_it_is_the_same_sft_run():
    tiny = full_validate(load("config.yaml"))
    # the tiny world's Table 1 runs train on each teacher's first math responses with the selection's settings
    assert dedcfg.selection_runs(tiny) == {"concise": "concise_math_first", "verbose": "verbose_math_first"}
    # the paper's selection is a quick run (3 epochs) while Table 1 trains 10: separate select_<teacher> runs
    paper = full_validate(load("paper.yaml"))
    assert set(dedcfg.selection_runs(paper).values()) == {f"select_{t}" for t in paper["teachers"]}

    def runs_after(change):
        cfg = copy.deepcopy(tiny)
        change(cfg)
        return dedcfg.selection_runs(cfg)

    quick = runs_after(lambda c: c["selection"].update(train={"max_steps": 30}))
    assert quick == {"concise": "select_concise", "verbose": "select_verbose"}
    own_settings = runs_after(lambda c: c["experiments"]["verbose_math_first"].update(training={"seed": 7}))
    assert own_settings == {"concise": "concise_math_first", "verbose": "select_verbose"}
    fewer_benchmarks = runs_after(lambda c: c["experiments"]["concise_math_first"].update(benchmarks=["aime24"]))
    assert fewer_benchmarks["concise"] == "select_concise"
    limited = runs_after(lambda c: c["experiments"]["concise_math_first"]["data"][0].update(limit=10))
    assert limited["concise"] == "select_concise"
    code_selection = runs_after(lambda c: c["selection"].update(domain="code", benchmarks=["livecodebench"]))
    assert code_selection == {"concise": "concise_code_first", "verbose": "verbose_code_first"}


def test_replicates_have_their_own_seeds_and_names(tmp_path):
    """replicates: 3 trains each experiment three times (seeds 42, 1042, 2042) and evaluates every replicate, the
    untrained student too, with its own sampling seed; the DAG has a job for each."""
    import subprocess
    import sys

    cfg = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    cfg["replicates"] = 3
    names = dedcfg.replicate_names(cfg, "math_right")
    assert names == ["math_right", "math_right.rep1", "math_right.rep2"]
    assert [dedcfg.run_training_params(cfg, n)["seed"] for n in names] == [42, 1042, 2042]
    assert [dedcfg.parse_model_name(cfg, n).replicate for n in names] == [0, 1, 2]
    with pytest.raises(dedcfg.ConfigError, match="replicate 3, but replicates is 3"):
        dedcfg.parse_model_name(cfg, "math_right.rep3")
    cfg["selection"]["teacher"] = "concise"      # no selection runs in the DAG below: only the replicate's jobs
    path = tmp_path / "three.yaml"
    path.write_text(yaml.safe_dump(cfg))
    # targets first: --configfile takes every word after it
    run = subprocess.run([str(Path(sys.executable).parent / "snakemake"), "results/eval/base_student.rep2/summary.csv",
                          "results/models/math_right.rep2", "-n", "--quiet", "rules", "--cores", "2",
                          "--configfile", str(path)],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    jobs = dict(line.split()[:2] for line in run.stdout.splitlines() if line.split()[1:2] and
                line.split()[1].isdigit())
    assert jobs.get("train") == "1" and jobs.get("evaluate") == "1"


def test_tiny_model_init_must_name_another_tiny_model():
    cfg = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    assert dedcfg.validate_references(cfg) == []
    cfg["tinyworld"]["models"]["teacher_verbose"]["init"] = "teacher_big"
    assert "tinyworld.models.teacher_verbose.init: unknown tiny model 'teacher_big'" in dedcfg.validate_references(cfg)
    cfg["tinyworld"]["models"]["teacher_verbose"]["init"] = "student"
    cfg["tinyworld"]["models"]["student"]["init"] = "teacher_concise"
    assert ("tinyworld.models.student.init: a cycle (student -> teacher_concise -> student)"
            in dedcfg.validate_references(cfg))
