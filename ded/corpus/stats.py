"""Summary statistics of a corpus (the `.stats.json` beside every corpus file; Tables 3, 4 and 7 read them)."""

from __future__ import annotations

import statistics
from collections.abc import Iterable


def corpus_summary(rows: Iterable[dict]) -> dict:
    """questions, samples, tokens_mean, tokens_median of corpus rows (num_tokens; 0 and None when empty)."""
    rows = list(rows)
    tokens = [row["num_tokens"] for row in rows]
    return {
        "questions": len({(row["domain"], row["question_id"]) for row in rows}),
        "samples": len(rows),
        "tokens_mean": round(statistics.fmean(tokens), 2) if tokens else None,
        "tokens_median": statistics.median(tokens) if tokens else None,
    }
