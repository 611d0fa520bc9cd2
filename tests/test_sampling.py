"""Sharded, resumable sampling (ded.sampling): shards, seeds, interruption and resume, merge."""

from __future__ import annotations

import json

import pytest

from ded.generation import Generation, GenerationError
from ded.io import DataError, read_jsonl, write_jsonl
from ded.sampling import (
    SAMPLE_FIELDS,
    generation_spec,
    merge_samples,
    partial_paths,
    run_shard,
    sample_seed,
    shard_questions,
)

PARAMS = {"temperature": 0.8, "top_p": 0.95, "max_new_tokens": 16}


def _questions(k: int, domain: str = "math") -> list[dict]:
    return [{"id": f"q{i:02d}", "domain": domain, "question": f"What is {i} + {i}?", "answer": str(2 * i),
             "tests": None, "time_limit_s": None, "memory_limit_mb": None, "difficulty": None,
             "source": "test", "source_index": i, "meta": {}} for i in range(k)]


class FakeBackend:
    """Deterministic in (prompt, seed); can die after a number of generate() calls, like a killed job."""

    name = "fake"

    def __init__(self, preferred_batch_size: int = 3, die_after_calls: int | None = None):
        self.preferred_batch_size = preferred_batch_size
        self.die_after_calls = die_after_calls
        self.calls = 0
        self.generated = 0

    def generate(self, prompts, params, n, seeds):
        if self.die_after_calls is not None and self.calls >= self.die_after_calls:
            raise KeyboardInterrupt("killed")
        self.calls += 1
        assert n == 1 and len(seeds) == len(prompts)
        self.generated += len(prompts)
        return [[Generation(f"{p[-1]['content'][:12]}|{s}", 5, "stop", s)] for p, s in zip(prompts, seeds)]

    def close(self):
        pass


def _run(tmp_path, backend, *, shard=0, shard_size=4, n=3, params=PARAMS, questions=10, out=None):
    seeds = tmp_path / "decontam.jsonl"
    if not seeds.exists():
        write_jsonl(seeds, _questions(questions))
    out = out or tmp_path / "samples" / f"shard-{shard:04d}.jsonl"
    stats = run_shard(questions_path=seeds, output=out, model_key="concise", model_spec={"model": "m"},
                      shard=shard, shard_size=shard_size, n=n, params=params, base_seed=1234, backend=backend)
    return out, stats


def test_seeds_and_shards():
    assert sample_seed(1234, "q01", 0) == sample_seed(1234, "q01", 0)
    seeds = {sample_seed(b, q, j) for b in (1, 2) for q in ("q01", "q02") for j in range(4)}
    assert len(seeds) == 16 and all(0 <= s < 2 ** 31 for s in seeds)
    qs = _questions(10)
    assert [q["id"] for q in shard_questions(qs, 2, 4)] == ["q08", "q09"]
    assert shard_questions(qs, 3, 4) == []
    entry = {"model": "m", "display_name": "M", "revision": None, "backend": "openai", "tensor_parallel_size": 8,
             "endpoint": {"base_url": "u", "model_name": "n", "concurrency": 4, "cache_dir": "c"}}
    assert generation_spec(entry) == {"model": "m", "backend": "openai",
                                      "endpoint": {"base_url": "u", "model_name": "n"}}


def test_shard_rows(tmp_path):
    out, stats = _run(tmp_path, FakeBackend(), shard=1)
    rows = read_jsonl(out)
    assert stats == {"questions": 4, "samples": 12, "resumed": 0, "generated": 12}
    assert [(r["question_id"], r["sample_index"]) for r in rows] == [(f"q0{i}", j) for i in range(4, 8)
                                                                    for j in range(3)]
    r = rows[0]
    assert list(r) == list(SAMPLE_FIELDS)
    assert r["id"] == "q04#0" and r["model"] == "concise" and r["backend"] == "fake" and r["domain"] == "math"
    assert r["seed"] == sample_seed(1234, "q04", 0) and r["response"].endswith(f"|{r['seed']}")
    assert r["response"].startswith("What is 4 + ")  # the prompt is ded.prompts.build_messages(question)
    assert not any(p.exists() for p in partial_paths(out))


def test_empty_shard_loads_no_model(tmp_path):
    seeds = tmp_path / "decontam.jsonl"
    write_jsonl(seeds, _questions(5))
    out = tmp_path / "shard-0003.jsonl"
    # a vllm spec: building its backend here would fail, so success shows that no backend was built
    stats = run_shard(questions_path=seeds, output=out, model_key="qwq", model_spec={"model": "x", "backend": "vllm"},
                      shard=3, shard_size=4, n=2, params=PARAMS, base_seed=1)
    assert out.read_text() == "" and stats["samples"] == 0


def test_interrupted_shard_resumes_without_loss_or_duplicates(tmp_path):
    reference, _ = _run(tmp_path, FakeBackend(), out=tmp_path / "reference.jsonl")

    out = tmp_path / "samples" / "shard-0000.jsonl"
    with pytest.raises(KeyboardInterrupt):
        _run(tmp_path, FakeBackend(preferred_batch_size=5, die_after_calls=1), out=out)
    partial, meta = partial_paths(out)
    assert not out.exists() and len(read_jsonl(partial)) == 5 and meta.exists()
    # the kill also tore the line being written
    with open(partial, "a", encoding="utf-8") as fh:
        fh.write('{"id": "q02#1", "question_id": "q02", "sample_')

    # a second interruption, then the final run
    with pytest.raises(KeyboardInterrupt):
        _run(tmp_path, FakeBackend(preferred_batch_size=2, die_after_calls=2), out=out)
    assert len(read_jsonl(partial)) == 9
    backend = FakeBackend(preferred_batch_size=4)
    _, stats = _run(tmp_path, backend, out=out)
    rows = read_jsonl(out)
    pairs = [(r["question_id"], r["sample_index"]) for r in rows]
    assert sorted(pairs) == [(f"q0{i}", j) for i in range(4) for j in range(3)] and len(set(pairs)) == 12
    assert backend.generated == 3 and stats["resumed"] == 9 and stats["generated"] == 3
    assert rows == read_jsonl(reference)  # same samples as a run that was never interrupted
    assert not partial.exists() and not meta.exists()


def test_partial_of_other_settings_is_discarded(tmp_path):
    out = tmp_path / "samples" / "shard-0000.jsonl"
    with pytest.raises(KeyboardInterrupt):
        _run(tmp_path, FakeBackend(die_after_calls=1), out=out)
    backend = FakeBackend()
    _run(tmp_path, backend, out=out, params={**PARAMS, "temperature": 0.6})
    assert backend.generated == 12 and len(read_jsonl(out)) == 12


def test_partial_rows_of_other_questions_are_ignored(tmp_path):
    """Rows that cannot belong to the shard (a foreign question, a wrong seed, a duplicate) are not kept."""
    out = tmp_path / "samples" / "shard-0000.jsonl"
    with pytest.raises(KeyboardInterrupt):
        _run(tmp_path, FakeBackend(die_after_calls=1), out=out)
    partial, _ = partial_paths(out)
    rows = read_jsonl(partial)
    foreign = dict(rows[0], question_id="q09", id="q09#0")
    wrong_seed = dict(rows[1], seed=1)
    with open(partial, "a", encoding="utf-8") as fh:
        fh.writelines(json.dumps(row) + "\n" for row in (rows[0], foreign, wrong_seed))
    backend = FakeBackend()
    _run(tmp_path, backend, out=out)
    merged = read_jsonl(out)
    assert len(merged) == 12 and len({r["id"] for r in merged}) == 12
    assert all(r["seed"] == sample_seed(1234, r["question_id"], r["sample_index"]) for r in merged)
    assert backend.generated == 12 - 3


def test_merge(tmp_path):
    seeds = tmp_path / "decontam.jsonl"
    write_jsonl(seeds, _questions(10))
    shards = []
    for shard in range(3):
        out, _ = _run(tmp_path, FakeBackend(), shard=shard)
        shards.append(out)
    assert read_jsonl(shards[2]) and len(read_jsonl(shards[2])) == 6
    merged = tmp_path / "merged.jsonl"
    # shards given out of order still merge in question order
    assert merge_samples([shards[2], shards[0], shards[1]], seeds, merged, n=3) == 30
    rows = read_jsonl(merged)
    assert [r["id"] for r in rows] == [f"q{i:02d}#{j}" for i in range(10) for j in range(3)]

    with pytest.raises(DataError, match="duplicate sample 'q00#0'"):
        merge_samples([shards[0], shards[0]], seeds, tmp_path / "bad.jsonl")
    with pytest.raises(DataError, match=r"10 question\(s\) without|without exactly"):
        merge_samples(shards[:2], seeds, tmp_path / "bad.jsonl", n=3)
    write_jsonl(seeds, _questions(8))
    with pytest.raises(DataError, match="which .* does not have"):
        merge_samples(shards, seeds, tmp_path / "bad.jsonl")
    assert not (tmp_path / "bad.jsonl").exists()


def test_duplicate_question_ids_are_rejected(tmp_path):
    seeds = tmp_path / "decontam.jsonl"
    write_jsonl(seeds, _questions(3) + _questions(1))
    with pytest.raises(DataError, match=r"'q00' appears twice \(rows 1 and 4\)"):
        run_shard(questions_path=seeds, output=tmp_path / "o.jsonl", model_key="m", model_spec={"model": "m"},
                  shard=0, shard_size=4, n=1, params=PARAMS, base_seed=0, backend=FakeBackend())


class _DyingBackend:
    """Wraps a real backend; dies after a number of calls."""

    def __init__(self, inner, die_after_calls):
        self.inner, self.die_after_calls, self.calls = inner, die_after_calls, 0
        self.name, self.preferred_batch_size = inner.name, inner.preferred_batch_size

    def generate(self, *args):
        if self.calls >= self.die_after_calls:
            raise GenerationError("node lost")
        self.calls += 1
        return self.inner.generate(*args)

    def close(self):
        pass


def test_transformers_shard_resume_reproduces_uninterrupted_run(random_tiny_model, tmp_path):
    from ded.generation import load_backend

    spec = {"model": str(random_tiny_model), "backend": "transformers"}
    seeds = tmp_path / "decontam.jsonl"
    write_jsonl(seeds, _questions(3))
    common = {"questions_path": seeds, "model_key": "student", "model_spec": spec, "shard": 0, "shard_size": 3,
              "n": 2, "params": PARAMS, "base_seed": 7}
    full = tmp_path / "full.jsonl"
    run_shard(output=full, backend_options={"num_threads": 1}, batch_size=4, **common)

    backend = load_backend(spec, num_threads=1, batch_size=2)
    out = tmp_path / "resumed.jsonl"
    with pytest.raises(GenerationError):
        run_shard(output=out, backend=_DyingBackend(backend, 2), **common)
    assert len(read_jsonl(partial_paths(out)[0])) == 4
    stats = run_shard(output=out, backend=backend, **common)
    assert stats["resumed"] == 4 and stats["generated"] == 2
    rows = read_jsonl(out)
    assert rows == read_jsonl(full)
    assert {r["backend"] for r in rows} == {"transformers"}
    assert all(r["finish_reason"] in ("stop", "length") and 1 <= r["num_tokens"] <= 16 for r in rows)
    assert len({r["response"] for r in rows}) == 6
