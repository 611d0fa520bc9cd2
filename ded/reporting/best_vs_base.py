"""Per replicate: the best distilled student against the untrained one, with the paired 95% interval.

    python -m ded.reporting.best_vs_base results/study --replicates 3

The claims table pools the replicates; this is the per-replicate check of the tiny world's first question (does
distillation help at all, in every replicate?): in replicate r, among the experiments evaluated on every benchmark
named, the one with the highest mean pass@1, against the untrained student's evaluation of the same replicate, by
`ded.stats.paired_bootstrap` over problems (strata: benchmarks).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from ded import config as dedcfg
from ded.stats import paired_bootstrap

MATH_BENCHMARKS = ("aime24", "aime25", "math500")
# evaluated models that are not distilled students of an experiment
NOT_EXPERIMENTS = (dedcfg.BASE_PREFIX, dedcfg.TEACHER_PREFIX, dedcfg.SELECT_PREFIX)


def problem_scores(samples_csv: Path, benchmarks) -> dict[str, pd.Series] | None:
    """benchmark -> pass@1 per problem (mean over samples), sorted by problem id; None unless every benchmark is in."""
    frame = pd.read_csv(samples_csv)
    frame = frame[frame["benchmark"].isin(benchmarks)]
    if set(frame["benchmark"]) != set(benchmarks):
        return None
    per_problem = frame.groupby(["benchmark", "problem_id"])["correct"].mean()
    return {b: per_problem.loc[b].sort_index() for b in benchmarks}


def best_vs_base(results_dir: str | Path, replicate: int, *, base: str = "base_student",
                 benchmarks=MATH_BENCHMARKS, n_boot: int = 2000, seed: int = 17) -> dict:
    """{'replicate', 'best', 'best_pass1', 'base_pass1', 'effect', 'low', 'high'} in points of pass@1."""
    eval_dir = Path(results_dir) / "eval"
    base_scores = problem_scores(eval_dir / dedcfg.replicate_name(base, replicate) / "samples.csv", benchmarks)
    if base_scores is None:
        raise ValueError(f"{eval_dir}: {base} (replicate {replicate}) is not evaluated on {', '.join(benchmarks)}")
    candidates = {}
    for folder in sorted(eval_dir.iterdir()):
        run = dedcfg.run_of(folder.name)
        if (dedcfg.replicate_name(run, replicate) != folder.name or not (folder / "samples.csv").exists()
                or run.startswith(NOT_EXPERIMENTS)):
            continue
        scores = problem_scores(folder / "samples.csv", benchmarks)
        if scores is not None:
            candidates[run] = scores
    if not candidates:
        raise ValueError(f"{eval_dir}: no experiment of replicate {replicate} is evaluated on {', '.join(benchmarks)}")
    mean = {run: float(np.mean([s[b].mean() for b in benchmarks])) for run, s in candidates.items()}
    best = max(mean, key=lambda run: (mean[run], run))
    effect = paired_bootstrap([candidates[best][b].to_numpy() for b in benchmarks],
                              [base_scores[b].to_numpy() for b in benchmarks], n_boot=n_boot, seed=seed)
    return {"replicate": replicate, "best": best, "best_pass1": 100 * mean[best],
            "base_pass1": 100 * float(np.mean([base_scores[b].mean() for b in benchmarks])),
            "effect": 100 * effect.estimate, "low": 100 * effect.low, "high": 100 * effect.high}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m ded.reporting.best_vs_base", description=__doc__.split("\n")[0])
    ap.add_argument("results_dir")
    ap.add_argument("--replicates", type=int, default=1)
    ap.add_argument("--base", default="base_student")
    ap.add_argument("--benchmarks", nargs="+", default=list(MATH_BENCHMARKS))
    args = ap.parse_args(argv)
    try:
        for r in range(args.replicates):
            row = best_vs_base(args.results_dir, r, base=args.base, benchmarks=args.benchmarks)
            print(f"replicate {r}: best {row['best']} {row['best_pass1']:.1f} vs untrained {row['base_pass1']:.1f}: "
                  f"{row['effect']:+.1f} [{row['low']:+.1f}, {row['high']:+.1f}]")
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
