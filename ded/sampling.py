"""DED stage 2 (and the student samples of stage 3): M responses per question per model, in resumable shards.

Shard i of a domain holds questions [i * shard_size, (i + 1) * shard_size) of R/decontam/{domain}.jsonl. A shard job
appends each finished sample to `<output>.partial` (fsynced, one line per sample) and, when restarted, keeps what is
there and generates only the missing (question, sample_index) pairs; when every pair is present it writes the output
(sorted by question, then sample index) and removes the partial file. A fingerprint of what determines the samples
(model, decoding parameters, n, base seed, the shard's prompts) sits beside the partial file: a partial file written
under other settings is discarded, never mixed in.

Each sample's seed is derive_seed("sample", base seed, question id, sample index): it does not depend on the shard,
the batch or the resume point. Sample rows: ARCHITECTURE.md "Sample rows".
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from ded.generation.base import Backend, SamplingParams, derive_seed
from ded.io import DataError, JsonlAppender, read_jsonl, truncate_partial_line, write_json, write_jsonl
from ded.prompts import build_messages, user_prompt

SAMPLE_FIELDS = ("id", "question_id", "domain", "model", "sample_index", "seed", "response", "num_tokens",
                 "finish_reason", "backend")
QUESTION_FIELDS = ("id", "domain", "question")
# what changes a model's generations; display names, tensor parallelism and the endpoint's concurrency, retries,
# timeout and cache folder do not (changing them must not resample, nor pay an API again)
GENERATION_KEYS = ("model", "revision", "tokenizer", "backend", "max_model_len")
ENDPOINT_KEYS = ("base_url", "model_name")

_log = logging.getLogger("ded.sampling")


# --- pure helpers -------------------------------------------------------------------------------------------------
def sample_seed(base_seed: int, question_id: str, sample_index: int) -> int:
    return derive_seed("sample", int(base_seed), str(question_id), int(sample_index))


def sample_id(question_id: str, sample_index: int) -> str:
    return f"{question_id}#{sample_index}"


def generation_spec(model_spec: dict) -> dict:
    """The part of a model entry that determines its generations (what a rule passes as params)."""
    spec = {k: model_spec[k] for k in GENERATION_KEYS if model_spec.get(k) is not None}
    endpoint = model_spec.get("endpoint") or {}
    if endpoint:
        spec["endpoint"] = {k: endpoint[k] for k in ENDPOINT_KEYS if endpoint.get(k) is not None}
    return spec


def shard_questions(questions: Sequence[dict], shard: int, shard_size: int) -> list[dict]:
    if shard_size < 1:
        raise ValueError(f"sampling.shard_size: must be >= 1, got {shard_size}")
    if shard < 0:
        raise ValueError(f"shard index must be >= 0, got {shard}")
    return list(questions[shard * shard_size:(shard + 1) * shard_size])


def read_questions(path: str | os.PathLike) -> list[dict]:
    rows = read_jsonl(path, required=QUESTION_FIELDS)
    seen: dict[str, int] = {}
    for lineno, row in enumerate(rows, start=1):
        qid = row["id"]
        if qid in seen:
            raise DataError(f"{path}: question id {qid!r} appears twice (rows {seen[qid]} and {lineno})")
        seen[qid] = lineno
    return rows


def make_row(question: dict, model_key: str, sample_index: int, generation, backend_name: str) -> dict:
    return {
        "id": sample_id(question["id"], sample_index),
        "question_id": question["id"],
        "domain": question["domain"],
        "model": model_key,
        "sample_index": sample_index,
        "seed": generation.seed,
        "response": generation.text,
        "num_tokens": generation.num_tokens,
        "finish_reason": generation.finish_reason,
        "backend": backend_name,
    }


def sort_rows(rows: Iterable[dict], question_order: Sequence[str]) -> list[dict]:
    position = {qid: k for k, qid in enumerate(question_order)}
    return sorted(rows, key=lambda r: (position[r["question_id"]], r["sample_index"]))


# --- generation ---------------------------------------------------------------------------------------------------
def generate_samples(backend: Backend, questions: Sequence[dict], *, n: int, params: dict | SamplingParams,
                     base_seed: int, model_key: str, skip: Iterable[tuple[str, int]] = (),
                     on_row: Callable[[dict], None] | None = None, batch_size: int | None = None,
                     log: logging.Logger | None = None) -> list[dict]:
    """Sample rows for every (question, sample_index < n) not in `skip`, in question order.

    Generations go to the backend in chunks of `batch_size` (default: the backend's preferred size); each row is
    passed to `on_row` as soon as its chunk returns. Also the entry point for pass rates and evaluation (with their
    own base seed), when no shard files are wanted.
    """
    log = log or _log
    params = SamplingParams.from_dict(params)
    skip = set(skip)
    have = {q["id"]: sum((q["id"], j) in skip for j in range(n)) for q in questions}
    pending = [(q, j) for q in questions for j in range(n) if (q["id"], j) not in skip]
    size = int(batch_size or getattr(backend, "preferred_batch_size", 64))
    done_questions = sum(1 for c in have.values() if c >= n)
    rows: list[dict] = []
    for start in range(0, len(pending), size):
        chunk = pending[start:start + size]
        prompts = [build_messages(q) for q, _ in chunk]
        seeds = [sample_seed(base_seed, q["id"], j) for q, j in chunk]
        outputs = backend.generate(prompts, params, 1, seeds)
        if len(outputs) != len(chunk) or any(len(o) != 1 for o in outputs):
            raise RuntimeError(f"backend {backend.name}: expected {len(chunk)} x 1 generations, got "
                               f"{[len(o) for o in outputs]}")
        for (q, j), (generation,) in zip(chunk, outputs):
            row = make_row(q, model_key, j, generation, backend.name)
            if on_row is not None:
                on_row(row)
            rows.append(row)
            have[q["id"]] += 1
            if have[q["id"]] == n:
                done_questions += 1
        log.info("%s: questions done %d / %d (samples %d / %d)", model_key, done_questions, len(questions),
                 sum(have.values()), n * len(questions))
    return rows


# --- shards -------------------------------------------------------------------------------------------------------
def partial_paths(output: str | os.PathLike) -> tuple[Path, Path]:
    output = Path(output)
    return output.with_name(output.name + ".partial"), output.with_name(output.name + ".partial.meta.json")


def shard_fingerprint(*, model_key: str, model_spec: dict, params: dict, n: int, base_seed: int,
                      questions: Sequence[dict]) -> str:
    state = {
        "model": model_key,
        "spec": generation_spec(model_spec),
        "params": SamplingParams.from_dict(params).to_dict(),
        "n": n,
        "base_seed": base_seed,
        "prompts": [[q["id"], user_prompt(q)] for q in questions],
    }
    return hashlib.sha256(json.dumps(state, sort_keys=True).encode("utf-8")).hexdigest()


def _load_partial(partial: Path, *, expected: set[tuple[str, int]], model_key: str, base_seed: int,
                  log: logging.Logger) -> dict[tuple[str, int], dict]:
    """Rows of an interrupted run that still belong to this shard (first copy of each pair)."""
    truncate_partial_line(partial)  # a crash mid-write leaves a torn last line
    kept: dict[tuple[str, int], dict] = {}
    dropped = 0
    for row in read_jsonl(partial, required=SAMPLE_FIELDS):
        pair = (row["question_id"], row["sample_index"])
        if (pair not in expected or pair in kept or row["model"] != model_key
                or row["seed"] != sample_seed(base_seed, *pair)):
            dropped += 1
            continue
        kept[pair] = row
    if dropped:
        log.warning("%s: ignored %d row(s) of the partial file that are duplicates or not of this shard",
                    partial, dropped)
    return kept


def run_shard(*, questions_path: str | os.PathLike, output: str | os.PathLike, model_key: str, model_spec: dict,
              shard: int, shard_size: int, n: int, params: dict, base_seed: int, backend: Backend | None = None,
              backend_options: dict | None = None, batch_size: int | None = None,
              log: logging.Logger | None = None) -> dict:
    """Sample one shard into `output`, resuming from `<output>.partial` when an earlier run was interrupted.

    `backend` is built from model_spec (ded.generation.load_backend with backend_options) only when something is
    left to generate. Returns counts: questions, samples, resumed, generated.
    """
    log = log or _log
    if n < 1:
        raise ValueError(f"samples per question must be >= 1, got {n}")
    questions = shard_questions(read_questions(questions_path), int(shard), shard_size)
    order = [q["id"] for q in questions]
    expected = {(qid, j) for qid in order for j in range(n)}
    partial, meta = partial_paths(output)
    fingerprint = shard_fingerprint(model_key=model_key, model_spec=model_spec, params=params, n=n,
                                    base_seed=base_seed, questions=questions)
    done: dict[tuple[str, int], dict] = {}
    resumable = partial.exists() and meta.exists() and _meta_fingerprint(meta) == fingerprint
    if resumable:
        done = _load_partial(partial, expected=expected, model_key=model_key, base_seed=base_seed, log=log)
        log.info("%s: resuming with %d of %d samples already done", partial, len(done), len(expected))
    else:
        if partial.exists():
            log.warning("%s: written under other settings (model, parameters or questions); starting over", partial)
            partial.unlink()
        write_json(meta, {"fingerprint": fingerprint, "model": model_key, "shard": int(shard), "n": n})
    log.info("%s shard %s: %d questions x %d samples, params %s", model_key, shard, len(questions), n,
             SamplingParams.from_dict(params).to_dict())
    generated = 0
    if len(done) < len(expected):
        own_backend = backend is None
        if own_backend:
            from ded.generation import load_backend

            backend = load_backend(model_spec, **(backend_options or {}))
        try:
            with JsonlAppender(partial) as sink:
                def keep(row: dict) -> None:
                    sink.append(row)
                    done[(row["question_id"], row["sample_index"])] = row

                rows = generate_samples(backend, questions, n=n, params=params, base_seed=base_seed,
                                        model_key=model_key, skip=set(done), on_row=keep, batch_size=batch_size,
                                        log=log)
                generated = len(rows)
        finally:
            if own_backend:
                backend.close()
    missing = expected - set(done)
    if missing:
        raise RuntimeError(f"{output}: {len(missing)} sample(s) missing after generation, e.g. {sorted(missing)[:3]}")
    count = write_jsonl(output, sort_rows(done.values(), order))
    for path in (partial, meta):
        if path.exists():
            path.unlink()
    log.info("%s: %d samples (%d resumed, %d generated)", output, count, count - generated, generated)
    return {"questions": len(questions), "samples": count, "resumed": count - generated, "generated": generated}


def _meta_fingerprint(meta: Path) -> str | None:
    try:
        return json.loads(meta.read_text(encoding="utf-8")).get("fingerprint")
    except (OSError, ValueError, AttributeError):
        return None


# --- merge --------------------------------------------------------------------------------------------------------
def merge_samples(shard_paths: Sequence[str | os.PathLike], questions_path: str | os.PathLike,
                  output: str | os.PathLike, *, n: int | None = None, log: logging.Logger | None = None) -> int:
    """Concatenate shard files into one, sorted by the questions file's order then sample index.

    Fails (DataError naming the file) on a duplicated sample, a sample of a question that is not in the questions
    file, or (with n) a question without exactly the samples 0..n-1.
    """
    log = log or _log
    order = [q["id"] for q in read_questions(questions_path)]
    known = set(order)
    rows: list[dict] = []
    where: dict[tuple[str, int], str] = {}
    for path in shard_paths:
        for lineno, row in enumerate(read_jsonl(path, required=SAMPLE_FIELDS), start=1):
            pair = (row["question_id"], row["sample_index"])
            if row["question_id"] not in known:
                raise DataError(f"{path}:{lineno}: sample {row['id']!r} is of question {row['question_id']!r}, "
                                f"which {questions_path} does not have")
            if pair in where:
                raise DataError(f"{path}:{lineno}: duplicate sample {row['id']!r} (first seen in {where[pair]})")
            if row["id"] != sample_id(*pair):
                raise DataError(f"{path}:{lineno}: id {row['id']!r} does not match {sample_id(*pair)!r}")
            where[pair] = f"{path}:{lineno}"
            rows.append(row)
    if n is not None:
        indices: dict[str, list[int]] = {}
        for qid, j in where:
            indices.setdefault(qid, []).append(j)
        bad = [qid for qid in order if sorted(indices.get(qid, [])) != list(range(n))]
        if bad:
            examples = "; ".join(f"{qid} has {sorted(indices.get(qid, []))[:10]}" for qid in bad[:5])
            raise DataError(f"{output}: {len(bad)} question(s) without exactly the samples 0..{n - 1} in the "
                            f"shards, e.g. {examples}")
    count = write_jsonl(output, sort_rows(rows, order))
    log.info("%s: %d samples of %d questions from %d shard(s)", output, count, len(order), len(shard_paths))
    return count
