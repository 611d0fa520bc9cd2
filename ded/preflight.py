"""`ded preflight`: the checks that catch a paper-mode run's configuration errors before any GPU hour is spent.

    ded preflight [--configfile config/paper.yaml] [--profile slurm] [--model-configs DIR] [--download] [--online]
                  [--strict] [--json]

The workflow runs it as the local rule `preflight` (rules/sample.smk), whose report every GPU rule of paper mode
takes as input, and it runs on its own. Each problem names the config key and the fix:

- context: for each vLLM job (teacher and student sampling, evaluation of base and trained models, the judge, the
  OOD suite), preflight.max_prompt_tokens + max_new_tokens <= max_model_len <= the model's context limit, which is
  read from its config.json as vLLM 0.33 derives it (vllm/transformers_utils/model_arch_config_convertor.py
  derive_max_model_len_and_key: the smallest of max_position_embeddings, n_positions, ...; vllm/config/model.py
  _get_and_verify_max_len: times the RoPE scaling factor except for yarn/longrope/llama3-style types; a larger
  max_model_len raises at LLM() unless VLLM_ALLOW_LONG_MAX_MODEL_LEN is set).
- memory: for each training run, full fine-tuning's model states (bytes per parameter for the ZeRO stage and
  offload of the DeepSpeed config) plus activations at the cutoff, against training.nodes x gpus_per_node x
  gpu_memory_gb; a run that does not fit fails with the nodes it needs.
- revisions: every hub id (models and datasets) pinned to a 40-hex commit.
- endpoint: an OpenAI-compatible teacher names the model it is (not a provider alias that moves to newer models),
  and does not ignore the sampling parameters the config asks for; with --online its /models list is asked.
- ood: generation settings for reasoning models (chat template, long max_gen_toks, think-end stripping); with
  --online, that each harness task's dataset loads with datasets 4.0 (which runs no loading scripts: a repository
  with a script and no data files, as cmmlu's was, fails).
- deployment: paper mode runs its GPU rules in the envs/*.yaml conda environments (--sdm conda).

config.json is read from the model's local folder, from --model-configs DIR (DIR/<org>--<name>/config.json), from
the Hugging Face cache, or (--download) fetched alone from the hub. A model whose config.json cannot be found is
reported as unchecked: a warning, or an error with --strict.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

SHA_RE = re.compile(r"^[0-9a-f]{40}$")
GiB = 2**30

# vLLM 0.33 vllm/transformers_utils/model_arch_config_convertor.py derive_max_model_len_and_key, in its order
CONTEXT_KEYS = ("max_position_embeddings", "n_positions", "max_seq_len", "seq_length", "model_max_length",
                "max_target_positions", "max_sequence_length", "max_seq_length", "seq_len")
# vllm/config/model.py _get_and_verify_max_len: RoPE types whose max_position_embeddings is already scaled
ROPE_TYPES_WITHOUT_FACTOR = {"su", "longrope", "llama3", "yarn", "deepseek_yarn", "deepseek_llama_scaling"}
# Provider aliases that are re-pointed at newer models (api-docs.deepseek.com: deepseek-reasoner now serves the
# current model in thinking mode): a corpus sampled from them is not from the model the config names.
MOVING_ALIASES = {"deepseek-reasoner", "deepseek-chat"}
# Device memory of the GPU models the Slurm profile may request (GB as vendors state it, used as GiB: a margin)
GPU_MEMORY_GB = {"h800": 80, "h100": 80, "a100": 80, "h200": 141, "a800": 80, "l40s": 48}
DATA_SUFFIXES = (".parquet", ".json", ".jsonl", ".csv", ".tsv", ".arrow", ".txt", ".json.gz", ".jsonl.gz")


def loads_without_script(files: Iterable[str]) -> bool:
    """Whether datasets >= 4 can load a hub dataset repository with these files: it has data files of a format
    datasets reads itself, or no loading script at all (datasets 4.0 removed script support)."""
    files = list(files)
    has_data = any(f.lower().endswith(DATA_SUFFIXES) for f in files if not f.startswith("."))
    has_script = any(f.endswith(".py") and "/" not in f for f in files)
    return has_data or not has_script


def harness_dataset_paths(task: str) -> set[str]:
    """Hub datasets an lm-evaluation-harness task or group reads (the dataset_path of the YAMLs in its folder)."""
    import lm_eval

    root = Path(lm_eval.__file__).parent / "tasks"
    named = re.compile(rf"^(task|group):\s*{re.escape(task)}\s*$", re.M)
    folders = {y.parent for y in root.rglob("*.yaml") if named.search(y.read_text(errors="ignore"))}
    paths = set()
    for folder in folders:
        for y in folder.glob("*yaml"):  # _default_template_yaml has no suffix
            paths.update(re.findall(r"^dataset_path:\s*(\S+)", y.read_text(errors="ignore"), re.M))
    return paths


@dataclass
class Finding:
    level: str      # error | warning | ok
    check: str      # context | memory | revision | endpoint | ood | deployment
    key: str        # the config key it is about
    message: str

    def line(self) -> str:
        return f"{self.level.upper():7s} {self.check:10s} {self.key}: {self.message}"


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)

    def add(self, level: str, check: str, key: str, message: str) -> None:
        self.findings.append(Finding(level, check, key, message))

    def errors(self, strict: bool = False) -> list[Finding]:
        return [f for f in self.findings if f.level == "error" or (strict and f.level == "warning")]

    def to_dict(self) -> dict:
        return {"findings": [asdict(f) for f in self.findings],
                "errors": sum(f.level == "error" for f in self.findings),
                "warnings": sum(f.level == "warning" for f in self.findings)}


# ---------------------------------------------------------------------------------------------------------------
# Model facts from config.json
# ---------------------------------------------------------------------------------------------------------------
def is_hub_id(model: str, results_dir: str = "results") -> bool:
    """An `org/name` id that is neither an existing folder nor one this workflow builds."""
    model = str(model)
    if Path(model).exists() or model.startswith(results_dir.rstrip("/") + "/") or model.startswith((".", "/")):
        return False
    return bool(re.fullmatch(r"[\w.\-]+/[\w.\-]+", model))


def find_model_config(model: str, revision: str | None, *, search_dirs: Iterable[str | os.PathLike] = (),
                      download: bool = False) -> tuple[dict | None, str]:
    """(config.json as a dict, where it was found) or (None, why not)."""
    local = Path(str(model)) / "config.json"
    if local.is_file():
        return json.loads(local.read_text(encoding="utf-8")), str(local)
    for folder in search_dirs:
        path = Path(folder) / str(model).replace("/", "--") / "config.json"
        if path.is_file():
            return json.loads(path.read_text(encoding="utf-8")), str(path)
    try:
        from huggingface_hub import hf_hub_download, try_to_load_from_cache
    except ImportError:
        return None, "not in a local folder or --model-configs, and huggingface_hub is not installed"
    cached = try_to_load_from_cache(str(model), "config.json", revision=revision)
    if isinstance(cached, str) and Path(cached).is_file():
        return json.loads(Path(cached).read_text(encoding="utf-8")), cached
    if download:
        try:
            path = hf_hub_download(str(model), "config.json", revision=revision)
        except Exception as exc:  # network, gated, unknown revision: reported, not raised
            return None, f"download failed ({type(exc).__name__}: {str(exc)[:200]})"
        return json.loads(Path(path).read_text(encoding="utf-8")), path
    return None, "config.json not in the Hugging Face cache (--download fetches it alone)"


def text_config(config: dict) -> dict:
    """The language model's part of a config (multimodal configs nest it under text_config)."""
    return config.get("text_config") or config


def rope_factor(config: dict) -> float:
    rope = config.get("rope_scaling") or config.get("rope_parameters") or {}
    if not isinstance(rope, dict):
        return 1.0
    kind = rope.get("rope_type") or rope.get("type") or "default"
    if kind in ROPE_TYPES_WITHOUT_FACTOR or kind == "default":
        return 1.0
    return float(rope.get("factor") or 1.0)


def context_limit(config: dict) -> tuple[int | None, str | None]:
    """The longest max_model_len vLLM 0.33 accepts for this config.json (and the key it comes from)."""
    cfg = text_config(config)
    found = [(int(cfg[k]), k) for k in CONTEXT_KEYS if isinstance(cfg.get(k), (int, float))]
    if not found:
        return None, None
    limit, key = min(found)
    return int(limit * rope_factor(cfg)), key


def dense_parameters(config: dict) -> int | None:
    """Parameters of a dense decoder (Qwen2/Qwen3/Phi3/Llama shapes) from config.json; None for MoE or unknown."""
    cfg = text_config(config)
    if any(k in cfg for k in ("num_experts", "n_routed_experts", "num_local_experts")):
        return None
    try:
        h, layers, inter, vocab = (int(cfg[k]) for k in ("hidden_size", "num_hidden_layers", "intermediate_size",
                                                         "vocab_size"))
        heads = int(cfg["num_attention_heads"])
    except (KeyError, TypeError, ValueError):
        return None
    kv = int(cfg.get("num_key_value_heads") or heads)
    head_dim = int(cfg.get("head_dim") or h // heads)
    q, kvd = heads * head_dim, kv * head_dim
    attention = h * q + 2 * h * kvd + q * h
    if cfg.get("model_type") == "qwen2" or cfg.get("attention_bias"):
        attention += q + 2 * kvd  # q/k/v biases
    mlp = 3 * h * inter
    norms = 2 * h + (2 * head_dim if cfg.get("model_type") == "qwen3" else 0)  # qwen3: q/k norms
    embeddings = vocab * h * (1 if cfg.get("tie_word_embeddings") else 2)
    return layers * (attention + mlp + norms) + embeddings + h


# ---------------------------------------------------------------------------------------------------------------
# Training memory
# ---------------------------------------------------------------------------------------------------------------
def deepspeed_settings(path: str | os.PathLike | None) -> dict:
    """ZeRO stage and offload targets of a DeepSpeed config (no config: plain data parallel, stage 0)."""
    if not path:
        return {"stage": 0, "offload_optimizer": None, "offload_param": None}
    ds = json.loads(Path(path).read_text(encoding="utf-8"))
    zero = ds.get("zero_optimization") or {}

    def device(name):
        dev = (zero.get(name) or {}).get("device")
        return dev if dev not in (None, "none") else None

    return {"stage": int(zero.get("stage", 0)), "offload_optimizer": device("offload_optimizer"),
            "offload_param": device("offload_param")}


def state_bytes_per_gpu(params: int, gpus: int, ds: dict) -> float:
    """Model states of mixed-precision AdamW full fine-tuning per GPU (the ZeRO paper's 2 + 2 + 12 bytes per
    parameter: bf16 weights and gradients, fp32 master weights, momentum and variance), sharded as the stage says,
    plus 2 bytes per parameter for DeepSpeed's communication buckets and fragmentation (about 18 in all)."""
    weights, grads, optim, slack = 2.0, 2.0, 12.0, 2.0
    stage = ds["stage"]
    if ds["offload_optimizer"]:
        optim = 0.0
    if ds["offload_param"] and stage >= 3:
        weights = 0.0
    per = {0: weights + grads + optim,
           1: weights + grads + optim / gpus,
           2: weights + (grads + optim) / gpus,
           3: (weights + grads + optim) / gpus}.get(stage, (weights + grads + optim) / gpus)
    return params * (per + slack / gpus)


def activation_bytes(config: dict, tokens: int, *, liger: bool) -> float:
    """Activations of one micro-batch of `tokens` with gradient checkpointing (LlamaFactory's default): the
    checkpointed hidden state of every layer, one layer recomputed in full, and the logits (bf16 and their fp32
    copy in the loss; Liger's fused linear cross-entropy never materialises them)."""
    cfg = text_config(config)
    h, layers = int(cfg["hidden_size"]), int(cfg["num_hidden_layers"])
    inter, vocab = int(cfg.get("intermediate_size") or 4 * h), int(cfg["vocab_size"])
    checkpoints = layers * tokens * h * 2
    one_layer = tokens * (16 * h + 6 * inter)
    logits = 0 if liger else tokens * vocab * 6
    return checkpoints + one_layer + logits


@dataclass
class MemoryPlan:
    params: int
    gpus: int
    per_gpu_gib: float
    usable_gib: float
    nodes_needed: int | None

    @property
    def fits(self) -> bool:
        return self.per_gpu_gib <= self.usable_gib


def training_memory(config_json: dict, params: dict, ds: dict, *, headroom: float = 0.9) -> MemoryPlan | None:
    n_params = dense_parameters(config_json)
    if n_params is None:
        return None
    gpus_per_node = max(1, int(params.get("gpus_per_node", 8)))
    nodes = int(params.get("nodes", 1))
    usable = float(params.get("gpu_memory_gb", 80)) * headroom
    tokens = int(params["cutoff_len"]) * int(params.get("per_device_batch_size", 1))
    act = activation_bytes(config_json, tokens, liger=bool(params.get("enable_liger_kernel")))

    def per_gpu(n_nodes):
        return (state_bytes_per_gpu(n_params, n_nodes * gpus_per_node, ds) + act) / GiB

    needed = next((n for n in range(1, 65) if per_gpu(n) <= usable), None)
    return MemoryPlan(n_params, nodes * gpus_per_node, per_gpu(nodes), usable, needed)


# ---------------------------------------------------------------------------------------------------------------
# The checks
# ---------------------------------------------------------------------------------------------------------------
def _model_key(config: dict, name: str) -> str:
    return f"{'teachers' if name in config.get('teachers', {}) else 'students'}.{name}"


class Preflight:
    def __init__(self, config: dict, *, search_dirs: Iterable[str] = (), download: bool = False,
                 online: bool = False, gpu_model: str | None = None, deployment: Iterable[str] | None = None,
                 http_get: Callable[[str, dict], dict] | None = None,
                 list_dataset_files: Callable[[str], list[str]] | None = None):
        self.config = config
        self.search_dirs = list(search_dirs)
        self.download = download
        self.online = online
        self.gpu_model = gpu_model
        self.deployment = None if deployment is None else {str(d).lower() for d in deployment}
        self.http_get = http_get
        self.list_dataset_files = list_dataset_files
        self.report = Report()
        self._configs: dict[tuple[str, str | None], tuple[dict | None, str]] = {}
        self.results_dir = config.get("results_dir", "results")

    def model_config(self, spec: dict) -> tuple[dict | None, str]:
        key = (str(spec["model"]), spec.get("revision"))
        if key not in self._configs:
            self._configs[key] = find_model_config(key[0], key[1], search_dirs=self.search_dirs,
                                                   download=self.download)
        return self._configs[key]

    def run(self) -> Report:
        self.check_revisions()
        self.check_endpoints()
        self.check_context()
        self.check_training()
        self.check_ood()
        self.check_deployment()
        return self.report

    # -- revisions -----------------------------------------------------------------------------------------------
    def hub_specs(self) -> list[tuple[str, dict]]:
        out = [(_model_key(self.config, n), s) for sec in ("teachers", "students")
               for n, s in self.config.get(sec, {}).items()]
        if self.config.get("filtering", {}).get("judge"):
            out.append(("filtering.judge", self.config["filtering"]["judge"]))
        return out

    def check_revisions(self) -> None:
        for key, spec in self.hub_specs():
            if not is_hub_id(spec["model"], self.results_dir):
                continue
            self._check_sha(f"{key}.revision", spec.get("revision"), spec["model"])
        for section in ("seeds", "benchmarks"):
            for name, src in (self.config.get(section) or {}).items():
                if src.get("hub_id") and not src.get("local_path"):
                    self._check_sha(f"{section}.{name}.revision", src.get("revision"), src["hub_id"])

    def _check_sha(self, key: str, revision, what: str) -> None:
        if revision is None:
            self.report.add("error", "revision", key, f"{what} is not pinned: set it to the 40-hex commit sha to "
                            "download (the hub's main branch moves)")
        elif not SHA_RE.match(str(revision)):
            self.report.add("error", "revision", key, f"{what} revision {revision!r} is a branch or tag, not a "
                            "commit: set the 40-hex commit sha")

    # -- endpoints ------------------------------------------------------------------------------------------------
    def check_endpoints(self) -> None:
        from ded.generation.openai_backend import ignored_sampling

        for key, spec in self.hub_specs():
            if spec.get("backend") != "openai":
                continue
            ep = spec.get("endpoint") or {}
            name = ep.get("model_name", "")
            served = ep.get("served_model") or name
            if name in MOVING_ALIASES:
                self.report.add("error", "endpoint", f"{key}.endpoint.model_name",
                                f"{name!r} is a provider alias that now serves a newer model, not {spec['model']}: "
                                f"serve {spec['model']} yourself (vLLM's OpenAI-compatible server, model_name "
                                f"{spec['model']!r}) or use an endpoint whose model name is that model")
            elif spec["model"].split("/")[-1].lower() not in served.lower():
                self.report.add("error", "endpoint", f"{key}.endpoint.served_model",
                                f"the endpoint reports {served!r}, which does not name {spec['model']}: set "
                                "endpoint.served_model to the name the server reports for this model")
            ignored = ignored_sampling(ep)
            if ignored and not ep.get("accept_ignored_sampling"):
                self.report.add("error", "endpoint", f"{key}.endpoint.accept_ignored_sampling",
                                f"{ep.get('base_url')} ignores {', '.join(ignored)}: serve the model yourself, or "
                                "set accept_ignored_sampling: true to sample with the endpoint's own settings")
            if self.online:
                self._check_models_list(key, ep)

    def _check_models_list(self, key: str, ep: dict) -> None:
        url = ep["base_url"].rstrip("/") + "/models"
        headers = {}
        token = os.environ.get(ep.get("api_key_env") or "OPENAI_API_KEY")
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            if self.http_get is not None:
                data = self.http_get(url, headers)
            else:
                import httpx

                data = httpx.get(url, headers=headers, timeout=30).json()
        except Exception as exc:
            self.report.add("error", "endpoint", f"{key}.endpoint.base_url", f"GET {url} failed: {exc}")
            return
        ids = [m.get("id") for m in data.get("data", [])]
        if ep["model_name"] not in ids:
            self.report.add("error", "endpoint", f"{key}.endpoint.model_name",
                            f"{url} serves {ids}, not {ep['model_name']!r}")

    # -- context ---------------------------------------------------------------------------------------------------
    def vllm_jobs(self) -> list[dict]:
        """Each distinct (model, max_new_tokens) a vLLM job of this config runs with, and the keys to fix."""
        from ded import config as dedcfg
        from ded.evaluate import eval_model_spec

        cfg, jobs = self.config, []
        compression_student = cfg.get("compression", {}).get("student")
        for name, spec in cfg.get("teachers", {}).items():
            params = dedcfg.sampling_params(cfg, cfg.get("sampling", {}).get("params"), spec)
            jobs.append(dict(what=f"sampling of teacher {name}", key=_model_key(cfg, name), spec=spec,
                             base=spec, max_new=params["max_new_tokens"], new_key="sampling.params.max_new_tokens"))
        if compression_student in cfg.get("students", {}):
            spec = cfg["students"][compression_student]
            params = dedcfg.sampling_params(cfg, cfg.get("compression", {}).get("params"), spec)
            jobs.append(dict(what=f"pass rates of {compression_student}", key=_model_key(cfg, compression_student),
                             spec=spec, base=spec, max_new=params["max_new_tokens"],
                             new_key="compression.params.max_new_tokens"))
        used = list(dict.fromkeys(e["student"] for e in cfg.get("experiments", {}).values()))
        models = [dedcfg.base_model_name(s) for s in used] + list(cfg.get("experiments", {}))
        for model in models:
            spec = eval_model_spec(cfg, model, self.results_dir)
            student = dedcfg.model_student(cfg, model)
            base = cfg["students"][student]
            params = dedcfg.sampling_params(cfg, cfg.get("evaluation", {}).get("params"), spec)
            jobs.append(dict(what=f"evaluation of {model}", key=f"students.{student}", spec=spec, base=base,
                             max_new=params["max_new_tokens"], new_key="evaluation.params.max_new_tokens"))
        for name, spec in cfg.get("teachers", {}).items():   # each teacher's own score (teacher_<name>)
            params = dedcfg.sampling_params(cfg, cfg.get("evaluation", {}).get("params"), spec)
            jobs.append(dict(what=f"evaluation of {dedcfg.teacher_model_name(name)}", key=_model_key(cfg, name),
                             spec=spec, base=spec, max_new=params["max_new_tokens"],
                             new_key="evaluation.params.max_new_tokens"))
        ood = cfg.get("ood", {})
        if ood.get("backend") == "vllm":
            table6 = [e for e, x in cfg.get("experiments", {}).items() if "table6" in (x.get("feeds") or [])]
            bases = [dedcfg.base_model_name(cfg["experiments"][e]["student"]) for e in table6]
            for model in dict.fromkeys(bases + table6):
                student = dedcfg.model_student(cfg, model)
                base = cfg["students"][student]
                spec = {**base, "backend": "vllm"}
                jobs.append(dict(what=f"OOD suite of {model}", key=f"students.{student}", spec=spec, base=base,
                                 max_new=int(ood.get("max_gen_toks") or 256), new_key="ood.max_gen_toks"))
        judge = cfg.get("filtering", {}).get("judge")
        if judge:
            params = dedcfg.sampling_params(cfg, judge.get("sampling"), judge)
            jobs.append(dict(what="the judge", key="filtering.judge", spec=judge, base=judge,
                             max_new=params["max_new_tokens"], new_key="filtering.judge.sampling.max_new_tokens"))
        return [j for j in jobs if dedcfg.model_gpus(j["spec"])]

    def check_context(self) -> None:
        budget = int(self.config.get("preflight", {}).get("max_prompt_tokens", 4096))
        checked_limit: set[str] = set()
        for job in self.vllm_jobs():
            base, key = job["base"], job["key"]
            config_json, where = self.model_config(base)
            limit = None
            if config_json is None:
                if key not in checked_limit:
                    self.report.add("warning", "context", f"{key}.model",
                                    f"context limit of {base['model']} unchecked: {where}")
            else:
                limit, limit_key = context_limit(config_json)
            checked_limit.add(key)
            max_len = job["spec"].get("max_model_len") or base.get("max_model_len") or limit
            if limit is not None and max_len is not None and max_len > limit:
                self.report.add("error", "context", f"{key}.max_model_len",
                                f"{max_len} exceeds {base['model']}'s context limit {limit} ({limit_key} in {where}); "
                                f"vLLM refuses to start: set {key}.max_model_len: {limit}")
                continue
            if max_len is None:
                continue
            if budget + job["max_new"] > max_len:
                room = max_len - budget
                fix = (f"set ood.max_gen_toks: {room}" if job["new_key"] == "ood.max_gen_toks" else
                       f"set {key}.sampling.max_new_tokens: {room} (this model only) or {job['new_key']}: {room}")
                self.report.add("error", "context", job["new_key"],
                                f"{job['what']}: max_new_tokens {job['max_new']} + preflight.max_prompt_tokens "
                                f"{budget} > max_model_len {max_len} of {key}: {fix}")
            elif limit is not None:
                self.report.add("ok", "context", key, f"{job['what']}: {budget} + {job['max_new']} <= {max_len} "
                                f"<= {limit}")

    # -- training --------------------------------------------------------------------------------------------------
    def training_runs(self) -> list[tuple[str, str, dict]]:
        from ded import config as dedcfg

        cfg, runs, seen = self.config, [], set()
        sel = cfg.get("selection", {})
        candidates = [("training", None, dedcfg.training_params(cfg))]
        if not sel.get("teacher"):
            candidates.append(("selection.train", sel.get("student"), dedcfg.training_params(cfg, quick=True)))
        for name, exp in cfg.get("experiments", {}).items():
            where = f"experiments.{name}.training" if exp.get("training") else "training"
            candidates.append((where, exp["student"], dedcfg.training_params(cfg, name)))
        for where, student, params in candidates:
            students = [student] if student else list(dict.fromkeys(
                e["student"] for e in cfg.get("experiments", {}).values()))
            for s in students:
                ident = (where, s, json.dumps(params, sort_keys=True, default=str))
                if s in cfg.get("students", {}) and ident not in seen:
                    seen.add(ident)
                    runs.append((where, s, params))
        return runs

    def check_training(self) -> None:
        for where, student, params in self.training_runs():
            if int(params.get("gpus_per_node", 0)) == 0:
                continue  # CPU training (the tiny world)
            spec = self.config["students"][student]
            config_json, found = self.model_config(spec)
            if config_json is None:
                self.report.add("warning", "memory", f"students.{student}.model",
                                f"training memory of {spec['model']} unchecked: {found}")
                continue
            try:
                ds = deepspeed_settings(params.get("deepspeed"))
            except (OSError, ValueError) as exc:
                self.report.add("error", "memory", f"{where}.deepspeed", f"cannot read {params.get('deepspeed')}: "
                                f"{exc}")
                continue
            gpu_gb = float(params.get("gpu_memory_gb", 80))
            if self.gpu_model and GPU_MEMORY_GB.get(self.gpu_model.lower(), gpu_gb) < gpu_gb:
                self.report.add("error", "memory", f"{where}.gpu_memory_gb",
                                f"{gpu_gb:g} GB but the profile requests {self.gpu_model} "
                                f"({GPU_MEMORY_GB[self.gpu_model.lower()]} GB)")
            plan = training_memory(config_json, params, ds)
            if plan is None:
                self.report.add("warning", "memory", f"students.{student}.model",
                                f"no memory model for {spec['model']} (not a dense decoder)")
                continue
            desc = (f"{student} ({plan.params / 1e9:.1f}B parameters, ZeRO-{ds['stage']}"
                    f"{', optimizer offload' if ds['offload_optimizer'] else ''}"
                    f"{', Liger kernels' if params.get('enable_liger_kernel') else ''}, cutoff "
                    f"{params['cutoff_len']}): about {plan.per_gpu_gib:.0f} GiB per GPU on {params.get('nodes', 1)} "
                    f"node(s) x {params.get('gpus_per_node')} GPUs, {plan.usable_gib:.0f} GiB usable")
            if plan.fits:
                self.report.add("ok", "memory", where, desc)
            else:
                fix = (f"set {where}.nodes: {plan.nodes_needed}" if plan.nodes_needed else
                       "no node count fits: offload (deepspeed offload config) or a shorter cutoff_len")
                self.report.add("error", "memory", f"{where}.nodes", f"{desc}: does not fit; {fix} (or "
                                "enable_liger_kernel: true, or a DeepSpeed config with offload_optimizer)")

    # -- OOD suite -------------------------------------------------------------------------------------------------
    def check_ood(self) -> None:
        ood = self.config.get("ood", {})
        if self.config.get("mode") != "paper" or ood.get("backend") != "vllm":
            return
        if not ood.get("apply_chat_template"):
            self.report.add("error", "ood", "ood.apply_chat_template", "the OOD suite prompts chat models without "
                            "their chat template: set ood.apply_chat_template: true")
        if not ood.get("think_end_token"):
            self.report.add("error", "ood", "ood.think_end_token", "reasoning models' chains of thought are "
                            "scored with the answer: set ood.think_end_token: \"</think>\"")
        need = int(self.config.get("filtering", {}).get("max_tokens", 16384))
        if int(ood.get("max_gen_toks") or 256) < need:
            self.report.add("error", "ood", "ood.max_gen_toks", f"{ood.get('max_gen_toks') or 256} tokens cut "
                            f"reasoning models short (their training responses run to {need}): set "
                            f"ood.max_gen_toks: {need} or more")
        if self.online:
            self._check_ood_datasets(ood.get("tasks") or [])

    def _check_ood_datasets(self, tasks: list[str]) -> None:
        lister = self.list_dataset_files
        if lister is None:
            from huggingface_hub import HfApi

            def lister(repo):
                return HfApi().list_repo_files(repo, repo_type="dataset")
        for task in tasks:
            try:
                paths = harness_dataset_paths(task)
            except ImportError:
                self.report.add("warning", "ood", "ood.tasks", "lm_eval is not installed here: dataset loading "
                                "unchecked (run ded preflight --online in the sampling environment)")
                return
            for path in sorted(paths):
                try:
                    files = lister(path)
                except Exception as exc:
                    self.report.add("warning", "ood", "ood.tasks", f"{task}: cannot list {path} ({exc})")
                    continue
                if not loads_without_script(files):
                    self.report.add("error", "ood", "ood.tasks",
                                    f"{task} reads {path}, which has a loading script and no data files: datasets "
                                    "4.0 (envs/sampling.yaml) cannot load it; drop the task or use a converted copy")

    # -- deployment ------------------------------------------------------------------------------------------------
    def check_deployment(self) -> None:
        if self.deployment is None or self.config.get("mode") != "paper":
            return
        if "conda" not in self.deployment:
            self.report.add("error", "deployment", "--software-deployment-method",
                            "paper mode runs vLLM and LlamaFactory in their own environments (envs/*.yaml), which "
                            "cannot share one: run snakemake with --sdm conda")


# ---------------------------------------------------------------------------------------------------------------
# Loading a config as the Snakefile does, and the command line
# ---------------------------------------------------------------------------------------------------------------
def load_config(configfile: str | os.PathLike, schema: str | os.PathLike = "config/schema.yaml") -> dict:
    """The config validated and default-filled by config/schema.yaml, as the Snakefile sees it."""
    import yaml
    from snakemake.utils import validate

    config = yaml.safe_load(Path(configfile).read_text(encoding="utf-8"))
    validate(config, str(schema), set_default=False)
    validate(config, str(schema))
    return config


def profile_gpu_model(profile: str | os.PathLike) -> str | None:
    import yaml

    path = Path(profile) / "config.yaml"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such profile")
    prof = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return ((prof.get("set-resources") or {}).get("train") or {}).get("gpu_model")


def run(config: dict, **kwargs) -> Report:
    return Preflight(config, **kwargs).run()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ded preflight", description=__doc__.split("\n\n")[0])
    parser.add_argument("--configfile", default="config/paper.yaml")
    parser.add_argument("--profile", default=None, help="Snakemake profile folder (its GPU model for the memory check)")
    parser.add_argument("--model-configs", action="append", default=[], metavar="DIR",
                        help="folder of <org>--<name>/config.json files (searched before the Hugging Face cache)")
    parser.add_argument("--download", action="store_true", help="fetch missing config.json files from the hub")
    parser.add_argument("--online", action="store_true", help="also ask each OpenAI-compatible endpoint's /models")
    parser.add_argument("--strict", action="store_true", help="unchecked models fail too")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.configfile)
        gpu_model = profile_gpu_model(args.profile) if args.profile else None
        report = run(config, search_dirs=args.model_configs, download=args.download, online=args.online,
                     gpu_model=gpu_model)
    except Exception as err:  # a broken config or profile: one line naming it
        print(f"ded preflight: {type(err).__name__}: {err}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        for f in report.findings:
            print(f.line())
    failed = report.errors(args.strict)
    print(f"ded preflight: {len(failed)} problem(s)" if failed else "ded preflight: passed", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
