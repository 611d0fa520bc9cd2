"""Readers of the evaluation, OOD and corpus files that tables, figures and claims are built from. Every error names
the file (and line) and what is wrong with it."""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path

from ded import evaluate as dedeval
from ded.io import DataError
from ded.reporting.layout import OOD_COLUMNS


def _frame(path: str, columns: set[str], what: str):
    import pandas as pd

    if not Path(path).exists():
        raise DataError(f"{path}: {what} is missing")
    frame = pd.read_csv(path, keep_default_na=False, dtype=str)
    missing = columns - set(frame.columns)
    if missing:
        raise DataError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
    return frame


def _number(text: str, where: str) -> float:
    if text == "":
        return math.nan
    try:
        return float(text)
    except ValueError:
        raise DataError(f"{where}: not a number: {text!r}") from None


def read_summary(path: str, benchmark: str) -> dict[str, dict[str, float]]:
    """subset -> {pass1 (fraction), mean_tokens} of one benchmark in a model's evaluation summary: a view of the rows
    ded.evaluate.read_summary parses (and checks)."""
    out = {row["subset"]: {"pass1": row["pass1"], "mean_tokens": row["mean_tokens"]}
           for row in dedeval.read_summary(path) if row["benchmark"] == benchmark}
    if not out:
        raise DataError(f"{path}: no rows for benchmark {benchmark!r} (was the model evaluated on it?)")
    return out


def read_ood(path: str, tasks: list[str]) -> dict[str, float]:
    """Table 6 column key -> value (a fraction); a task's first row in the file is its headline metric."""
    frame = _frame(path, {"task", "value"}, "OOD results")
    out = {}
    for task in tasks:
        rows = frame[frame["task"] == task]
        key = OOD_COLUMNS.get(task, (task, task))[0]
        out[key] = _number(rows.iloc[0]["value"], f"{path}: task {task}") if len(rows) else math.nan
    return out


def read_stats(path: str) -> dict:
    if not Path(path).exists():
        raise DataError(f"{path}: corpus stats are missing")
    stats = json.loads(Path(path).read_text(encoding="utf-8"))
    for key in ("samples", "tokens_mean"):
        if key not in stats:
            raise DataError(f"{path}: missing key '{key}'")
    return stats


def mean_and_sd(values: list[float]) -> tuple[float, float | None]:
    """Mean over replicates and their sample standard deviation (None for one replicate); nan if any is missing."""
    if not values or any(math.isnan(v) for v in values):
        return math.nan, None
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else None)


def problem_scores(path: str) -> dict[str, dict[str, float]]:
    """benchmark -> problem id -> fraction of its samples that are correct, from a model's samples.csv."""
    frame = _frame(path, {"benchmark", "problem_id", "correct"}, "evaluation samples")
    out: dict[str, dict[str, list[int]]] = {}
    for i, rec in enumerate(frame.to_dict("records"), start=2):
        if rec["correct"] not in ("0", "1"):
            raise DataError(f"{path}:{i}: correct must be 0 or 1, got {rec['correct']!r}")
        out.setdefault(rec["benchmark"], {}).setdefault(rec["problem_id"], []).append(int(rec["correct"]))
    return {b: {pid: sum(v) / len(v) for pid, v in per.items()} for b, per in out.items()}


def sample_counts(path: str) -> dict[str, dict[str, int]]:
    """benchmark -> problem id -> number of samples (a paired comparison needs the same on both sides)."""
    frame = _frame(path, {"benchmark", "problem_id"}, "evaluation samples")
    out: dict[str, dict[str, int]] = {}
    for rec in frame.to_dict("records"):
        per = out.setdefault(rec["benchmark"], {})
        per[rec["problem_id"]] = per.get(rec["problem_id"], 0) + 1
    return out


def ood_item_scores(path: str, tasks: list[str], metrics: dict[str, str] | None = None) -> dict[str, dict[str, float]]:
    """task -> item ("<subtask>/<doc_id>") -> score of the task's metric (default: the first metric in the file),
    from a model's ood_samples.csv; a group task pools the items of its subtasks."""
    frame = _frame(path, {"task", "subtask", "doc_id", "metric", "value"}, "OOD per-item results")
    out = {}
    for task in tasks:
        rows = frame[frame["task"] == task]
        if rows.empty:
            raise DataError(f"{path}: no items of task {task!r}")
        metric = (metrics or {}).get(task) or rows.iloc[0]["metric"]
        rows = rows[rows["metric"] == metric]
        if rows.empty:
            raise DataError(f"{path}: task {task!r} has no metric {metric!r}")
        out[task] = {f"{r['subtask']}/{r['doc_id']}": _number(r["value"], f"{path}: task {task}")
                     for r in rows.to_dict("records")}
    return out


def response_entropies(path: str) -> dict[str, dict[str, float]]:
    """teacher -> question id -> mean token entropy of its corpus response (R/analysis/entropy_responses.csv)."""
    frame = _frame(path, {"teacher", "question_id", "mean_entropy"}, "per-response entropies")
    out: dict[str, dict[str, float]] = {}
    for i, rec in enumerate(frame.to_dict("records"), start=2):
        per = out.setdefault(rec["teacher"], {})
        if rec["question_id"] in per:
            raise DataError(f"{path}:{i}: a second response of {rec['teacher']} to {rec['question_id']}")
        per[rec["question_id"]] = _number(rec["mean_entropy"], f"{path}:{i}")
    return out
