"""Tiny Qwen2 models: built from (hidden_size, num_layers), pretrained on CPU on generated chain-of-thought text in
one style (prompt = ded.prompts.build_messages rendered by the chat template, loss on the response tokens only),
scored on held-out tasks, saved with save_pretrained so that every later rule loads them by path exactly like a hub
id (model, tokenizer and generation config with eos in one folder).

The budget is about a minute of one CPU core per model, which buys ~1500 AdamW steps of 8 examples; what made that
enough (measured on held-out stories, sampled at temperature 0.8): bare arithmetic drills in the mix, numbers whose
digits are always the same ten tokens (ded.tinyworld.tokenizer), heads of 16 dimensions, and values up to 20.
"""

from __future__ import annotations

import math
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ded.io import write_json
from ded.prompts import build_messages
from ded.tinyworld import atomic_dir
from ded.tinyworld.cot import write_response
from ded.tinyworld.tasks import copy_drills, drills, generate, option_drills

# Share of pretraining examples per task source. "drill" (bare arithmetic chains, tasks.drills) and "copy"
# (tasks.copy_drills) teach the two skills the stories need and the tiny models are slowest to learn: with drills at
# 0.35 instead of 0.2 the concise teacher solved 50% of the held-out stories instead of 22%.
PRETRAIN_MIX = {"synthetic_math": 0.3, "drill": 0.35, "copy": 0.05, "synthetic_code": 0.2, "synthetic_choice": 0.07,
                "options": 0.03}
# The direct style (the student before distillation) spends more of its budget on the steps: a story answered
# directly carries a few answer tokens of signal, and what distillation later builds on is the single steps (with the
# teachers' mix, the student learned bare arithmetic chains half as well: 13% against 25% of held-out drills).
DIRECT_PRETRAIN_MIX = {"synthetic_math": 0.2, "drill": 0.45, "copy": 0.1, "synthetic_code": 0.15,
                       "synthetic_choice": 0.05, "options": 0.05}
MAX_LEN = 512
HEAD_DIM = 16
SCORES_FILE = "tiny_scores.json"
# Held-out evaluation tasks: a seed no config section uses (theirs are small integers).
EVAL_SEED_OFFSET = 1_000_000
DEFAULTS = {"hidden_size": 128, "num_layers": 2, "pretrain_steps": 300, "noise": 0.0, "learning_rate": 3e-3,
            "batch_size": 8, "init": None}


def model_spec(spec: dict) -> dict:
    """The model entry of tinyworld.models with defaults filled."""
    out = {**DEFAULTS, **{k: v for k, v in spec.items() if v is not None}}
    if "style" not in out:
        raise ValueError("tinyworld.models.<name>.style: required (concise, verbose or direct)")
    if out["hidden_size"] % (2 * HEAD_DIM):
        raise ValueError(f"tinyworld.models.<name>.hidden_size: expected a multiple of {2 * HEAD_DIM}, "
                         f"got {out['hidden_size']}")
    return out


# Tokens per pretraining example relative to the concise style (the cost of a step).
STYLE_COST = {"concise": 1.0, "direct": 0.8, "verbose": 1.5}


def cost_estimate(spec: dict) -> float:
    """Relative CPU time of pretraining (rule priority: the longest job starts first and the others fill in)."""
    spec = model_spec(spec)
    return spec["pretrain_steps"] * spec["batch_size"] * STYLE_COST[spec["style"]] * (spec["hidden_size"] / 128) ** 2


def qwen2_config(spec: dict, tokenizer):
    """Qwen2 with narrow heads (16 dimensions), one key/value head per head, an MLP twice as wide, tied embeddings.

    Narrow heads learn the small addition table faster (bare sums right after 1000 steps: heads of 32 dimensions
    52%, of 16 69%, of 8 91%), wide ones copy words from the question better; 16 did best on the stories. No
    grouped-query attention: under a padding mask transformers repeats the shared key/value heads, a copy of the
    whole cache at every decoding step, which cost a quarter of CPU generation time."""
    from transformers import Qwen2Config

    hidden = spec["hidden_size"]
    heads = max(1, hidden // HEAD_DIM)
    return Qwen2Config(
        vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=2 * hidden,
        num_hidden_layers=spec["num_layers"], num_attention_heads=heads, num_key_value_heads=heads,
        max_position_embeddings=1024, tie_word_embeddings=True, use_sliding_window=False,
        bos_token_id=None, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)


# ---------------------------------------------------------------------------------------------------------------
# Pretraining data
# ---------------------------------------------------------------------------------------------------------------
def pretraining_mix(style: str) -> dict[str, float]:
    return DIRECT_PRETRAIN_MIX if style == "direct" else PRETRAIN_MIX


def pretraining_pairs(style: str, n: int, seed: int, noise: float = 0.0) -> list[tuple[dict, str]]:
    """n (task, response) pairs in `style`, drawn from the sources in PRETRAIN_MIX, in random order."""
    rng = random.Random(f"pretrain|{style}|{seed}")
    pairs = []
    for source, share in pretraining_mix(style).items():
        count = round(n * share)
        source_seed = rng.randrange(10**9)
        makers = {"drill": drills, "copy": copy_drills, "options": option_drills}
        tasks = makers[source](count, source_seed) if source in makers else generate(source, count, seed=source_seed)
        for task in tasks:
            pairs.append((task, write_response(task, style, rng, noise)))
    rng.shuffle(pairs)
    return pairs[:n]


def prompt_text(tokenizer, task: dict) -> str:
    return tokenizer.apply_chat_template(build_messages(task), tokenize=False, add_generation_prompt=True)


def prompt_renderer(tokenizer):
    """prompt_text as a string format: the chat template rendered once around a placeholder (the template does not
    touch the content, and rendering it per example cost a few seconds per job)."""
    mark = "\x00CONTENT\x00"
    prefix, suffix = tokenizer.apply_chat_template([{"role": "user", "content": mark}], tokenize=False,
                                                   add_generation_prompt=True).split(mark)
    from ded.prompts import user_prompt

    return lambda task: prefix + user_prompt(task) + suffix


def encode_pairs(tokenizer, pairs: list[tuple[dict, str]], max_len: int = MAX_LEN) -> list[tuple[list[int], int]]:
    """(token ids, prompt length) per pair: the prompt, the response, then eos; cut at max_len."""
    render = prompt_renderer(tokenizer)
    prompts = tokenizer([render(t) for t, _ in pairs], add_special_tokens=False)["input_ids"]
    responses = tokenizer([r for _, r in pairs], add_special_tokens=False)["input_ids"]
    eos = tokenizer.eos_token_id
    return [((p + r + [eos])[:max_len], len(p)) for p, r in zip(prompts, responses)]


def make_batches(examples: list[tuple[list[int], int]], batch_size: int, pad_id: int, seed: int):
    """Padded (input_ids, attention_mask, labels) tensors; examples of similar length share a batch."""
    import torch

    rng = random.Random(seed)
    order = list(range(len(examples)))
    rng.shuffle(order)
    chunk = batch_size * 32
    batches = []
    for start in range(0, len(order), chunk):
        part = sorted(order[start:start + chunk], key=lambda i: len(examples[i][0]))
        batches += [part[i:i + batch_size] for i in range(0, len(part), batch_size)]
    rng.shuffle(batches)
    out = []
    for idx in batches:
        width = max(len(examples[i][0]) for i in idx)
        ids = torch.full((len(idx), width), pad_id, dtype=torch.long)
        mask = torch.zeros((len(idx), width), dtype=torch.long)
        labels = torch.full((len(idx), width), -100, dtype=torch.long)
        for row, i in enumerate(idx):
            seq, plen = examples[i]
            ids[row, :len(seq)] = torch.tensor(seq)
            mask[row, :len(seq)] = 1
            labels[row, plen:len(seq)] = torch.tensor(seq[plen:])
        out.append((ids, mask, labels))
    return out


# ---------------------------------------------------------------------------------------------------------------
# Pretraining
# ---------------------------------------------------------------------------------------------------------------
def pretrain(spec: dict, tokenizer, seed: int, log=None, callback=None, init=None):
    """A Qwen2ForCausalLM trained for spec['pretrain_steps'] AdamW steps, fresh or continued from `init` (a model
    folder: the shared base a teacher is trained further from); returns (model, history).

    callback(step, model), when given, runs after every 100th step (learning curves while tuning).
    """
    import torch

    from ded.runtime import skip_unused_imports_in_transformers

    skip_unused_imports_in_transformers()
    from transformers import Qwen2ForCausalLM

    spec = model_spec(spec)
    steps, batch_size = spec["pretrain_steps"], spec["batch_size"]
    started = time.time()
    pairs = pretraining_pairs(spec["style"], steps * batch_size, seed, spec["noise"])
    batches = make_batches(encode_pairs(tokenizer, pairs), batch_size, tokenizer.pad_token_id, seed)
    if log:
        log.info("pretraining data: %d examples, %d batches, mean %.0f tokens, built in %.1f s", len(pairs),
                 len(batches), statistics.mean(int(b[1].sum()) / len(b[1]) for b in batches), time.time() - started)
    torch.manual_seed(seed)
    if init is not None:
        model = Qwen2ForCausalLM.from_pretrained(init, dtype=torch.float32)
        if (model.config.hidden_size, model.config.num_hidden_layers) != (spec["hidden_size"], spec["num_layers"]):
            raise ValueError(f"tinyworld.models.<name>.init: {init} has hidden_size {model.config.hidden_size} and "
                             f"{model.config.num_hidden_layers} layers, the spec asks for {spec['hidden_size']} and "
                             f"{spec['num_layers']}")
    else:
        model = Qwen2ForCausalLM(qwen2_config(spec, tokenizer))
    model.train()
    lr = spec["learning_rate"]
    opt = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.95), weight_decay=0.01)
    warmup = max(1, steps // 20)

    def lr_at(step: int) -> float:
        if step < warmup:
            return lr * (step + 1) / warmup
        progress = (step - warmup) / max(1, steps - warmup)
        return lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))

    history = []
    for step in range(steps):
        ids, _, labels = batches[step % len(batches)]
        for group in opt.param_groups:
            group["lr"] = lr_at(step)
        # Right padding under a causal mask: no real token sees a pad, and pads carry no loss, so the padding mask
        # changes nothing but costs its construction on every step.
        loss = model(input_ids=ids, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        history.append(loss.item())
        if callback and (step + 1) % 100 == 0:
            model.eval()
            callback(step + 1, model)
            model.train()
        if log and (step % 50 == 0 or step == steps - 1):
            log.info("step %d/%d loss %.3f (%.1f s)", step + 1, steps, statistics.mean(history[-50:]),
                     time.time() - started)
    model.eval()
    return model, history


# ---------------------------------------------------------------------------------------------------------------
# Scoring (a self-contained check of the tiny models; the pipeline's own verifier is ded.verify)
# ---------------------------------------------------------------------------------------------------------------
_CODE_BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


def last_boxed(text: str) -> str | None:
    start = text.rfind("\\boxed{")
    if start < 0:
        return None
    depth, i = 1, start + len("\\boxed{")
    for j in range(i, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return text[i:j].strip()
    return None


def format_ok(response: str) -> bool:
    """One <think> at the start, one </think> after it, and an answer after that."""
    return (response.startswith("<think>") and response.count("<think>") == 1 and response.count("</think>") == 1
            and bool(response.split("</think>", 1)[1].strip()))


def last_program(text: str) -> str | None:
    blocks = _CODE_BLOCK.findall(text.split("</think>")[-1])
    return blocks[-1] if blocks else None


def run_program(program: str, tests: list[dict], timeout_s: float = 2.0) -> bool:
    """True when the program prints every test's output (trailing whitespace ignored)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "main.py"
        path.write_text(program, encoding="utf-8")
        for test in tests:
            try:
                proc = subprocess.run([sys.executable, "-I", "-S", str(path)], input=test["input"], check=False,
                                      capture_output=True, text=True, timeout=timeout_s, cwd=tmp)
            except subprocess.TimeoutExpired:
                return False
            got = [line.rstrip() for line in proc.stdout.rstrip().splitlines()]
            want = [line.rstrip() for line in test["output"].rstrip().splitlines()]
            if proc.returncode != 0 or got != want:
                return False
    return True


def is_correct(task: dict, response: str) -> bool:
    if task["domain"] == "code":
        program = last_program(response)
        return program is not None and run_program(program, task["tests"])
    return last_boxed(response) == task["answer"]


def sample(model, tokenizer, tasks: list[dict], params: dict, seed: int, batch_size: int = 32) -> list[dict]:
    """One sampled response per task: text, token count, finish reason and mean predictive entropy (nats)."""
    import torch

    torch.manual_seed(seed)
    eos = tokenizer.eos_token_id
    out = []
    for start in range(0, len(tasks), batch_size):
        chunk = tasks[start:start + batch_size]
        prompts = [tokenizer(prompt_text(tokenizer, t), add_special_tokens=False)["input_ids"] for t in chunk]
        width = max(map(len, prompts))
        ids = torch.tensor([[tokenizer.pad_token_id] * (width - len(p)) + p for p in prompts])
        mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts])
        temperature = params.get("temperature", 0.8)
        kwargs = {"do_sample": True, "temperature": temperature, "top_p": params.get("top_p", 1.0)} \
            if temperature > 0 else {"do_sample": False}
        with torch.no_grad():
            gen = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=params.get("max_new_tokens", 320),
                                 eos_token_id=eos, pad_token_id=tokenizer.pad_token_id, output_logits=True,
                                 return_dict_in_generate=True, **kwargs)
        new = gen.sequences[:, width:]
        logits = torch.stack(gen.logits, dim=1).float()
        logp = torch.log_softmax(logits, dim=-1)
        entropy = -(logp.exp() * logp).sum(-1)
        for row in range(len(chunk)):
            tokens = new[row].tolist()
            stop = tokens.index(eos) if eos in tokens else None
            n = stop if stop is not None else len(tokens)
            out.append({"text": tokenizer.decode(tokens[:n], skip_special_tokens=True), "num_tokens": n,
                        "finish_reason": "stop" if stop is not None else "length",
                        "entropy": float(entropy[row, :max(1, n)].mean())})
    return out


def score_model(model, tokenizer, params: dict, seed: int, max_tokens: int, n_math: int = 50, n_code: int = 24,
                n_choice: int = 24) -> dict:
    """Accuracy (sampled once per task), length, format and entropy on held-out tiny tasks per domain."""
    scores = {"params": params, "max_tokens": max_tokens}
    for source, n in (("synthetic_math", n_math), ("synthetic_code", n_code), ("synthetic_choice", n_choice)):
        if n <= 0:
            continue
        tasks = generate(source, n, seed=EVAL_SEED_OFFSET + seed, difficulty="mixed")
        gens = sample(model, tokenizer, tasks, params, seed)
        correct = [is_correct(t, g["text"]) for t, g in zip(tasks, gens)]
        by_level = {}
        for level in ("easy", "medium", "hard"):
            hits = [c for t, c in zip(tasks, correct) if (t["difficulty"] or t["meta"].get("level")) == level]
            if hits:
                by_level[level] = round(sum(hits) / len(hits), 3)
        scores[source.removeprefix("synthetic_")] = {
            "n": n,
            "accuracy": round(sum(correct) / n, 3),
            "by_difficulty": by_level,
            "format_ok": round(sum(format_ok(g["text"]) for g in gens) / n, 3),
            "mean_tokens": round(statistics.mean(g["num_tokens"] for g in gens), 1),
            "p90_tokens": sorted(g["num_tokens"] for g in gens)[int(0.9 * (n - 1))],
            "over_max_tokens": round(sum(g["num_tokens"] > max_tokens for g in gens) / n, 3),
            "truncated": round(sum(g["finish_reason"] == "length" for g in gens) / n, 3),
            "mean_entropy": round(statistics.mean(g["entropy"] for g in gens), 3),
            "example": gens[0]["text"],
        }
    return scores


# ---------------------------------------------------------------------------------------------------------------
# The rule's entry point
# ---------------------------------------------------------------------------------------------------------------
def build_model(tokenizer_dir: str | os.PathLike, out_dir: str | os.PathLike, spec: dict, seed: int,
                sampling: dict, max_tokens: int, log=None, init: str | os.PathLike | None = None) -> dict:
    """Pretrain one tiny model (from `init`, another tiny model's folder, when given), save model + tokenizer +
    generation config to out_dir, score it; return the scores (also written to out_dir/tiny_scores.json)."""
    import torch

    from ded.runtime import skip_unused_imports_in_transformers

    skip_unused_imports_in_transformers()
    from transformers import AutoTokenizer, GenerationConfig

    spec = model_spec(spec)
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    started, cpu_started = time.time(), time.process_time()
    model, history = pretrain(spec, tokenizer, seed, log, init=init)
    train_s, train_cpu_s = time.time() - started, time.process_time() - cpu_started
    model.generation_config = GenerationConfig(eos_token_id=tokenizer.eos_token_id,
                                               pad_token_id=tokenizer.pad_token_id, bos_token_id=None)
    with atomic_dir(out_dir) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        started = time.time()
        scores = score_model(model, tokenizer, sampling, seed, max_tokens)
        scores.update({"spec": spec, "parameters": sum(p.numel() for p in model.parameters()),
                       "final_loss": round(statistics.mean(history[-20:]), 4), "train_s": round(train_s, 1),
                       "train_cpu_s": round(train_cpu_s, 1), "score_s": round(time.time() - started, 1),
                       "torch_threads": torch.get_num_threads()})
        write_json(tmp / SCORES_FILE, scores)
    if log:
        for domain in ("math", "code", "choice"):
            if domain in scores:
                s = scores[domain]
                log.info("%s: accuracy %.2f %s, format %.2f, tokens %.0f, over %d %.2f, entropy %.3f", domain,
                         s["accuracy"], s["by_difficulty"], s["format_ok"], s["mean_tokens"], max_tokens,
                         s["over_max_tokens"], s["mean_entropy"])
    return scores
