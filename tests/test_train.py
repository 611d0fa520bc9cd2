"""Stage 5 (SFT): corpus -> LlamaFactory dataset, the training YAML, a real CPU run of llamafactory-cli, bad inputs,
and the training job's launch command, Slurm request and provenance arguments."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ded import config as dedcfg
from ded import train
from ded.io import DataError, write_jsonl

ROOT = Path(__file__).resolve().parent.parent
PROMPT = "What is 12 + 30?\n\nPlease reason step by step, and put your final answer within \\boxed{}."
RESPONSE = "<think>\n12 + 30 = 42\n</think>\n\nThe answer is \\boxed{42}."

TINY = {"template": "qwen", "default_system": "", "cutoff_len": 256, "learning_rate": 1e-3, "epochs": 1,
        "global_batch_size": 4, "per_device_batch_size": 2, "warmup_steps": 0, "lr_scheduler": "cosine",
        "bf16": False, "deepspeed": None, "nodes": 1, "gpus_per_node": 0, "max_steps": 3, "seed": 1}
PAPER = {"template": "qwen", "default_system": None, "templates": {"ds32b": {"template": "deepseekr1"}},
         "cutoff_len": 16384, "learning_rate": 1e-5, "epochs": 10, "global_batch_size": 48,
         "per_device_batch_size": 1, "warmup_steps": 0, "lr_scheduler": "cosine", "bf16": True,
         "deepspeed": "envs/deepspeed/ds_z3_config.json", "nodes": 1, "gpus_per_node": 8, "max_steps": None,
         "seed": 42}


def corpus_row(i: int, **over) -> dict:
    row = {"question_id": f"q{i}", "domain": "math", "teacher": "concise", "sample_index": 0,
           "prompt": PROMPT.replace("12", str(10 + i)), "response": RESPONSE, "num_tokens": 20}
    row.update(over)
    return row


# ---------------------------------------------------------------------------------------------------------------
# Dataset
# ---------------------------------------------------------------------------------------------------------------
def test_dataset_is_sharegpt_that_llamafactory_reads(tmp_path):
    corpus = tmp_path / "corpus.jsonl"
    write_jsonl(corpus, [corpus_row(i) for i in range(3)])
    ds = tmp_path / "dataset"
    n = train.write_dataset(corpus, ds / "train.json", ds / "dataset_info.json")
    assert n == 3
    data = json.loads((ds / "train.json").read_text())
    assert data[1]["messages"] == [{"role": "user", "content": PROMPT.replace("12", "11")},
                                   {"role": "assistant", "content": RESPONSE}]
    # LlamaFactory's own parser and converter accept it: one user turn as prompt, the response as target
    from llamafactory.data.converter import SharegptDatasetConverter
    from llamafactory.data.parser import get_dataset_list

    (attr,) = get_dataset_list([train.DATASET_NAME], str(ds))
    assert (attr.load_from, attr.dataset_name, attr.formatting) == ("file", "train.json", "sharegpt")
    converted = SharegptDatasetConverter(dataset_attr=attr, data_args=None)(data[0])
    assert converted["_prompt"] == [{"role": "user", "content": PROMPT.replace("12", "10")}]
    assert converted["_response"] == [{"role": "assistant", "content": RESPONSE}]


def test_empty_corpus_fails_naming_the_file(tmp_path):
    corpus = tmp_path / "empty.jsonl"
    corpus.write_text("")
    with pytest.raises(DataError, match=r"empty\.jsonl: the corpus has no rows"):
        train.write_dataset(corpus, tmp_path / "d" / "train.json", tmp_path / "d" / "dataset_info.json")
    assert not (tmp_path / "d" / "train.json").exists()


def test_corpus_row_without_response_fails_with_line(tmp_path):
    corpus = tmp_path / "c.jsonl"
    rows = [corpus_row(0), corpus_row(1)]
    del rows[1]["response"]
    write_jsonl(corpus, rows)
    with pytest.raises(DataError, match=r"c\.jsonl:2: missing field\(s\) response"):
        train.corpus_to_sharegpt(corpus)
    write_jsonl(corpus, [corpus_row(0, response="  ")])
    with pytest.raises(DataError, match=r"row 1 \(question q0\): 'response' must be a non-empty string"):
        train.corpus_to_sharegpt(corpus)


# ---------------------------------------------------------------------------------------------------------------
# YAML
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("per_device, gpus, nodes, expected", [
    (1, 8, 1, 6), (1, 8, 2, 3), (2, 8, 1, 3), (8, 0, 1, 1), (2, 0, 1, 4), (48, 1, 1, 1)])
def test_gradient_accumulation(per_device, gpus, nodes, expected):
    params = {"global_batch_size": 48 if gpus else 8, "per_device_batch_size": per_device, "gpus_per_node": gpus,
              "nodes": nodes}
    acc = train.gradient_accumulation(params)
    assert acc == expected
    assert acc * per_device * max(gpus, 1) * nodes == params["global_batch_size"]


def test_gradient_accumulation_rejects_uneven_split():
    with pytest.raises(ValueError, match="global_batch_size=48 is not a multiple of .* = 40"):
        train.gradient_accumulation({"global_batch_size": 48, "per_device_batch_size": 5, "gpus_per_node": 8,
                                     "nodes": 1})


def test_paper_yaml():
    cfg = train.build_train_config(PAPER, model="deepseek-ai/DeepSeek-R1-Distill-Qwen-32B", revision="abc123",
                                   dataset_dir="results/train/x/dataset", output_dir="results/train/x/staging",
                                   student="ds32b", mode="paper")
    assert cfg["model_name_or_path"] == "deepseek-ai/DeepSeek-R1-Distill-Qwen-32B"
    assert cfg["model_revision"] == "abc123"
    assert (cfg["stage"], cfg["finetuning_type"], cfg["do_train"]) == ("sft", "full", True)
    assert cfg["template"] == "deepseekr1"  # training.templates overrides by student
    assert "default_system" not in cfg
    assert (cfg["per_device_train_batch_size"], cfg["gradient_accumulation_steps"]) == (1, 6)
    assert cfg["cutoff_len"] == 16384 and cfg["learning_rate"] == 1e-5 and cfg["num_train_epochs"] == 10
    assert cfg["bf16"] is True and cfg["deepspeed"] == "envs/deepspeed/ds_z3_config.json"
    assert "max_steps" not in cfg and "warmup_ratio" not in cfg and cfg["warmup_steps"] == 0
    assert "disable_gradient_checkpointing" not in cfg
    assert cfg["save_strategy"] == "no" and cfg["report_to"] == "none"
    assert cfg["output_dir"] == "results/train/x/staging"
    ds = json.loads((ROOT / PAPER["deepspeed"]).read_text())
    assert ds["zero_optimization"]["stage"] == 3
    assert ds["zero_optimization"]["stage3_gather_16bit_weights_on_model_save"] is True


def test_tiny_yaml_roundtrip(tmp_path):
    path = tmp_path / "train.yaml"
    train.write_train_config(path, TINY, model="results/tinyworld/models/student", revision=None,
                             dataset_dir="d", output_dir="o", student="student", mode="tiny")
    cfg = yaml.safe_load(path.read_text())
    assert cfg["template"] == "qwen" and cfg["default_system"] == ""
    assert (cfg["per_device_train_batch_size"], cfg["gradient_accumulation_steps"]) == (2, 2)
    assert cfg["max_steps"] == 3 and cfg["bf16"] is False
    assert "deepspeed" not in cfg and "model_revision" not in cfg
    assert cfg["disable_gradient_checkpointing"] is True  # CPU: recomputation only slows a tiny model down


def test_config_training_params_of_both_configs_split_evenly():
    for name in ("config.yaml", "paper.yaml"):
        config = yaml.safe_load((ROOT / "config" / name).read_text())
        params = dedcfg.training_params(config)
        params.setdefault("gpus_per_node", 8)
        assert train.gradient_accumulation(params) >= 1
        quick = dedcfg.training_params(config, quick=True)
        assert quick.get("max_steps") or quick["epochs"] <= params["epochs"]


def test_validate_references_catches_uneven_batch_and_unknown_names():
    config = yaml.safe_load((ROOT / "config" / "paper.yaml").read_text())
    config["training"]["per_device_batch_size"] = 5
    config["training"]["templates"]["nobody"] = {"template": "qwen"}
    config["experiments"]["phi4_qwq_math_first"]["teacher"] = "gpt5"
    config["experiments"]["phi4_qwq_math_first"]["benchmarks"] = ["aime99"]
    problems = "\n".join(dedcfg.validate_references(config))
    assert "training: global_batch_size 48 is not a multiple" in problems
    assert "training.templates.nobody: unknown student" in problems
    assert "experiments.phi4_qwq_math_first.teacher: unknown teacher 'gpt5'" in problems
    assert "experiments.phi4_qwq_math_first.benchmarks: unknown benchmark 'aime99'" in problems


# ---------------------------------------------------------------------------------------------------------------
# Models on disk
# ---------------------------------------------------------------------------------------------------------------
def test_model_folder_without_weights_is_named(tmp_path):
    empty = tmp_path / "student"
    empty.mkdir()
    with pytest.raises(DataError, match=r"student: no config\.json"):
        train.check_model_dir(empty)
    (empty / "config.json").write_text("{}")
    with pytest.raises(DataError, match=r"student: no weights"):
        train.check_model_dir(empty)
    with pytest.raises(DataError, match=r"nowhere: no such folder"):
        train.check_model_dir(tmp_path / "nowhere")
    spec = {"model": str(empty)}
    with pytest.raises(DataError, match=r"base model of student 'student' .*student: no weights"):
        train.write_template_check(tmp_path / "check.json", TINY, model_spec=spec, student="student")
    assert not (tmp_path / "check.json").exists()


def test_finalize_refuses_a_staging_folder_without_weights(tmp_path):
    staging = tmp_path / "staging"
    staging.mkdir()
    (staging / "config.json").write_text("{}")
    assert train.main(["finalize", str(staging), str(tmp_path / "models" / "m")]) == 1
    assert not (tmp_path / "models" / "m").exists()


def test_template_check_and_mismatch(random_tiny_model, tmp_path):
    spec = {"model": str(random_tiny_model)}
    rec = train.write_template_check(tmp_path / "ok.json", TINY, model_spec=spec, student="student")
    assert rec["checked"] is True and json.loads((tmp_path / "ok.json").read_text())["template"] == "qwen"
    # the fixture's template has no system turn: a default system prompt would train on a different prompt
    with pytest.raises(ValueError, match="does not reproduce the chat template"):
        train.write_template_check(tmp_path / "bad.json", {**TINY, "default_system": "You are a helpful assistant."},
                                   model_spec=spec, student="student")
    # hub ids are recorded unchecked
    hub = train.write_template_check(tmp_path / "hub.json", PAPER, model_spec={"model": "org/model"},
                                     student="ds32b")
    assert hub == {**hub, "checked": False, "template": "deepseekr1"}
    # a run whose template differs from the checked one is refused
    with pytest.raises(ValueError, match="differs from the checked"):
        train.make_train_config(tmp_path / "t.yaml", {**TINY, "template": "chatml"}, model_spec=spec,
                                student="student", dataset_dir="d", staging="s", mode="tiny", checked=rec)


# ---------------------------------------------------------------------------------------------------------------
# A real run
# ---------------------------------------------------------------------------------------------------------------
def test_llamafactory_cli_trains_a_loadable_model(random_tiny_model, tmp_path):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    corpus = tmp_path / "corpus.jsonl"
    write_jsonl(corpus, [corpus_row(i) for i in range(6)])
    ds = tmp_path / "run" / "dataset"
    train.write_dataset(corpus, ds / "train.json", ds / "dataset_info.json")
    staging = tmp_path / "run" / "staging"
    checked = train.write_template_check(tmp_path / "check.json", TINY, model_spec={"model": str(random_tiny_model)},
                                         student="student")
    yml = tmp_path / "run" / "train.yaml"
    train.make_train_config(yml, TINY, model_spec={"model": str(random_tiny_model)}, student="student",
                            dataset_dir=str(ds), staging=str(staging), mode="tiny", checked=checked)
    cli = Path(sys.executable).parent / "llamafactory-cli"
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1",
           "HF_DATASETS_OFFLINE": "1"}
    proc = subprocess.run([str(cli), "train", str(yml)], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = tmp_path / "models" / "student_sft"
    assert train.main(["finalize", str(staging), str(out)]) == 0
    assert not staging.exists()
    state = json.loads((out / "trainer_state.json").read_text())
    assert state["global_step"] == 3
    model = AutoModelForCausalLM.from_pretrained(out)
    base = AutoModelForCausalLM.from_pretrained(random_tiny_model)
    tok = AutoTokenizer.from_pretrained(out)
    assert tok.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False,
                                   add_generation_prompt=True) == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
    changed = [n for n, p in model.named_parameters()
               if not torch.equal(p, dict(base.named_parameters())[n])]
    assert changed, "training left every weight unchanged"
    ids = tok(RESPONSE, return_tensors="pt").input_ids
    with torch.no_grad():
        assert torch.isfinite(model(ids).logits).all()


# ---------------------------------------------------------------------------------------------------------------
# The template check on a DeepSeek-R1-distill tokenizer (its generation prompt ends after <think>)
# ---------------------------------------------------------------------------------------------------------------
DS_SPECIALS = ["<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<｜User｜>", "<｜Assistant｜>", "<think>", "</think>"]


@pytest.fixture(scope="module")
def ds_r1_distill_tokenizer(tmp_path_factory):
    """A byte-level BPE with DS-R1-distill's special tokens and its chat template (tests/fixtures)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    out = tmp_path_factory.mktemp("ds_r1_distill_tokenizer")
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=DS_SPECIALS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(["What is 2 + 3? Add them: 2 + 3 = 5. The answer is 5."] * 20, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=DS_SPECIALS[0], eos_token=DS_SPECIALS[1],
                                   pad_token=DS_SPECIALS[1], additional_special_tokens=DS_SPECIALS[2:])
    fast.chat_template = (ROOT / "tests" / "fixtures" / "ds_r1_distill_chat_template.jinja").read_text().strip()
    fast.save_pretrained(out)
    return out


def test_template_check_compares_trained_sequences_for_a_template_that_opens_think(ds_r1_distill_tokenizer):
    from llamafactory.data.template import TEMPLATES
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(ds_r1_distill_tokenizer)
    gen_prompt = tok.apply_chat_template(train.TEMPLATE_PROBE[:1], add_generation_prompt=True, tokenize=False)
    assert gen_prompt.endswith("<｜Assistant｜><think>\n")
    prompt_ids, _ = TEMPLATES["deepseekr1"].encode_oneturn(tok, [dict(m) for m in train.TEMPLATE_PROBE])
    # the prompts differ as strings (what the old check compared): LlamaFactory's ends before <think>
    assert tok.decode(prompt_ids).endswith("<｜Assistant｜>") and tok.decode(prompt_ids) != gen_prompt
    # ... but the trained token sequence is what evaluation conditions on and generates, then the stop token
    assert train.check_template(str(ds_r1_distill_tokenizer), "deepseekr1", None) is None
    mismatch = train.check_template(str(ds_r1_distill_tokenizer), "qwen", None)
    assert mismatch is not None and "LlamaFactory trains on" in mismatch


def test_liger_kernel_is_passed_to_llamafactory_only_when_asked():
    kwargs = dict(model="m", revision=None, dataset_dir="d", output_dir="o", student="ds32b", mode="paper")
    assert "enable_liger_kernel" not in train.build_train_config(PAPER, **kwargs)
    assert train.build_train_config({**PAPER, "enable_liger_kernel": True}, **kwargs)["enable_liger_kernel"] is True


# ---------------------------------------------------------------------------------------------------------------
# The training job: command line, Slurm request, provenance (rule train calls these through lambdas)
# ---------------------------------------------------------------------------------------------------------------
FAKE_CLI = """#!/usr/bin/env bash
# records what the launcher would see: its arguments and the variables LlamaFactory's launcher reads
python3 - "$@" <<'PY' >> "$RECORD"
import json, os, sys
keys = ("FORCE_TORCHRUN", "NNODES", "NODE_RANK", "NPROC_PER_NODE", "MASTER_ADDR", "MASTER_PORT",
        "CUDA_VISIBLE_DEVICES")
print(json.dumps({"argv": sys.argv[1:], **{k: os.environ.get(k) for k in keys}}))
PY
"""
# srun runs its command once per node here (SLURM_NODEID set as srun sets it in each task) and records its options
FAKE_SRUN = """#!/usr/bin/env bash
opts=(); while [[ "$1" == --* ]]; do opts+=("$1"); shift; done
echo "{\\"srun\\": \\"${opts[*]}\\"}" >> "$RECORD"
for ((i = 0; i < NODES_FOR_TEST; i++)); do SLURM_NODEID=$i SLURM_JOB_NODELIST="gpu[07-08]" "$@"; done
"""
FAKE_SCONTROL = """#!/usr/bin/env bash
[ "$1 $2 $3" = "show hostnames gpu[07-08]" ] && printf 'gpu07\\ngpu08\\n'
"""
FAKE_SQUEUE = """#!/usr/bin/env bash
echo 192
"""


@pytest.fixture
def fake_tools(tmp_path):
    """A folder with llamafactory-cli, python, srun, scontrol and squeue that record what the launch command runs."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in {"llamafactory-cli": FAKE_CLI, "python": FAKE_CLI, "srun": FAKE_SRUN,
                       "scontrol": FAKE_SCONTROL, "squeue": FAKE_SQUEUE}.items():
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    return bin_dir


def run_launch(command: str, bin_dir: Path, tmp_path: Path, nodes: int = 1) -> list[dict]:
    record = tmp_path / "record.jsonl"
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "RECORD": str(record), "SLURM_JOB_ID": "4242",
           "NODES_FOR_TEST": str(nodes), "CUDA_VISIBLE_DEVICES": "0,1"}
    proc = subprocess.run(["bash", "-euo", "pipefail", "-c", command], env=env, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in record.read_text().splitlines()]


def test_cpu_launch_hides_the_gpus_a_scheduler_hands_out(fake_tools, tmp_path):
    command = train.launch_command(TINY, "results/train/my run/train.yaml", f"{fake_tools}/")
    (rec,) = run_launch(command, fake_tools, tmp_path)
    assert rec["argv"] == ["-m", "ded.train", "llamafactory", "train", "results/train/my run/train.yaml"]
    assert rec["CUDA_VISIBLE_DEVICES"] == "" and rec["FORCE_TORCHRUN"] is None


def test_cpu_training_leaves_out_the_imports_it_never_uses(monkeypatch):
    """What `train <yaml>` leaves out depends on the yaml: the loss plot's matplotlib only when plot_loss is off,
    the generation metrics' packages only without predict_with_generate; LlamaFactory's training code then loads
    without them (a fresh process: what the CPU launch runs)."""
    import llamafactory.extras.packages as packages
    import transformers.utils

    checks = [(packages, "is_matplotlib_available"), (packages, "is_jieba_available"),
              (packages, "is_pyav_available"), (transformers.utils, "is_nltk_available")]
    for module, name in checks:
        monkeypatch.setattr(module, name, lambda: True)
    train.skip_unused_llamafactory_imports({"plot_loss": True, "predict_with_generate": True})
    assert [getattr(m, n)() for m, n in checks] == [True, True, False, True]
    train.skip_unused_llamafactory_imports({})
    assert [getattr(m, n)() for m, n in checks] == [False, False, False, False]
    code = ("import sys; from ded import train; train.skip_unused_llamafactory_imports({}); "
            "import llamafactory.train.tuner; "
            "print(*[m in sys.modules for m in ('nltk', 'matplotlib', 'av', 'sklearn', 'scipy', 'datasets')])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False"] * 5 + ["True"]


def test_cpu_launch_runs_llamafactory_cli_in_process(monkeypatch, tmp_path):
    """`python -m ded.train llamafactory ARGS` is LlamaFactory's own CLI main with ARGS, its exit status kept."""
    import llamafactory.cli

    skipped = []
    monkeypatch.setattr(train, "skip_unused_llamafactory_imports", skipped.append)
    seen = []

    def fake_main(code):
        seen.append(list(sys.argv))
        if code is not None:
            raise SystemExit(code)

    monkeypatch.setattr(sys, "argv", list(sys.argv))
    (tmp_path / "t.yaml").write_text("plot_loss: true\n")
    args = ["train", str(tmp_path / "t.yaml")]
    for code, status in [(None, 0), (0, 0), (3, 3), ("bad config", 1)]:
        monkeypatch.setattr(llamafactory.cli, "main", lambda code=code: fake_main(code))
        assert train.run_llamafactory(args) == status
    assert seen == [["llamafactory-cli", *args]] * 4
    assert skipped == [{"plot_loss": True}] * 4


@pytest.mark.parametrize("gpus, deepspeed, torchrun", [(8, None, "1"), (1, None, "0"), (1, "ds.json", "1")])
def test_one_node_launch(fake_tools, tmp_path, gpus, deepspeed, torchrun):
    params = {**PAPER, "gpus_per_node": gpus, "deepspeed": deepspeed}
    (rec,) = run_launch(train.launch_command(params, "t.yaml", f"{fake_tools}/"), fake_tools, tmp_path)
    assert (rec["FORCE_TORCHRUN"], rec["NNODES"], rec["NODE_RANK"], rec["NPROC_PER_NODE"]) == (
        torchrun, "1", "0", str(gpus))
    assert (rec["MASTER_ADDR"], rec["MASTER_PORT"]) == ("127.0.0.1", str(29500 + 4242 % 1000))


def test_several_nodes_launch_one_launcher_per_node_through_srun(fake_tools, tmp_path):
    params = {**PAPER, "nodes": 2, "gpus_per_node": 8}
    srun, *launchers = run_launch(train.launch_command(params, "t.yaml", f"{fake_tools}/"), fake_tools, tmp_path,
                                  nodes=2)
    # half of the job's 192 CPUs per node's launcher, one task per node, all the node's GPUs
    assert srun["srun"].split() == ["--nodes=2", "--ntasks=2", "--ntasks-per-node=1", "--gpus-per-node=8",
                                    "--cpus-per-task=96", "--kill-on-bad-exit=1"]
    assert [(r["NODE_RANK"], r["MASTER_ADDR"], r["NNODES"], r["NPROC_PER_NODE"], r["FORCE_TORCHRUN"])
            for r in launchers] == [("0", "gpu07", "2", "8", "1"), ("1", "gpu07", "2", "8", "1")]
    assert {r["MASTER_PORT"] for r in launchers} == {str(29500 + 4242 % 1000)}


def test_job_resources_and_threads_follow_the_training_settings():
    assert train.job_resources(TINY) == {"gpu": 0, "nodes": None, "mpi": None}
    assert train.job_resources(PAPER) == {"gpu": 8, "nodes": None, "mpi": None}
    assert train.job_resources({**PAPER, "nodes": 2}) == {"gpu": 16, "nodes": 2, "mpi": "srun"}
    with pytest.raises(ValueError, match="nodes=2 needs gpus_per_node > 0"):
        train.job_resources({**TINY, "nodes": 2})
    with pytest.raises(ValueError, match="nodes=2 needs gpus_per_node > 0"):
        train.launch_command({**TINY, "nodes": 2}, "t.yaml")
    assert (train.job_threads("tiny"), train.job_threads("paper")) == (1, 16)
    assert train.tool_prefix(conda=True) == ""
    assert train.tool_prefix(conda=False, python="/opt/venv/bin/python") == "/opt/venv/bin/"
    assert train.staging_dir("results/train/m/train.yaml") == "results/train/m/staging"
    assert train.dataset_dir("results/train/m/train.yaml") == "results/train/m/dataset"


def test_provenance_args_are_what_the_recorder_reads(tmp_path):
    from ded import provenance

    out = tmp_path / "results" / "models" / "my run"
    out.mkdir(parents=True)
    (out / "config.json").write_text("{}")
    args = train.provenance_args(model="my run", params={"seed": 1042, "nodes": 1}, train_yaml="r/train.yaml",
                                 inputs=["r/train.yaml", "r/data set.json"], output=out,
                                 results_dir=str(tmp_path / "results"))
    assert provenance.main(["record", "--started", "0", *shlex.split(args)]) == 0
    (path,) = (tmp_path / "results" / "provenance").rglob("*.json")
    record = json.loads(path.read_text())
    assert record["rule"] == "train" and record["wildcards"] == {"model": "my run"}
    assert record["params"] == {"nodes": 1, "seed": 1042}
    assert record["command"] == "llamafactory-cli train r/train.yaml"


def test_an_experiments_nodes_change_its_slurm_request(tmp_path):
    """resources come from the model's own training settings: an override of nodes/gpus_per_node in one experiment
    changes that job's request (and only that one's), not just its launch."""
    cfg = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    cfg["results_dir"], cfg["figures_dir"] = str(tmp_path / "results"), str(tmp_path / "figures")
    cfg["selection"]["teacher"] = "concise"
    cfg["experiments"]["mixed"]["training"] = {"nodes": 2, "gpus_per_node": 2, "per_device_batch_size": 2}
    path = tmp_path / "override.yaml"
    path.write_text(yaml.safe_dump(cfg))
    snakemake = Path(sys.executable).parent / "snakemake"
    proc = subprocess.run([str(snakemake), f"{tmp_path}/results/models/mixed", f"{tmp_path}/results/models/math_rhd",
                           "-n", "--cores", "2", "--configfile", str(path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    jobs = re.findall(r"^rule train:\n(?:    .*\n)*?    wildcards: model=(\S+)\n(?:    .*\n)*?    resources: (.*)$",
                      proc.stdout, flags=re.M)
    resources = {model: dict(kv.split("=", 1) for kv in res.split(", ")) for model, res in jobs}
    assert (resources["mixed"]["gpu"], resources["mixed"]["nodes"], resources["mixed"]["mpi"]) == ("4", "2", "srun")
    assert resources["math_rhd"]["gpu"] == "0" and "nodes" not in resources["math_rhd"]
    assert "mpi" not in resources["math_rhd"]
