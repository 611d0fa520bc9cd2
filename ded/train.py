"""DED stage 5: full-parameter SFT of a student with LlamaFactory.

Three file-to-file steps (rules/train.smk):
  corpus JSONL -> LlamaFactory dataset folder (train.json + dataset_info.json)   `write_dataset`
  training params -> LlamaFactory YAML                                            `write_train_config`
  `llamafactory-cli train` into a staging folder -> R/models/{model}              `finalize_model`

The rule `train` itself is a shell job whose command line (`launch_command`), Slurm request (`job_resources`),
threads (`job_threads`) and provenance arguments (`provenance_args`) come from here, all from the model's training
settings (ded.config.run_training_params), so that an experiment's nodes/gpus_per_node change both the launch and
the request.

Every check that can fail does so before any compute: an empty corpus, a row without a prompt or a response, a
global batch that the devices cannot split evenly, a base model folder without weights.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import shlex
import shutil
import sys
from pathlib import Path
from typing import Any

import yaml

from ded.io import DataError, iter_jsonl, write_json, write_text

DATASET_NAME = "ded_sft"
DATASET_FILE = "train.json"
DATASET_INFO = "dataset_info.json"
WEIGHT_SUFFIXES = (".safetensors", ".bin")
# LlamaFactory's sharegpt reader with OpenAI-style role names (the same messages ded.prompts builds).
SHAREGPT_ATTRS = {
    "formatting": "sharegpt",
    "columns": {"messages": "messages"},
    "tags": {
        "role_tag": "role",
        "content_tag": "content",
        "user_tag": "user",
        "assistant_tag": "assistant",
        "system_tag": "system",
    },
}


# ---------------------------------------------------------------------------------------------------------------
# Dataset
# ---------------------------------------------------------------------------------------------------------------
def corpus_to_sharegpt(corpus_path: str | os.PathLike) -> list[dict]:
    """Corpus rows (prompt = the user turn, response = the teacher's answer) -> sharegpt conversations."""
    corpus_path = Path(corpus_path)
    examples = []
    for lineno, row in enumerate(iter_jsonl(corpus_path, required=("prompt", "response")), start=1):
        for field in ("prompt", "response"):
            if not isinstance(row[field], str) or not row[field].strip():
                raise DataError(f"{corpus_path}: row {lineno} (question {row.get('question_id')}): "
                                f"'{field}' must be a non-empty string")
        examples.append({"messages": [{"role": "user", "content": row["prompt"]},
                                      {"role": "assistant", "content": row["response"]}]})
    if not examples:
        raise DataError(f"{corpus_path}: the corpus has no rows; nothing to train on "
                        f"(check the corpus stage's .stats.json for what was dropped)")
    return examples


def dataset_info(file_name: str = DATASET_FILE) -> dict:
    return {DATASET_NAME: {"file_name": file_name, **SHAREGPT_ATTRS}}


def write_dataset(corpus_path: str | os.PathLike, train_json: str | os.PathLike,
                  info_json: str | os.PathLike) -> int:
    """Write the LlamaFactory dataset (both files in one folder); return the number of examples."""
    train_json, info_json = Path(train_json), Path(info_json)
    if train_json.parent != info_json.parent:
        raise ValueError(f"{train_json} and {info_json} must share a folder (LlamaFactory's dataset_dir)")
    examples = corpus_to_sharegpt(corpus_path)
    write_json(train_json, examples)
    write_json(info_json, dataset_info(train_json.name))
    return len(examples)


# ---------------------------------------------------------------------------------------------------------------
# Training configuration
# ---------------------------------------------------------------------------------------------------------------
def devices(params: dict) -> int:
    """Data-parallel workers: GPUs over all nodes, or one CPU process when gpus_per_node is 0."""
    return max(1, int(params.get("gpus_per_node", 0))) * int(params.get("nodes", 1))


def gradient_accumulation(params: dict) -> int:
    """global_batch_size = per_device_batch_size x devices x gradient_accumulation_steps, exactly."""
    per_step = int(params["per_device_batch_size"]) * devices(params)
    global_bs = int(params["global_batch_size"])
    if global_bs % per_step:
        raise ValueError(
            f"training.global_batch_size={global_bs} is not a multiple of per_device_batch_size="
            f"{params['per_device_batch_size']} x gpus_per_node={params.get('gpus_per_node', 0)} (0 counts as one "
            f"CPU process) x nodes={params.get('nodes', 1)} = {per_step}")
    return global_bs // per_step


def template_for(params: dict, student: str | None) -> tuple[str, str | None]:
    """LlamaFactory template and default system prompt of a student (training.templates overrides by student)."""
    template, system = params.get("template", "qwen"), params.get("default_system")
    override = (params.get("templates") or {}).get(student) if student else None
    if override:
        template = override.get("template", template)
        system = override.get("default_system", system)
    return template, system


def build_train_config(params: dict, *, model: str, revision: str | None, dataset_dir: str, output_dir: str,
                       student: str | None = None, mode: str = "tiny") -> dict:
    """The LlamaFactory YAML (as a dict) of one full-parameter SFT run."""
    template, system = template_for(params, student)
    cfg: dict[str, Any] = {
        "model_name_or_path": str(model),
        "trust_remote_code": False,
        "stage": "sft",
        "do_train": True,
        "finetuning_type": "full",
        "dataset": DATASET_NAME,
        "dataset_dir": str(dataset_dir),
        "template": template,
        "cutoff_len": int(params["cutoff_len"]),
        "overwrite_cache": True,
        "output_dir": str(output_dir),
        "overwrite_output_dir": True,
        "logging_steps": 5 if mode == "tiny" else 10,
        # only the final model: no intermediate checkpoints, no optimizer state
        "save_strategy": "no",
        "save_only_model": True,
        "plot_loss": False,
        "report_to": "none",
        "per_device_train_batch_size": int(params["per_device_batch_size"]),
        "gradient_accumulation_steps": gradient_accumulation(params),
        "learning_rate": float(params["learning_rate"]),
        "num_train_epochs": float(params["epochs"]),
        "lr_scheduler_type": params.get("lr_scheduler", "cosine"),
        "warmup_steps": int(params.get("warmup_steps", 0)),
        "bf16": bool(params.get("bf16", False)),
        "seed": int(params.get("seed", 42)),
        "data_seed": int(params.get("seed", 42)),
        "ddp_timeout": 180000000,
    }
    if system is not None:
        cfg["default_system"] = system
    if revision:
        cfg["model_revision"] = revision
    if params.get("deepspeed"):
        cfg["deepspeed"] = str(params["deepspeed"])
    if params.get("max_steps"):
        cfg["max_steps"] = int(params["max_steps"])
    if params.get("enable_liger_kernel"):
        cfg["enable_liger_kernel"] = True  # LlamaFactory ModelArguments; liger-kernel is in envs/training.yaml
    if int(params.get("gpus_per_node", 0)) == 0:
        # CPU: a model this small trains faster without recomputing activations; nothing to pin memory for
        cfg["disable_gradient_checkpointing"] = True
        cfg["dataloader_pin_memory"] = False
    if mode == "paper":
        cfg["preprocessing_num_workers"] = 16
    return cfg


def write_train_config(path: str | os.PathLike, params: dict, **kwargs) -> dict:
    cfg = build_train_config(params, **kwargs)
    write_text(path, "# written by ded.train.write_train_config; run with `llamafactory-cli train <this file>`\n"
               + yaml.safe_dump(cfg, sort_keys=False))
    return cfg


# ---------------------------------------------------------------------------------------------------------------
# Models on disk
# ---------------------------------------------------------------------------------------------------------------
def check_model_dir(path: str | os.PathLike, what: str = "model") -> Path:
    """Fail with the folder's name when it is not a save_pretrained folder (config.json and weights)."""
    path = Path(path)
    if not path.is_dir():
        raise DataError(f"{what} {path}: no such folder")
    if not (path / "config.json").is_file():
        raise DataError(f"{what} {path}: no config.json (not a save_pretrained folder)")
    if not any(p.name.endswith(WEIGHT_SUFFIXES) for p in path.iterdir()):
        raise DataError(f"{what} {path}: no weights (*.safetensors or *.bin)")
    return path


TEMPLATE_PROBE = [{"role": "user", "content": "What is 2 + 3?"},
                  {"role": "assistant", "content": "<think>\nAdd them: 2 + 3 = 5.\n</think>\n\nThe answer is 5."}]


def _stop_ids(tok, tpl) -> set[int]:
    """Tokens generation stops at: the tokenizer's eos and the template's stop words."""
    ids = {tok.eos_token_id} if tok.eos_token_id is not None else set()
    for word in getattr(tpl, "stop_words", None) or []:
        token = tok.convert_tokens_to_ids(word)
        if isinstance(token, int) and token != tok.unk_token_id:
            ids.add(token)
    return ids


def check_template(model: str, template: str, default_system: str | None, revision: str | None = None) -> str | None:
    """Compare the token sequence LlamaFactory trains on with what evaluation conditions on and generates.

    Evaluation renders the user turn with the tokenizer's chat template (add_generation_prompt=True) and the model
    continues; a template that ends inside the assistant turn (DeepSeek-R1-distill's ends with '<think>\n') has
    written part of the response, which ded.generation puts back in front of the text. LlamaFactory's template may
    end its prompt earlier (deepseekr1 ends at '<｜Assistant｜>') with the response carrying that part instead. What
    matters is the trained sequence: prompt + response tokens must equal the generation prompt + the generated
    tokens up to the stop token. Returns None when they agree, else both sequences as text.
    """
    from ded.runtime import skip_unused_imports_in_transformers

    skip_unused_imports_in_transformers()
    from llamafactory.data.template import TEMPLATES
    from transformers import AutoTokenizer

    from ded.generation.base import forced_prefix

    tok = AutoTokenizer.from_pretrained(model, revision=revision)
    if template not in TEMPLATES:
        raise ValueError(f"training.template: LlamaFactory has no template {template!r}")
    tpl = copy.deepcopy(TEMPLATES[template])
    if default_system is not None:
        tpl.default_system = default_system
    prompt_ids, response_ids = tpl.encode_oneturn(tok, copy.deepcopy(TEMPLATE_PROBE))
    trained = list(prompt_ids) + list(response_ids)
    gen_prompt = tok.apply_chat_template(TEMPLATE_PROBE[:1], add_generation_prompt=True, tokenize=False)
    forced = forced_prefix(gen_prompt)
    response = TEMPLATE_PROBE[1]["content"]
    if forced and not response.startswith(forced):
        return f"the chat template forces {forced!r} but the probe response does not start with it"
    generated = tok(response[len(forced):], add_special_tokens=False)["input_ids"]
    evaluated = list(tok(gen_prompt, add_special_tokens=False)["input_ids"]) + list(generated)
    stops = _stop_ids(tok, tpl)
    if trained[:len(evaluated)] == evaluated and len(trained) > len(evaluated) and trained[len(evaluated)] in stops:
        return None  # tokens LlamaFactory trains after the stop token are never generated
    return (f"LlamaFactory trains on {tok.decode(trained)!r}, evaluation conditions on and generates "
            f"{tok.decode(evaluated)!r} followed by a stop token ({sorted(stops)})")


def is_local_model(model: str, results_dir: str = "results") -> bool:
    """A folder on disk (or one this workflow builds under results_dir), not a hub id."""
    return Path(model).exists() or str(model).startswith(results_dir.rstrip("/") + "/")


def write_template_check(path: str | os.PathLike, params: dict, *, model_spec: dict, student: str,
                         results_dir: str = "results") -> dict:
    """Rule train_template_check (once per student): the base model folder holds weights, and LlamaFactory's
    template renders the prompt exactly as the tokenizer's chat template that evaluation uses. Hub ids (paper
    mode) are recorded as unchecked: their tokenizer is not fetched on the submit host."""
    model = str(model_spec["model"])
    template, system = template_for(params, student)
    record = {"student": student, "model": model, "revision": model_spec.get("revision"), "template": template,
              "default_system": system, "checked": False}
    if is_local_model(model, results_dir):
        check_model_dir(model, f"base model of student '{student}'")
        mismatch = check_template(model, template, system)
        if mismatch:
            raise ValueError(f"training.template={template!r} with default_system={system!r} does not reproduce the "
                             f"chat template of {model} that evaluation prompts with: {mismatch}")
        record["checked"] = True
    write_json(path, record)
    return record


def make_train_config(path: str | os.PathLike, params: dict, *, model_spec: dict, student: str, dataset_dir: str,
                      staging: str, mode: str, checked: dict | None = None) -> dict:
    """Rule train_config: the YAML of one run. `checked` is the student's template check; a model whose
    training overrides change the template from the checked one is refused."""
    template, system = template_for(params, student)
    if checked is not None and (checked.get("template"), checked.get("default_system")) != (template, system):
        raise ValueError(f"training of student '{student}': template {template!r}/default_system {system!r} differs "
                         f"from the checked {checked.get('template')!r}/{checked.get('default_system')!r}; set it "
                         f"in training.templates.{student} instead of an experiment override")
    return write_train_config(path, params, model=str(model_spec["model"]), revision=model_spec.get("revision"),
                              dataset_dir=dataset_dir, output_dir=staging, student=student, mode=mode)


# ---------------------------------------------------------------------------------------------------------------
# The training job (rule train): command line, Slurm request, provenance
# ---------------------------------------------------------------------------------------------------------------
def staging_dir(train_yaml: str | os.PathLike) -> str:
    """The folder LlamaFactory writes into (output_dir of train.yaml), beside the YAML of the run."""
    return str(Path(train_yaml).parent / "staging")


def dataset_dir(train_yaml: str | os.PathLike) -> str:
    """The LlamaFactory dataset folder of a run (dataset_dir of train.yaml), beside the YAML."""
    return str(Path(train_yaml).parent / "dataset")


def tool_prefix(conda: bool, python: str = sys.executable) -> str:
    """What the shell job puts before llamafactory-cli and python: nothing inside a conda env (--sdm conda, where
    they are on PATH), else the folder of the Python that runs Snakemake (its venv is not on the jobs' PATH)."""
    return "" if conda else f"{Path(python).parent}/"


def _topology(params: dict) -> tuple[int, int]:
    nodes, gpus = int(params.get("nodes", 1)), int(params.get("gpus_per_node", 0))
    if gpus == 0 and nodes > 1:
        raise ValueError(f"training: nodes={nodes} needs gpus_per_node > 0 (0 trains on one CPU process)")
    return nodes, gpus


def launch_command(params: dict, train_yaml: str | os.PathLike, prefix: str = "") -> str:
    """The llamafactory-cli command line with the environment LlamaFactory's launcher reads.

    llamafactory/launcher.py starts torchrun when FORCE_TORCHRUN=1 (required with DeepSpeed) or when it sees more
    than one GPU, with NNODES, NODE_RANK, NPROC_PER_NODE, MASTER_ADDR and MASTER_PORT. On several nodes one
    launcher runs per node (srun, one task per node): NODE_RANK is that node's SLURM_NODEID and MASTER_ADDR the first
    host of SLURM_JOB_NODELIST. gpus_per_node 0 (the tiny world) trains on CPU: CUDA_VISIBLE_DEVICES is set empty
    so that GPUs a scheduler hands the job (real or fake) are never picked up.
    """
    nodes, gpus = _topology(params)
    cli = f"{prefix}llamafactory-cli train {shlex.quote(str(train_yaml))}"
    if gpus == 0:
        # the same CLI through ded.train (run_llamafactory): ~4 s less start-up and teardown per CPU training
        return f"CUDA_VISIBLE_DEVICES= {prefix}python -m ded.train llamafactory train {shlex.quote(str(train_yaml))}"
    port = "$((29500 + ${SLURM_JOB_ID:-0} % 1000))"
    if nodes == 1:
        torchrun = "1" if (gpus > 1 or params.get("deepspeed")) else "0"
        return (f"FORCE_TORCHRUN={torchrun} NNODES=1 NODE_RANK=0 NPROC_PER_NODE={gpus} "
                f"MASTER_ADDR=127.0.0.1 MASTER_PORT={port} {cli}")
    # The Slurm job-step plugin strips SLURM_* (but the job id) from this shell: the node list exists only inside
    # the srun task, so MASTER_ADDR is resolved there; each per-node launcher gets that node's share of the CPUs.
    per_node = shlex.quote(
        'export MASTER_ADDR=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1); '
        "export NODE_RANK=$SLURM_NODEID; exec " + cli)
    return (f"cpn=$(( $(squeue -h -j $SLURM_JOB_ID -o %C) / {nodes} )); "
            f"srun --nodes={nodes} --ntasks={nodes} --ntasks-per-node=1 --gpus-per-node={gpus} "
            f"--cpus-per-task=$cpn --kill-on-bad-exit=1 "
            f"env FORCE_TORCHRUN=1 NNODES={nodes} NPROC_PER_NODE={gpus} MASTER_PORT={port} bash -c {per_node}")


def job_resources(params: dict) -> dict[str, Any]:
    """The rule's resources, from the same settings as the launch: `gpu` for the whole job (nodes x gpus_per_node,
    as the Slurm plugin's --gpus counts them); on several nodes `nodes`, and `mpi` so that the job step runs the
    rule's shell in the batch step (which starts srun itself) instead of wrapping it in `srun -n1`. None is a
    resource Snakemake leaves unset."""
    nodes, gpus = _topology(params)
    several = nodes > 1
    return {"gpu": nodes * gpus, "nodes": nodes if several else None, "mpi": "srun" if several else None}


def job_threads(mode: str) -> int:
    """Cores of a training job: one CPU process in the tiny world, a node's data loaders in paper mode."""
    return 1 if mode == "tiny" else 16


def provenance_args(*, model: str, params: dict, train_yaml: str | os.PathLike, inputs: list[str],
                    output: str | os.PathLike, results_dir: str) -> str:
    """The arguments of `python -m ded.provenance record` (but --started) for this shell job, shell-quoted."""
    args = [
        "--rule", "train",
        "--wildcards", json.dumps({"model": model}),
        "--params", json.dumps(params, sort_keys=True),
        "--command", f"llamafactory-cli train {train_yaml}",
        "--results-dir", str(results_dir),
        "--input", *[str(p) for p in inputs],
        "--output", str(output),
    ]
    return " ".join(shlex.quote(a) for a in args)


def finalize_model(staging: str | os.PathLike, output: str | os.PathLike) -> Path:
    """Move a finished LlamaFactory output folder onto the model folder (one rename: never half a model)."""
    staging, output = Path(staging), Path(output)
    check_model_dir(staging, "trained model (LlamaFactory output)")
    if not any((staging / name).is_file() for name in ("tokenizer.json", "tokenizer_config.json")):
        raise DataError(f"trained model {staging}: no tokenizer saved beside the weights")
    if output.exists():
        shutil.rmtree(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    os.replace(staging, output)
    return output


def skip_unused_llamafactory_imports(train_args: dict) -> None:
    """Tell LlamaFactory (and transformers) that the packages an SFT run of `train_args` (a train.yaml) would never
    use are absent, before LlamaFactory's training code is imported: the generation metrics' packages (nltk with
    SciPy and scikit-learn for BLEU, jieba and rouge_chinese for ROUGE) unless it predicts with generate, matplotlib
    unless it plots the loss, PyAV (video inputs) always: DED trains on text. LlamaFactory imports each at start-up
    when it is installed, ~3 s of every CPU training job on the 2-core development VM."""
    import llamafactory.extras.packages as packages
    import transformers.utils

    from ded.runtime import skip_unused_imports_in_transformers

    skip_unused_imports_in_transformers()
    checks = [(packages, "is_pyav_available")]
    if not train_args.get("predict_with_generate"):
        checks += [(packages, "is_jieba_available"), (packages, "is_rouge_available"),
                   (transformers.utils, "is_nltk_available")]
    if not train_args.get("plot_loss"):
        checks.append((packages, "is_matplotlib_available"))
    for module, check in checks:
        if hasattr(module, check):
            setattr(module, check, lambda: False)


def run_llamafactory(args: list[str]) -> int:
    """`llamafactory-cli ARGS` in this process (its CLI's own main: on CPU it trains here, without torchrun), with the
    imports that `train <yaml>` never uses left out (skip_unused_llamafactory_imports); the exit status."""
    if args[:1] == ["train"] and len(args) == 2:
        skip_unused_llamafactory_imports(yaml.safe_load(Path(args[1]).read_text(encoding="utf-8")) or {})
    from llamafactory.cli import main as llamafactory_main

    sys.argv = ["llamafactory-cli", *args]
    try:
        llamafactory_main()
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0


def main(argv: list[str] | None = None) -> int:
    """`python -m ded.train check-model PATH` / `finalize STAGING OUTPUT` / `llamafactory ARGS...` (the CPU launch)
    for the shell of rule train."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["llamafactory"]:
        from ded.runtime import end_process

        # the model is saved and closed when LlamaFactory returns: skip the teardown of torch, transformers,
        # datasets and LlamaFactory (~2 s per training job on the development VM)
        end_process(run_llamafactory(argv[1:]))
    ap = argparse.ArgumentParser(prog="python -m ded.train")
    sub = ap.add_subparsers(dest="cmd", required=True)
    chk = sub.add_parser("check-model")
    chk.add_argument("path")
    fin = sub.add_parser("finalize")
    fin.add_argument("staging")
    fin.add_argument("output")
    args = ap.parse_args(argv)
    try:
        if args.cmd == "check-model":
            check_model_dir(args.path, "base model")
        else:
            finalize_model(args.staging, args.output)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
