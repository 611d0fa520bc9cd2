"""Corpus variants: which verified teacher responses become SFT examples, one variant per DED stage reached. The
variants themselves (what each keeps, what it reads) are declared in ded.corpus.registry; this module applies one.

Stats accounting (`.stats.json`): `input` counts the teacher's verified samples and questions; `dropped.samples`
attributes every sample that is not kept to exactly one cause - its first failing check (length, then format, then
correct), `hard_filter` (a passing response of a question the student finds easy) or `not_selected` (a passing
response the variant did not pick) - so input.samples = samples + sum(dropped.samples). `dropped.questions` counts
questions: `decontamination` (seed questions removed before sampling), `no_passing`, `hard_filter`.
`failing` counts kept rows by first failing check (non-zero only for the unchecked variant `first`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

from ded.corpus.decontam import read_hits_csv
from ded.corpus.diversity import load_token_encoder
from ded.corpus.records import CHECKS, Sample, corpus_row, read_pass_rates, read_tasks, read_verified
from ded.corpus.registry import Variant, get_variant
from ded.corpus.stats import corpus_summary
from ded.io import DataError, write_json, write_jsonl


def _zero_checks() -> dict:
    return {name: 0 for name in CHECKS}


def _select(variant: Variant, samples: list[Sample], settings: dict, encode, workers: int, where: str) -> list[Sample]:
    try:
        return variant.select(samples, settings, encode=encode, workers=workers)
    except DataError as exc:
        raise DataError(f"{where}: {exc}") from None


def _checked_settings(variant: Variant, settings: dict | None, encode) -> dict:
    settings = dict(settings or {})
    if variant.check_settings is not None:
        settings = variant.check_settings(settings)
    if variant.needs_tokenizer(settings) and encode is None:
        raise ValueError(f"corpus variant {variant.name}: {variant.settings_key} needs a tokenizer "
                         f"(filtering.tokenizer_of)")
    return settings


def build_variant(name: str, tasks: Sequence[dict], groups: dict[str, list[Sample]], *, teacher: str,
                  domain: str | None = None, pass_rates: dict[str, dict] | None = None, settings: dict | None = None,
                  encode: Callable[[str], list[int]] | None = None, decontaminated: int = 0, workers: int = -1,
                  sources: dict[str, str] | None = None) -> tuple[list[dict], dict]:
    """(corpus rows in seed order, then sample index; stats) of one variant.

    tasks: the decontaminated seeds (prompts and the question order); groups: verified samples by question;
    pass_rates: the compression student's, needed by the hard variants; settings: the config section the variant
    reads (its registry entry's settings_key, e.g. diversity); encode: text -> token ids, for a variant that
    needs a tokenizer.
    """
    variant = get_variant(name)
    sources = sources or {}
    if variant.needs_pass_rates and pass_rates is None:
        raise ValueError(f"corpus variant {name}: needs the compression student's pass rates")
    settings = _checked_settings(variant, settings, encode)
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
        where = f"{verified_src}: question {qid!r}"
        if not variant.checked:
            chosen = _select(variant, samples, settings, encode, workers, where)
            dropped_samples["not_selected"] += len(samples) - len(chosen)
            for s in chosen:
                reason = s.first_failing()
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
            if variant.needs_pass_rates:
                rate = pass_rates.get(qid)
                if rate is None:
                    raise DataError(f"{sources.get('passrate', 'pass-rate file')}: no pass rate for question {qid!r}")
                if not rate["hard"]:
                    dropped_questions["hard_filter"] += 1
                    dropped_samples["hard_filter"] += len(passing)
                    continue
            chosen = _select(variant, passing, settings, encode, workers, where)
            dropped_samples["not_selected"] += len(passing) - len(chosen)
        rows.extend(corpus_row(task, teacher, s) for s in chosen)

    stats = {
        "variant": name,
        "teacher": teacher,
        "domain": domain or (tasks[0]["domain"] if tasks else None),
        **corpus_summary(rows),
        "input": {"questions": len(tasks), "samples": n_samples},
        "dropped": {"samples": dropped_samples, "questions": dropped_questions},
        "failing": failing,
    }
    if variant.settings_key:
        stats[variant.settings_key] = settings
    stats["source"] = sources
    return rows, stats


def corpus_variant_files(name: str, *, teacher: str, domain: str, verified: str | os.PathLike,
                         seeds: str | os.PathLike, hits: str | os.PathLike, out_corpus: str | os.PathLike,
                         out_stats: str | os.PathLike, passrate: str | os.PathLike | None = None,
                         config_sections: dict | None = None, tokenizer_spec: dict | None = None,
                         workers: int = -1) -> dict:
    """The `corpus_variant` rule: verified teacher samples (+ pass rates) -> corpus JSONL + stats JSON.

    config_sections: the config sections the variant reads, by name (the rule's params.settings: {} or e.g.
    {"diversity": {...}}); tokenizer_spec: the model spec of filtering.tokenizer_of, for a variant that needs one.
    """
    variant = get_variant(name)
    sources = {"verified": str(verified), "seeds": str(seeds), "decontamination_hits": str(hits)}
    pass_rates = None
    if variant.needs_pass_rates:
        if passrate is None:
            raise ValueError(f"corpus variant {name}: needs the pass-rate file")
        pass_rates = read_pass_rates(passrate)
        sources["passrate"] = str(passrate)
    settings = (config_sections or {}).get(variant.settings_key) if variant.settings_key else None
    encode = None
    if variant.needs_tokenizer(settings or {}):
        if not tokenizer_spec:
            raise ValueError(f"corpus variant {name}: {variant.settings_key} needs the tokenizer of "
                             f"filtering.tokenizer_of")
        encode = load_token_encoder(tokenizer_spec)
    decontaminated = len({hit["seed_id"] for hit in read_hits_csv(hits)})
    rows, stats = build_variant(name, read_tasks(seeds), read_verified(verified), teacher=teacher, domain=domain,
                                pass_rates=pass_rates, settings=settings, encode=encode,
                                decontaminated=decontaminated, workers=workers, sources=sources)
    write_jsonl(out_corpus, rows)
    write_json(out_stats, stats)
    return stats
