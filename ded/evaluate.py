"""DED stage 6: pass@1 of a model on each of its benchmarks, with a bootstrap confidence interval.

    evaluate_model(spec, tasks, ...) -> sample rows   (one per problem x sample: correct, tokens, finish reason)
    summarize(samples, ...)          -> summary rows  (subset all, and easy/medium/hard where problems have them)

pass@1 is the mean over problems of each problem's fraction of correct samples (the paper averages 16 runs on AIME
and LiveCodeBench, 1 on MATH-500 and GPQA-Diamond). The 95% interval resamples problems with replacement
(`evaluation.bootstrap` times, seeded by `evaluation.seed`), so it reflects the benchmark's size, not the sampling
noise of one problem. Lengths are generated tokens in the evaluated model's tokenizer.

Generation goes through ded.generation and correctness through ded.verify.is_correct (GPQA: the chosen letter;
LiveCodeBench: every test passes), so evaluation judges exactly as the filtering and pass-rate stages do.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import shutil
import zlib
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from ded.io import DataError, read_csv, write_csv, write_json

log = logging.getLogger("ded.evaluate")

SAMPLE_COLUMNS = ["benchmark", "problem_id", "subset", "sample", "correct", "response_tokens", "finish_reason"]
SUMMARY_COLUMNS = ["model", "benchmark", "subset", "n_problems", "samples", "pass1", "ci_low", "ci_high",
                   "mean_tokens"]
DIFFICULTY_ORDER = ("easy", "medium", "hard")
ALL = "all"


# ---------------------------------------------------------------------------------------------------------------
# Which model, with which backend
# ---------------------------------------------------------------------------------------------------------------
def eval_model_spec(config: dict, model: str, results_dir: str | None = None) -> dict:
    """The generation spec (ded.generation.load_backend) of an evaluated model name.

    base_<student> and teacher_<teacher>: the model's own entry, untouched. An experiment or select_<teacher> (any
    replicate): the trained folder
    R/models/<model>, with evaluation.backend (null: the student's backend) and evaluation.tensor_parallel_size, and
    the student's own max_model_len and sampling block: a fine-tuned model keeps its base's config.json, so its
    context limit is the base's (Qwen2.5-32B-Instruct 32768, phi-4 16384; ded preflight checks them).
    """
    from ded import config as dedcfg

    results_dir = results_dir or config.get("results_dir", "results")
    parsed = dedcfg.parse_model_name(config, model)
    if parsed.kind in ("base", "teacher"):   # evaluated in place, with its own backend
        return dict(dedcfg.model_spec(config, parsed.key))
    base = dict(dedcfg.model_spec(config, dedcfg.model_student(config, model)))
    ev = config.get("evaluation", {})
    spec = {k: v for k, v in base.items() if k in ("display_name", "max_model_len", "sampling")}
    spec.update(model=f"{results_dir}/models/{model}", revision=None, tokenizer=None,
                backend=ev.get("backend") or base.get("backend", "transformers"))
    if spec["backend"] == "vllm":
        spec["tensor_parallel_size"] = int(ev.get("tensor_parallel_size") or base.get("tensor_parallel_size") or 1)
    if spec["backend"] == "openai":
        raise dedcfg.ConfigError(f"evaluation.backend: a trained model ({model}) cannot be served by 'openai' here; "
                                 "use transformers or vllm")
    return spec


def check_local_model(spec: dict, results_dir: str = "results") -> None:
    """A model folder named by path must hold a config and weights (fails naming the folder, before loading)."""
    from ded.train import check_model_dir

    model = str(spec["model"])
    if os.path.exists(model) or model.startswith(results_dir.rstrip("/") + "/"):
        check_model_dir(model, "evaluated model")


# ---------------------------------------------------------------------------------------------------------------
# Benchmarks
# ---------------------------------------------------------------------------------------------------------------
def gold_problem(row: dict) -> str | None:
    """Why a benchmark row cannot be scored (None = it has its gold answer)."""
    domain = row.get("domain")
    if domain in ("math", "choice"):
        answer = row.get("answer")
        if not isinstance(answer, str) or not answer.strip():
            return f"no gold answer (answer={answer!r}) for a {domain} problem"
    elif domain == "code":
        if not row.get("tests"):
            return "no tests for a code problem"
    return None


def load_benchmark(path: str | os.PathLike) -> list[dict]:
    """Benchmark rows (schema checked by ded.seeds.schema), each with its gold answer or tests."""
    from ded.seeds.schema import read_tasks

    rows = read_tasks(path)
    if not rows:
        raise DataError(f"{path}: the benchmark has no problems")
    for i, row in enumerate(rows, start=1):
        problem = gold_problem(row)
        if problem:
            raise DataError(f"{path}: problem {i} (id {row['id']}): {problem}")
    return rows


def subset_of(row: dict) -> str:
    diff = row.get("difficulty")
    return diff if diff in DIFFICULTY_ORDER else ALL


def sample_seeds(base_seed: int, benchmark: str, problem_id: str, n: int) -> list[int]:
    """One 31-bit seed per sample, independent of the model (every model sees the same draws)."""
    out = []
    for j in range(n):
        data = f"{base_seed}\x1f{benchmark}\x1f{problem_id}\x1f{j}".encode()
        out.append(int.from_bytes(hashlib.sha256(data).digest()[:4], "big") & 0x7FFFFFFF)
    return out


# ---------------------------------------------------------------------------------------------------------------
# Generation and scoring
# ---------------------------------------------------------------------------------------------------------------
def generate_responses(backend, tasks: Sequence[dict], *, benchmark: str, params: dict, n: int, seed: int,
                       batch_size: int | None = None) -> list[list]:
    """n Generations per task (ded.generation), prompts chunked to the backend's preferred batch."""
    from ded.generation import SamplingParams
    from ded.prompts import build_messages

    sp = SamplingParams.from_dict({k: params[k] for k in ("temperature", "top_p", "max_new_tokens") if k in params})
    per_call = max(1, (batch_size or getattr(backend, "preferred_batch_size", 64) or 64) // n)
    out: list[list] = []
    for start in range(0, len(tasks), per_call):
        chunk = tasks[start:start + per_call]
        prompts = [build_messages(t) for t in chunk]
        seeds = [s for t in chunk for s in sample_seeds(seed, benchmark, t["id"], n)]
        outs = backend.generate(prompts, sp, n, seeds)
        if len(outs) != len(chunk) or any(len(o) != n for o in outs):
            raise RuntimeError(f"backend returned {[len(o) for o in outs]} generations for {len(chunk)} prompts "
                               f"x n={n}")
        out.extend(outs)
        log.info("%s: generated for %d/%d problems", benchmark, len(out), len(tasks))
    return out


def score_responses(tasks: Sequence[dict], generations: Sequence[Sequence],
                    judge: Callable[[dict, str], dict] | None = None, *, filtering: dict | None = None,
                    workers: int = 1, pool=None) -> list[dict]:
    """Sample rows (SAMPLE_COLUMNS); a generation that failed (finish_reason error) counts as wrong.

    judge: a function (task, response) -> verdict, called here one response at a time; None: every response is
    judged by ded.verify.is_correct_many with `filtering`, in `workers` processes (or in `pool`, an open
    ded.verify.pool.WorkerPool), the same verdicts as is_correct, computed in parallel with hard deadlines.
    """
    pairs = [(task, j, gen) for task, gens in zip(tasks, generations, strict=True) for j, gen in enumerate(gens)]
    judged = [(task, gen.text) for task, _, gen in pairs if gen.finish_reason != "error"]
    if judge is not None:
        verdicts = [judge(task, text) for task, text in judged]
    else:
        from ded.verify import is_correct_many

        verdicts = is_correct_many(judged, filtering=filtering or {}, workers=workers, pool=pool) if judged else []
    ok = iter(bool(v.get("ok")) for v in verdicts)
    rows: list[dict] = []
    for task, j, gen in pairs:
        correct = gen.finish_reason != "error" and next(ok)
        rows.append({"problem_id": task["id"], "subset": subset_of(task), "sample": j, "correct": int(correct),
                     "response_tokens": gen.num_tokens, "finish_reason": gen.finish_reason})
    return rows


def evaluate_model(backend, tasks: Sequence[dict], *, benchmark: str, params: dict, n: int, seed: int,
                   judge: Callable[[dict, str], dict], batch_size: int | None = None) -> list[dict]:
    """Sample n responses per task with `backend` and judge each; returns sample rows (SAMPLE_COLUMNS)."""
    gens = generate_responses(backend, tasks, benchmark=benchmark, params=params, n=n, seed=seed,
                              batch_size=batch_size)
    return score_responses(tasks, gens, judge)


# ---------------------------------------------------------------------------------------------------------------
# Summary
# ---------------------------------------------------------------------------------------------------------------
def per_problem_scores(samples: Iterable[dict]) -> dict[str, float]:
    """problem_id -> fraction of its samples that are correct (problems in first-seen order)."""
    hits: dict[str, list[int]] = {}
    for row in samples:
        hits.setdefault(str(row["problem_id"]), []).append(int(row["correct"]))
    return {pid: sum(v) / len(v) for pid, v in hits.items()}


def bootstrap_ci(scores: Sequence[float], n_boot: int, seed: int, level: float = 0.95) -> tuple[float, float]:
    """Percentile interval of the mean of `scores` over resamples of the problems (with replacement)."""
    from ded.stats import bootstrap_mean_ci

    return bootstrap_mean_ci(scores, n_boot, seed, level)


def summarize(samples: Sequence[dict], *, model: str, benchmark: str, n_boot: int, seed: int) -> list[dict]:
    """Summary rows: subset 'all', then each difficulty present (easy, medium, hard order)."""
    if not samples:
        raise ValueError(f"{model} on {benchmark}: no samples to summarise")
    present = {row["subset"] for row in samples} - {ALL}
    subsets = [ALL] + [d for d in DIFFICULTY_ORDER if d in present] + sorted(present - set(DIFFICULTY_ORDER))
    out = []
    for subset in subsets:
        rows = [r for r in samples if subset == ALL or r["subset"] == subset]
        scores = per_problem_scores(rows)
        counts = {}
        for r in rows:
            counts[r["problem_id"]] = counts.get(r["problem_id"], 0) + 1
        n_samples = sorted(set(counts.values()))
        tokens = [float(r["response_tokens"]) for r in rows if r.get("response_tokens") not in (None, "")]
        lo, hi = bootstrap_ci(list(scores.values()), n_boot, seed + zlib.crc32(subset.encode()))
        out.append({
            "model": model, "benchmark": benchmark, "subset": subset, "n_problems": len(scores),
            # samples per problem (the benchmark's `samples`); a mixed count would mean a broken samples file
            "samples": n_samples[0] if len(n_samples) == 1 else max(n_samples),
            "pass1": sum(scores.values()) / len(scores),
            "ci_low": lo, "ci_high": hi,
            "mean_tokens": sum(tokens) / len(tokens) if tokens else math.nan,
        })
    return out


# ---------------------------------------------------------------------------------------------------------------
# The summary file: the one parser (tables, figures, claims and teacher selection read it through this)
# ---------------------------------------------------------------------------------------------------------------
def read_summary(path: str | os.PathLike) -> list[dict]:
    """Summary rows (SUMMARY_COLUMNS) with numbers parsed: pass1, ci_low, ci_high and mean_tokens as floats (nan when
    empty), n_problems and samples as ints. Fails naming the file and line on a missing file or column, a cell
    that is not a number, or a pass@1 outside [0, 1]."""
    rows = read_csv(path, SUMMARY_COLUMNS, what="evaluation summary")
    for i, row in enumerate(rows, start=2):
        try:
            for key in ("pass1", "ci_low", "ci_high", "mean_tokens"):
                row[key] = float(row[key]) if row[key] != "" else math.nan
            for key in ("n_problems", "samples"):
                row[key] = int(row[key])
        except ValueError as exc:
            raise DataError(f"{path}:{i}: not a number ({exc})") from exc
        if not math.isnan(row["pass1"]) and not 0.0 <= row["pass1"] <= 1.0:
            raise DataError(f"{path}:{i}: pass1 must be a fraction in [0, 1], got {row['pass1']}")
    return rows


# ---------------------------------------------------------------------------------------------------------------
# The job
# ---------------------------------------------------------------------------------------------------------------
def _generations_key(model: str, benchmark: str, path: str | os.PathLike, n: int, params: dict, seed: int,
                     spec: dict) -> str:
    """What a benchmark's generations depend on: a resumed job reuses them only when all of it is unchanged."""
    bench_hash = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    blob = json.dumps([model, benchmark, bench_hash, n, params, seed, spec], sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def _load_generations(path: Path, key: str) -> list[list] | None:
    from ded.generation.base import Generation

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("key") != key:
        return None
    return [[Generation(**g) for g in gens] for gens in data["generations"]]


def _save_generations(path: Path, key: str, generations: Sequence[Sequence]) -> None:
    from dataclasses import asdict

    write_json(path, {"key": key, "generations": [[asdict(g) for g in gens] for gens in generations]})


def run_evaluation(*, spec: dict, benchmarks: dict[str, dict], model: str, params: dict, filtering: dict,
                   n_boot: int, seed: int, samples_csv: str, summary_csv: str, results_dir: str = "results",
                   backend=None, judge=None, backend_options: dict | None = None, workers: int = 1) -> list[dict]:
    """Evaluate one model on its benchmarks and write both CSVs (rows of every benchmark); returns the summary rows.

    benchmarks: name -> {"path": benchmark JSONL, "samples": n per problem}, in output order. The model is loaded
    once for all of them (loading dominates a tiny world's job, and a 32B model's vLLM start-up costs minutes).
    Inputs are checked before any model is loaded: every problem has its gold answer, the model folder has weights.
    Each benchmark's generations are kept beside the outputs (`.<model>.partial/`) until the job ends, so that a job
    killed half-way resumes with the benchmarks it had finished. Responses are judged by `workers` processes (the
    job's threads; `judge`, a function (task, response) -> verdict, replaces them in tests).
    """
    if not benchmarks:
        raise DataError(f"{model}: no benchmarks to evaluate on")
    tasks = {name: load_benchmark(b["path"]) for name, b in benchmarks.items()}
    partial = Path(summary_csv).parent / f".{model}.partial"
    gens: dict[str, list[list]] = {}
    try:
        for name, bench in benchmarks.items():
            n = int(bench["samples"])
            key = _generations_key(model, name, bench["path"], n, params, seed, spec)
            done = _load_generations(partial / f"{name}.json", key)
            if done is not None and len(done) == len(tasks[name]):
                log.info("%s on %s: %d problems x %d samples, resumed from %s", model, name, len(done), n, partial)
                gens[name] = done
                continue
            if backend is None:
                check_local_model(spec, results_dir)
                from ded.generation import load_backend

                backend = load_backend(spec, **(backend_options or {}))
            log.info("%s on %s: %d problems x %d samples, params %s", model, name, len(tasks[name]), n, params)
            gens[name] = generate_responses(backend, tasks[name], benchmark=name, params=params, n=n, seed=seed)
            _save_generations(partial / f"{name}.json", key, gens[name])
    finally:
        # every response first, then the verdicts: the evaluated model is released before an LLM judge
        # (filtering.judge) may load for unparseable math answers
        close = getattr(backend, "close", None)
        if close:
            close()
    # every benchmark's responses through one pool of `workers` verification processes (math-verify, the sandbox)
    pool = None
    if judge is None:
        from ded.verify import pool_preload
        from ded.verify.pool import WorkerPool

        pool = WorkerPool(workers=max(1, int(workers)), preload=pool_preload(t for ts in tasks.values() for t in ts))
    samples, summary = [], []
    try:
        for name in benchmarks:
            scored = score_responses(tasks[name], gens[name], judge, filtering=filtering, pool=pool)
            rows = [{"benchmark": name, **r} for r in scored]
            samples += rows
            summary += summarize(rows, model=model, benchmark=name, n_boot=n_boot, seed=seed)
            log.info("%s on %s: %d responses judged (%d workers)", model, name, len(rows),
                     len(pool.workers) if pool else 1)
    finally:
        if pool is not None:
            pool.close()
    write_csv(samples_csv, samples, SAMPLE_COLUMNS)
    write_csv(summary_csv, summary, SUMMARY_COLUMNS)
    shutil.rmtree(partial, ignore_errors=True)
    for row in summary:
        log.info("%s %s %s: pass@1 %.3f [%.3f, %.3f], %.0f tokens", model, row["benchmark"], row["subset"],
                 row["pass1"], row["ci_low"], row["ci_high"], row["mean_tokens"])
    return summary

