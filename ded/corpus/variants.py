"""Corpus variants: which verified teacher responses become SFT examples, one variant per DED stage reached.

| variant | rows per question | questions |
|---|---|---|
| first | the response with sample_index 0, unchecked (the paper's Table 1 / "R1 corpus" / "QwQ corpus") | all |
| right | the first passing response (lowest sample index) | those with a passing response |
| right_hard | as right | ... whose student pass rate is at or under compression.threshold |
| right_hard_diverse | the P passing responses farthest apart (ded.corpus.diversity), all when fewer | as right_hard |
| longest / shortest | the passing response with the most / fewest tokens (ties: lowest sample index) | as right |

Longest and shortest choose among *passing* responses so that Table 7 varies only length: over all responses the
longest would mostly be truncated at the token limit (failing the length check) and the shortest would favour
answers that gave up early, so the comparison would measure correctness, not length.

Stats accounting (`.stats.json`): `input` counts the teacher's verified samples and questions; `dropped.samples`
attributes every sample that is not kept to exactly one cause - its first failing check (length, then format, then
correct), `hard_filter` (a passing response of a question the student finds easy) or `not_selected` (a passing
response the variant did not pick) - so input.samples = samples + sum(dropped.samples). `dropped.questions` counts
questions: `decontamination` (seed questions removed before sampling), `no_passing`, `hard_filter`.
`failing` counts kept rows by first failing check (non-zero only for the unchecked variant `first`).
"""

from __future__ import annotations

import os
from typing import Callable, Sequence

from ded.config import CORPUS_VARIANTS
from ded.io import DataError, write_json, write_jsonl
from ded.corpus import diversity as div
from ded.corpus.decontam import read_hits_csv
from ded.corpus.records import CHECKS, Sample, corpus_row, read_pass_rates, read_tasks, read_verified
from ded.corpus.stats import corpus_summary

NEEDS_PASS_RATES = ("right_hard", "right_hard_diverse")


def _zero_checks() -> dict:
    return {name: 0 for name in CHECKS}


def _choose(variant: str, passing: list[Sample], *, p: int | None, unit: str,
            encode: Callable[[str], list[int]] | None, workers: int) -> list[Sample]:
    if variant in ("right", "right_hard"):
        return [passing[0]]
    if variant == "longest":
        return [max(passing, key=lambda s: (s.num_tokens, -s.sample_index))]
    if variant == "shortest":
        return [min(passing, key=lambda s: (s.num_tokens, s.sample_index))]
    if variant == "right_hard_diverse":
        if len(passing) <= p:
            return list(passing)
        if unit == "tokens":
            items = [encode(s.response) for s in passing]
        else:
            items = [s.response for s in passing]
        return [passing[i] for i in div.select_diverse(items, p, workers=workers)]
    raise ValueError(f"corpus variant {variant!r}: expected one of {', '.join(CORPUS_VARIANTS)}")


def build_variant(variant: str, tasks: Sequence[dict], groups: dict[str, list[Sample]], *, teacher: str,
                  domain: str | None = None,
                  pass_rates: dict[str, dict] | None = None, p: int | None = None, unit: str = "chars",
                  encode: Callable[[str], list[int]] | None = None, decontaminated: int = 0, workers: int = -1,
                  sources: dict[str, str] | None = None) -> tuple[list[dict], dict]:
    """(corpus rows in seed order, then sample index; stats) of one variant.

    tasks: the decontaminated seeds (prompts and the question order); groups: verified samples by question;
    pass_rates: the compression student's, needed by the hard variants; p and unit: diversity settings;
    encode: text -> token ids, needed when unit is tokens.
    """
    if variant not in CORPUS_VARIANTS:
        raise ValueError(f"corpus variant {variant!r}: expected one of {', '.join(CORPUS_VARIANTS)}")
    sources = sources or {}
    if variant in NEEDS_PASS_RATES and pass_rates is None:
        raise ValueError(f"corpus variant {variant}: needs the compression student's pass rates")
    if variant == "right_hard_diverse":
        if p is None or p < 1:
            raise ValueError(f"diversity.P: must be >= 1, got {p}")
        if unit not in div.UNITS:
            raise ValueError(f"diversity.unit: expected one of {div.UNITS}, got {unit!r}")
        if unit == "tokens" and encode is None:
            raise ValueError("diversity.unit tokens: needs a tokenizer (filtering.tokenizer_of)")
    verified_src = sources.get("verified", "verified file")
    if domain is not None:
        other = [t for t in tasks if t["domain"] != domain]
        if other:
            raise DataError(f"{sources.get('seeds', 'seeds')}: question {other[0]['id']!r} has domain "
                            f"{other[0]['domain']!r}, expected {domain!r}")
    task_ids = {str(t["id"]) for t in tasks}
    unknown = [qid for qid in groups if qid not in task_ids]
    if unknown:
        raise DataError(f"{verified_src}: question_id {unknown[0]!r} is not in the decontaminated seeds "
                        f"{sources.get('seeds', '')} ({len(unknown)} unknown)")

    rows: list[dict] = []
    dropped_samples = {**_zero_checks(), "hard_filter": 0, "not_selected": 0}
    dropped_questions = {"decontamination": decontaminated, "no_passing": 0, "hard_filter": 0}
    failing = _zero_checks()
    n_samples = 0
    for task in tasks:
        qid = str(task["id"])
        samples = groups.get(qid)
        if not samples:
            raise DataError(f"{verified_src}: no samples of seed question {qid!r}")
        n_samples += len(samples)
        if variant == "first":
            first = [s for s in samples if s.sample_index == 0]
            if not first:
                raise DataError(f"{verified_src}: question {qid!r} has no sample_index 0")
            chosen = first
            dropped_samples["not_selected"] += len(samples) - 1
            reason = first[0].first_failing()
            if reason:
                failing[reason] += 1
        else:
            for s in samples:
                reason = s.first_failing()
                if reason:
                    dropped_samples[reason] += 1
            passing = [s for s in samples if s.passed]
            if not passing:
                dropped_questions["no_passing"] += 1
                continue
            if variant in NEEDS_PASS_RATES:
                rate = pass_rates.get(qid)
                if rate is None:
                    raise DataError(f"{sources.get('passrate', 'pass-rate file')}: no pass rate for question {qid!r}")
                if not rate["hard"]:
                    dropped_questions["hard_filter"] += 1
                    dropped_samples["hard_filter"] += len(passing)
                    continue
            chosen = _choose(variant, passing, p=p, unit=unit, encode=encode, workers=workers)
            dropped_samples["not_selected"] += len(passing) - len(chosen)
        rows.extend(corpus_row(task, teacher, s) for s in chosen)

    stats = {
        "variant": variant,
        "teacher": teacher,
        "domain": domain or (tasks[0]["domain"] if tasks else None),
        **corpus_summary(rows),
        "input": {"questions": len(tasks), "samples": n_samples},
        "dropped": {"samples": dropped_samples, "questions": dropped_questions},
        "failing": failing,
    }
    if variant == "right_hard_diverse":
        stats["diversity"] = {"P": p, "unit": unit}
    stats["source"] = sources
    return rows, stats


def corpus_variant_files(variant: str, *, teacher: str, domain: str, verified: str | os.PathLike,
                         seeds: str | os.PathLike, hits: str | os.PathLike, out_corpus: str | os.PathLike,
                         out_stats: str | os.PathLike,
                         passrate: str | os.PathLike | None = None, diversity: dict | None = None,
                         tokenizer_spec: dict | None = None, workers: int = -1) -> dict:
    """The `corpus_variant` rule: verified teacher samples (+ pass rates) -> corpus JSONL + stats JSON."""
    sources = {"verified": str(verified), "seeds": str(seeds), "decontamination_hits": str(hits)}
    pass_rates = None
    if variant in NEEDS_PASS_RATES:
        if passrate is None:
            raise ValueError(f"corpus variant {variant}: needs the pass-rate file")
        pass_rates = read_pass_rates(passrate)
        sources["passrate"] = str(passrate)
    p, unit, encode = None, "chars", None
    if variant == "right_hard_diverse":
        diversity = diversity or {}
        p, unit = diversity.get("P"), diversity.get("unit", "chars")
        if unit == "tokens":
            if not tokenizer_spec:
                raise ValueError("diversity.unit tokens: needs the tokenizer of filtering.tokenizer_of")
            encode = div.load_token_encoder(tokenizer_spec)
    decontaminated = len({hit["seed_id"] for hit in read_hits_csv(hits)})
    rows, stats = build_variant(variant, read_tasks(seeds), read_verified(verified), teacher=teacher, domain=domain,
                                pass_rates=pass_rates, p=p, unit=unit, encode=encode,
                                decontaminated=decontaminated, workers=workers, sources=sources)
    write_jsonl(out_corpus, rows)
    write_json(out_stats, stats)
    return stats
