"""ded preflight: on config/paper.yaml with the real models' published config.json values (tests/fixtures), on configs
carrying each defect it exists to catch, and on the tiny world's own models."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest

from ded import preflight

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "model_configs"
SNAKEMAKE = Path(sys.executable).parent / "snakemake"


def fixture(model: str) -> dict:
    return json.loads((FIXTURES / model.replace("/", "--") / "config.json").read_text())


@pytest.fixture(scope="module")
def paper() -> dict:
    return preflight.load_config(ROOT / "config" / "paper.yaml", ROOT / "config" / "schema.yaml")


def check(config: dict, **kw) -> preflight.Report:
    return preflight.run(config, search_dirs=[FIXTURES], **kw)


def errors(report: preflight.Report) -> dict[str, str]:
    return {f.key: f.message for f in report.findings if f.level == "error"}


# ---------------------------------------------------------------------------------------------------------------
# Model facts
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("model, limit", [
    ("Qwen/Qwen2.5-32B-Instruct", 32768),
    ("microsoft/phi-4", 16384),
    ("deepseek-ai/DeepSeek-R1-Distill-Qwen-32B", 131072),
    ("Qwen/QwQ-32B", 40960),
    ("Qwen/Qwen3-32B", 40960),
    ("Qwen/Qwen3-235B-A22B", 40960),
    ("deepseek-ai/DeepSeek-R1", 163840),
    ("Qwen/Qwen2.5-72B-Instruct", 32768),
])
def test_context_limits_of_the_papers_models(model, limit):
    assert preflight.context_limit(fixture(model)) == (limit, "max_position_embeddings")


def test_context_limit_follows_vllms_rope_and_key_rules():
    base = {"max_position_embeddings": 4096, "hidden_size": 8}
    assert preflight.context_limit({**base, "rope_scaling": {"rope_type": "linear", "factor": 4.0}}) == (
        16384, "max_position_embeddings")
    # YaRN's max_position_embeddings is already scaled in vLLM's rule: no factor
    assert preflight.context_limit({**base, "rope_scaling": {"type": "yarn", "factor": 4.0}})[0] == 4096
    # the smallest of the keys vLLM reads wins
    assert preflight.context_limit({**base, "seq_length": 2048}) == (2048, "seq_length")
    assert preflight.context_limit({"hidden_size": 8}) == (None, None)


def test_parameter_counts_match_the_published_totals():
    # the hub's safetensors total for DeepSeek-R1-Distill-Qwen-32B: 32,763,876,352 BF16 parameters
    assert preflight.dense_parameters(fixture("deepseek-ai/DeepSeek-R1-Distill-Qwen-32B")) == 32_763_876_352
    # phi-4: 14.66B on its model page
    assert preflight.dense_parameters(fixture("microsoft/phi-4")) == pytest.approx(14.66e9, rel=0.005)
    assert preflight.dense_parameters(fixture("Qwen/Qwen3-235B-A22B")) is None  # MoE: no dense count


def test_training_memory_of_a_32b_student():
    ds = preflight.deepspeed_settings(ROOT / "envs" / "deepspeed" / "ds_z3_config.json")
    assert ds == {"stage": 3, "offload_optimizer": None, "offload_param": None}
    cfg = fixture("deepseek-ai/DeepSeek-R1-Distill-Qwen-32B")
    params = {"gpus_per_node": 8, "cutoff_len": 16384, "per_device_batch_size": 1, "gpu_memory_gb": 80}
    one = preflight.training_memory(cfg, {**params, "nodes": 1}, ds)
    two = preflight.training_memory(cfg, {**params, "nodes": 2}, ds)
    # ~18 bytes per parameter over 8 GPUs is ~69 GiB before activations: one node cannot hold it
    assert preflight.state_bytes_per_gpu(one.params, 8, ds) / 2**30 == pytest.approx(32.76e9 * 18 / 8 / 2**30,
                                                                                     rel=0.01)
    assert not one.fits and one.nodes_needed == 2 and two.fits and two.per_gpu_gib < one.per_gpu_gib
    liger = preflight.training_memory(cfg, {**params, "nodes": 1, "enable_liger_kernel": True}, ds)
    assert liger.per_gpu_gib < one.per_gpu_gib and not liger.fits
    offload = preflight.training_memory(cfg, {**params, "nodes": 1},
                                        {"stage": 3, "offload_optimizer": "cpu", "offload_param": None})
    assert offload.fits


# ---------------------------------------------------------------------------------------------------------------
# config/paper.yaml as committed, and with each defect
# ---------------------------------------------------------------------------------------------------------------
def test_paper_config_as_committed_passes(paper):
    report = check(paper, deployment=["conda"])
    assert errors(report) == {}
    assert not [f for f in report.findings if f.level == "warning"]  # every model's config.json was read
    oks = {f.check for f in report.findings if f.level == "ok"}
    assert {"context", "memory"} <= oks


def test_defect_1_context_longer_than_the_model(paper):
    bad = copy.deepcopy(paper)
    for student in ("qwen25_32b", "phi4"):
        bad["students"][student]["max_model_len"] = 40960
    found = errors(check(bad))
    assert "set students.qwen25_32b.max_model_len: 32768" in found["students.qwen25_32b.max_model_len"]
    assert "set students.phi4.max_model_len: 16384" in found["students.phi4.max_model_len"]
    # the per-model generation budget that keeps prompt + response inside the limit
    bad = copy.deepcopy(paper)
    del bad["students"]["phi4"]["sampling"]
    found = errors(check(bad))
    assert "set students.phi4.sampling.max_new_tokens: 12288" in found["evaluation.params.max_new_tokens"]


def test_defect_4_training_that_does_not_fit(paper):
    bad = copy.deepcopy(paper)
    bad["training"]["nodes"] = 1
    found = errors(check(bad))
    assert "set training.nodes: 2" in found["training.nodes"]
    assert "does not fit" in found["training.nodes"]


def test_defect_9_unpinned_hub_models(paper):
    bad = copy.deepcopy(paper)
    bad["students"]["phi4"]["revision"] = None
    bad["teachers"]["qwq_32b"]["revision"] = "main"
    bad["benchmarks"]["aime24"]["revision"] = None
    found = errors(check(bad))
    assert "microsoft/phi-4 is not pinned" in found["students.phi4.revision"]
    assert "'main' is a branch or tag" in found["teachers.qwq_32b.revision"]
    assert "benchmarks.aime24.revision" in found


def test_defect_2_a_provider_alias_that_ignores_sampling(paper):
    bad = copy.deepcopy(paper)
    bad["teachers"]["deepseek_r1"]["endpoint"].update(base_url="https://api.deepseek.com/v1",
                                                      model_name="deepseek-reasoner")
    found = errors(check(bad))
    assert "provider alias" in found["teachers.deepseek_r1.endpoint.model_name"]
    assert "ignores temperature, top_p" in found["teachers.deepseek_r1.endpoint.accept_ignored_sampling"]
    bad["teachers"]["deepseek_r1"]["endpoint"].update(model_name="some-other-model")
    assert "teachers.deepseek_r1.endpoint.served_model" in errors(check(bad))


def test_endpoint_models_list_online(paper):
    files = {"list_dataset_files": lambda repo: ["data/test.parquet"]}
    served = {"data": [{"id": "deepseek-ai/DeepSeek-R1"}]}
    assert errors(check(paper, online=True, http_get=lambda url, headers: served, **files)) == {}
    other = {"data": [{"id": "Qwen/QwQ-32B"}]}
    found = errors(check(paper, online=True, http_get=lambda url, headers: other, **files))
    assert "serves ['Qwen/QwQ-32B']" in found["teachers.deepseek_r1.endpoint.model_name"]


def test_ood_settings_for_reasoning_models(paper):
    bad = copy.deepcopy(paper)
    bad["ood"].update(apply_chat_template=False, think_end_token=None, max_gen_toks=None)
    found = errors(check(bad))
    assert {"ood.apply_chat_template", "ood.think_end_token", "ood.max_gen_toks"} <= set(found)


def test_paper_mode_needs_conda_environments(paper):
    assert "--software-deployment-method" in errors(check(paper, deployment=["env-modules"]))


def test_unreadable_models_are_unchecked_warnings_or_strict_errors(paper, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    report = preflight.run(paper)
    warnings = [f for f in report.findings if f.level == "warning"]
    assert warnings and all("unchecked" in f.message for f in warnings)
    assert not report.errors() and report.errors(strict=True)


# ---------------------------------------------------------------------------------------------------------------
# The tiny world's own models, the command line and the workflow
# ---------------------------------------------------------------------------------------------------------------
def test_tiny_world_passes_and_a_local_vllm_model_is_read_from_its_folder(random_tiny_model):
    tiny = preflight.load_config(ROOT / "config" / "config.yaml", ROOT / "config" / "schema.yaml")
    assert errors(preflight.run(tiny)) == {}
    spec = {"model": str(random_tiny_model), "backend": "vllm", "max_model_len": 2048}
    cfg = json.loads((Path(random_tiny_model) / "config.json").read_text())
    assert preflight.context_limit(cfg)[0] == 1024
    tiny = copy.deepcopy(tiny)
    tiny["teachers"]["local"] = spec
    found = errors(preflight.run(tiny))
    assert "1024" in found["teachers.local.max_model_len"] and "revision" not in " ".join(found)


def test_cli_names_the_key_and_exits_nonzero(tmp_path, capsys, paper):
    assert preflight.main(["--configfile", str(ROOT / "config" / "paper.yaml"), "--model-configs", str(FIXTURES),
                           "--profile", str(ROOT / "slurm")]) == 0
    assert "ded preflight: passed" in capsys.readouterr().err
    bad = copy.deepcopy(paper)
    bad["students"]["phi4"]["max_model_len"] = 40960
    import yaml

    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(bad))
    proc = subprocess.run([str(Path(sys.executable).parent / "ded"), "preflight", "--configfile", str(path),
                           "--model-configs", str(FIXTURES), "--json"], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    assert any(f["key"] == "students.phi4.max_model_len" for f in report["findings"] if f["level"] == "error")


def test_the_tiny_world_dag_has_no_preflight_job():
    # --forceall: the whole DAG, whatever results/ already holds
    proc = subprocess.run([str(SNAKEMAKE), "-n", "--forceall", "--cores", "1", "--quiet", "rules"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "preflight" not in proc.stdout and "sample_shard" in proc.stdout


def test_ood_model_arguments_are_lm_evals_own_names():
    """The reasoning-model settings reach lm-eval 0.4.13 under the names its vllm model and simple_evaluate take
    (read from its source: importing lm_eval.models.vllm_causallms needs vllm, which is not installed here)."""
    import inspect

    import lm_eval
    from lm_eval import evaluator

    from ded import ood

    args = ood.model_args("vllm", "results/models/m", tensor_parallel_size=2, max_model_len=40960,
                          max_gen_toks=32768, think_end_token="</think>")
    assert args == {"pretrained": "results/models/m", "dtype": "bfloat16", "tensor_parallel_size": 2,
                    "gpu_memory_utilization": 0.9, "max_model_len": 40960, "max_gen_toks": 32768,
                    "think_end_token": "</think>"}
    source = (Path(lm_eval.__file__).parent / "models" / "vllm_causallms.py").read_text()
    init = source[source.index("def __init__"):source.index("super().__init__()")]
    # gpu_memory_utilization is not lm-eval's: its **kwargs go on to vllm.LLM, whose 0.33 signature has it
    for name in set(args) - {"pretrained", "gpu_memory_utilization"}:
        assert f"{name}:" in init, name
    assert "self.model_args.update(kwargs)" in source
    sig = inspect.signature(evaluator.simple_evaluate).parameters
    assert {"apply_chat_template", "system_instruction", "gen_kwargs"} <= set(sig)


def test_ood_datasets_that_only_have_a_loading_script(paper):
    assert preflight.loads_without_script(["README.md", "data/test-00000-of-00001.parquet", "loader.py"])
    assert not preflight.loads_without_script(["README.md", "cmmlu.py", "cmmlu_v1_0_1.zip"])
    assert preflight.loads_without_script(["README.md"])
    # which hub datasets the harness's tasks read (lm-eval 0.4.13's task YAMLs)
    assert preflight.harness_dataset_paths("cmmlu") == {"haonan-li/cmmlu"}
    assert preflight.harness_dataset_paths("ceval-valid") == {"ceval/ceval-exam"}
    listing = {"haonan-li/cmmlu": ["cmmlu.py", "cmmlu_v1_0_1.zip"]}
    found = errors(check(paper, online=True, http_get=lambda url, headers: {"data": [{"id": "deepseek-ai/DeepSeek-R1"}]},
                         list_dataset_files=lambda repo: listing.get(repo, ["data/test.parquet"])))
    assert "cmmlu reads haonan-li/cmmlu" in found["ood.tasks"]
