"""DED stage 1: teacher selection.

Each candidate teacher's first-response corpus on `selection.domain` trains the selection student (its run: model
select_<teacher>, or an experiment that is the same SFT run, see ded.config.selection_runs); the teacher whose student
scores the highest mean pass@1 over `selection.benchmarks` (subset `all` of each evaluation summary, benchmarks
weighted equally) is chosen.

With `replicates: N`, every replicate of each run is read and the mean over replicates ranks the teachers;
chosen.json records the teacher that each replicate alone would choose (the seed-stability check).

Ties (mean pass@1 equal to 1e-9) go to the teacher listed first in the config's `teachers`: the order is the
user's stated preference, and it does not depend on file order or floating-point noise.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from ded.evaluate import read_summary
from ded.io import DataError, write_csv, write_json


def read_chosen(path: str | os.PathLike) -> str:
    """The teacher that teacher selection chose (R/selection/chosen.json): the one reader of that file."""
    import json
    from pathlib import Path

    try:
        chosen = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot read the selection result ({exc})") from exc
    if not isinstance(chosen, dict) or not isinstance(chosen.get("teacher"), str):
        raise DataError(f"{path}: no 'teacher' (the selection result names the chosen teacher)")
    return chosen["teacher"]


TIE_BREAK = "equal mean pass@1 (to 1e-9): the teacher listed first in config 'teachers' wins"
TOLERANCE = 1e-9


def collect_scores(summary_paths: Sequence[str | os.PathLike], runs: Mapping[str, str],
                   benchmarks: Sequence[str]) -> dict[str, dict[str, list[float]]]:
    """teacher -> benchmark -> pass@1 (subset all) of each replicate (in replicate order), read from
    R/eval/<run>[.rep<r>]/summary.csv, where runs maps each teacher to the run distilled from it (select_<teacher> or
    an experiment). Every teacher must have the same replicates of every benchmark."""
    from ded.config import REPLICATE_MARK, run_of

    teacher_of = {model: teacher for teacher, model in runs.items()}
    found: dict[str, dict[str, dict[int, float]]] = {t: {} for t in runs}
    for path in summary_paths:
        rows = [r for r in read_summary(path) if r["subset"] == "all"]
        if not rows:
            raise DataError(f"{path}: no row of subset 'all'")
        for row in rows:
            model, bench = row["model"], row["benchmark"]
            run = run_of(model)
            if run not in teacher_of:
                raise DataError(f"{path}: model {model!r} is not a selection run (have: "
                                f"{', '.join(f'{m} for {t}' for t, m in runs.items())})")
            if bench not in benchmarks:
                continue
            replicate = int(model.rpartition(REPLICATE_MARK)[2]) if run != model else 0
            per_rep = found[teacher_of[run]].setdefault(bench, {})
            if replicate in per_rep:
                raise DataError(f"{path}: a second summary of {model} on {bench}")
            per_rep[replicate] = float(row["pass1"])
    missing = [f"{runs[t]}/{b}" for t in runs for b in benchmarks if b not in found[t]]
    if missing:
        raise DataError(f"teacher selection: no evaluation summary for {', '.join(missing)}")
    reps = {tuple(sorted(per_rep)) for per_bench in found.values() for per_rep in per_bench.values()}
    if len(reps) != 1:
        raise DataError(f"teacher selection: the runs have different replicates ({sorted(reps)})")
    return {t: {b: [per_rep[r] for r in sorted(per_rep)] for b, per_rep in per_bench.items()}
            for t, per_bench in found.items()}


def rank_teachers(scores: dict[str, dict[str, float | Sequence[float]]], benchmarks: Sequence[str],
                  order: Sequence[str]) -> list[dict]:
    """Ranking rows (best first): teacher, pass1_<benchmark>..., mean_pass1, rank (1 = chosen). A benchmark's score
    may be a list (one per replicate): its mean counts."""
    if not scores:
        raise ValueError("teacher selection: no candidate teachers")
    if not benchmarks:
        raise ValueError("selection.benchmarks: empty (nothing to rank the teachers by)")
    position = {t: i for i, t in enumerate(order)}
    unknown = [t for t in scores if t not in position]
    if unknown:
        raise ValueError(f"teacher selection: {unknown} not in the config's teachers {list(order)}")
    rows = []
    for teacher, per_bench in scores.items():
        means = {b: _mean(per_bench[b]) for b in benchmarks}
        rows.append({"teacher": teacher, **{f"pass1_{b}": means[b] for b in benchmarks},
                     "mean_pass1": sum(means.values()) / len(benchmarks)})
    # round to the tolerance so that values equal up to float noise compare equal, then config order
    rows.sort(key=lambda r: (-round(r["mean_pass1"] / TOLERANCE), position[r["teacher"]]))
    for i, row in enumerate(rows, start=1):
        row["rank"] = i
    return rows


def _mean(value) -> float:
    values = [value] if isinstance(value, (int, float)) else list(value)
    return sum(values) / len(values)


def replicate_choices(scores: dict[str, dict[str, Sequence[float]]], benchmarks: Sequence[str],
                      order: Sequence[str]) -> list[str]:
    """The teacher each replicate alone would choose (the seed-stability check of config/study.yaml)."""
    n = len(next(iter(next(iter(scores.values())).values())))
    return [rank_teachers({t: {b: per_bench[b][r] for b in benchmarks} for t, per_bench in scores.items()},
                          benchmarks, order)[0]["teacher"] for r in range(n)]


def select_teacher(summary_paths: Sequence[str | os.PathLike], *, runs: Mapping[str, str],
                   benchmarks: Sequence[str], ranking_csv: str | os.PathLike,
                   chosen_json: str | os.PathLike) -> dict:
    """Read the summaries, write ranking.csv and chosen.json; returns the chosen record. runs: teacher -> the run
    distilled from it, in the config's teacher order (the tie-break). With replicates, the mean over them ranks
    the teachers; chosen.json also names the teacher each replicate alone would have chosen."""
    scores = collect_scores(summary_paths, runs, benchmarks)
    ranking = rank_teachers(scores, benchmarks, list(runs))
    choices = replicate_choices(scores, benchmarks, list(runs))
    for row in ranking:
        row["model"] = runs[row["teacher"]]
        row["replicate_wins"] = choices.count(row["teacher"])
    columns = ["teacher", "model", *[f"pass1_{b}" for b in benchmarks], "mean_pass1", "replicate_wins", "rank"]
    write_csv(ranking_csv, ranking, columns)
    best = ranking[0]
    tied = [r["teacher"] for r in ranking
            if round(r["mean_pass1"] / TOLERANCE) == round(best["mean_pass1"] / TOLERANCE)]
    chosen = {
        "teacher": best["teacher"],
        "mean_pass1": best["mean_pass1"],
        "benchmarks": list(benchmarks),
        "tied_with": [t for t in tied if t != best["teacher"]],
        "tie_break": TIE_BREAK,
        "replicate_choices": choices,
        "replicates_agreeing": choices.count(best["teacher"]),
        "ranking": [{"teacher": r["teacher"], "model": r["model"], "mean_pass1": r["mean_pass1"], "rank": r["rank"]}
                    for r in ranking],
    }
    write_json(chosen_json, chosen)
    return chosen
