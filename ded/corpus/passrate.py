"""Question compression (DED stage 3): the student's pass rate per question, and which questions are hard.

A question is hard when pass_rate <= threshold (the paper drops questions whose pass rate is *above* the
threshold, so a pass rate exactly at it is kept). Only the `correct` verdict counts: length and format are
properties of the teacher-corpus filter, not of whether the student can solve the question.
"""

from __future__ import annotations

import os
from fractions import Fraction

from ded.corpus.records import Sample, read_verified
from ded.io import DataError, write_jsonl


def is_hard(n_correct: int, k: int, threshold: float) -> bool:
    # Exact rational comparison: 2/4 <= 0.5 must hold whatever the float rounding of n/k.
    return Fraction(n_correct, k) <= Fraction(str(threshold))


def pass_rates(groups: dict[str, list[Sample]], *, threshold: float, k: int | None = None,
               source: str = "verified file") -> list[dict]:
    """One row per question: question_id, k, n_correct, pass_rate, hard (`k`, when given: the expected count)."""
    rows = []
    for qid, samples in groups.items():
        if k is not None and len(samples) != k:
            raise DataError(f"{source}: question {qid} has {len(samples)} samples, expected compression.k = {k}")
        n_correct = sum(s.ok["correct"] for s in samples)
        rows.append({
            "question_id": qid,
            "k": len(samples),
            "n_correct": n_correct,
            "pass_rate": n_correct / len(samples),
            "hard": is_hard(n_correct, len(samples), threshold),
        })
    return rows


def passrate_file(verified_path: str | os.PathLike, out_path: str | os.PathLike, *, threshold: float,
                  k: int | None = None) -> dict:
    """The `passrate` rule; returns counts for the log."""
    rows = pass_rates(read_verified(verified_path), threshold=threshold, k=k, source=str(verified_path))
    write_jsonl(out_path, rows)
    return {"questions": len(rows), "hard": sum(r["hard"] for r in rows)}
