"""The training corpus of one experiment: its corpus pieces concatenated in config order.

A piece's `limit` keeps that many rows, drawn with the training seed: questions are shuffled and taken whole while
they fit, then, when the limit falls inside a question, the remaining rows come from the next shuffled questions in
sample order. Whole questions first keeps the P diverse responses of a question together (the point of the diverse
stage), and the kept rows stay in the piece's own order so that a corpus reads the same whatever the seed.
"""

from __future__ import annotations

import os
import random
from collections.abc import Sequence

from ded.corpus.stats import corpus_summary
from ded.io import DataError, iter_numbered_jsonl, write_json, write_jsonl

CORPUS_FIELDS = ("question_id", "domain", "teacher", "sample_index", "prompt", "response", "num_tokens")


def read_corpus(path: str | os.PathLike) -> list[dict]:
    return [row for _, row in iter_numbered_jsonl(path, CORPUS_FIELDS)]


def draw_limit(rows: Sequence[dict], limit: int | None, seed: int) -> list[dict]:
    """At most `limit` rows, whole questions first (see the module docstring); all rows when limit is None."""
    if limit is None or limit >= len(rows):
        return list(rows)
    if limit < 1:
        raise ValueError(f"limit: must be >= 1, got {limit}")
    by_question: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        by_question.setdefault(str(row["question_id"]), []).append(i)
    order = list(by_question)
    random.Random(seed).shuffle(order)
    keep: list[int] = []
    rest: list[str] = []
    for qid in order:
        if len(keep) + len(by_question[qid]) <= limit:
            keep.extend(by_question[qid])
        else:
            rest.append(qid)
    for qid in rest:
        if len(keep) == limit:
            break
        keep.extend(by_question[qid][:limit - len(keep)])
    return [rows[i] for i in sorted(keep)]


def build_experiment(pieces: Sequence[dict], corpora: Sequence[list[dict]], seed: int) -> tuple[list[dict], list[dict]]:
    """(rows, per-piece accounting); piece i draws its limit with seed + i."""
    if len(pieces) != len(corpora):
        raise ValueError(f"experiment corpus: {len(pieces)} data pieces but {len(corpora)} corpus files")
    rows, accounting = [], []
    for i, (piece, corpus) in enumerate(zip(pieces, corpora, strict=True)):
        kept = draw_limit(corpus, piece.get("limit"), seed + i)
        rows.extend(kept)
        accounting.append({"domain": piece["domain"], "variant": piece["variant"], "limit": piece.get("limit"),
                           "rows_in": len(corpus), "rows_out": len(kept), **corpus_summary(kept)})
    return rows, accounting


def experiment_corpus_files(experiment: str, pieces: Sequence[dict], corpus_paths: Sequence[str | os.PathLike],
                            out_corpus: str | os.PathLike, out_stats: str | os.PathLike, *, seed: int) -> dict:
    """The `experiment_corpus` rule."""
    corpora = [read_corpus(path) for path in corpus_paths]
    for piece, path, corpus in zip(pieces, corpus_paths, corpora, strict=True):
        wrong = [row for row in corpus if row["domain"] != piece["domain"]]
        if wrong:
            raise DataError(f"{path}: row of domain {wrong[0]['domain']!r} in a piece of domain {piece['domain']!r}")
    rows, accounting = build_experiment(pieces, corpora, seed)
    for entry, path in zip(accounting, corpus_paths, strict=True):
        entry["source"] = str(path)
    teachers = sorted({row["teacher"] for row in rows})
    stats = {
        "experiment": experiment,
        "teachers": teachers,
        **corpus_summary(rows),
        "dropped": {"samples": {"limit": sum(a["rows_in"] - a["rows_out"] for a in accounting)}},
        "pieces": accounting,
        "seed": seed,
        "source": [str(p) for p in corpus_paths],
    }
    write_jsonl(out_corpus, rows)
    write_json(out_stats, stats)
    return stats
