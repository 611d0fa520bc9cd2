"""Paired comparisons of two evaluated arms (models, or corpora) on the same items, with a bootstrap interval.

An arm's scores on one stratum (a benchmark) form a matrix replicates x items: row r holds replicate r's score of
each item (a problem's fraction of correct samples, or a corpus response's mean token entropy), columns in the same
item order for both arms. The effect is the mean over strata of (mean of arm a - mean of arm b), strata weighted
equally, as a table that averages benchmark columns would weight them.

The interval resamples what would change if the experiment were run again: the items of each stratum (with
replacement, the same draw for both arms, which is what pairs them: an item that is hard for one arm is mostly
hard for the other, so its difficulty cancels in the difference) and, when there are several, each arm's
replicates (with replacement, independently: replicates are separate training runs with their own seeds).
With one replicate per arm it is the paired bootstrap over problems.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Effect:
    estimate: float
    low: float
    high: float
    n_items: int           # items over all strata
    replicates: tuple[int, int]


def _check_pairs(a: Sequence[np.ndarray], b: Sequence[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
    if len(a) != len(b) or not a:
        raise ValueError(f"paired comparison: {len(a)} strata against {len(b)} (need the same, at least one)")
    pairs = []
    for i, (x, y) in enumerate(zip(a, b)):
        x, y = np.atleast_2d(np.asarray(x, dtype=float)), np.atleast_2d(np.asarray(y, dtype=float))
        if x.shape[1] != y.shape[1] or x.shape[1] == 0:
            raise ValueError(f"paired comparison: stratum {i} has {x.shape[1]} items in a and {y.shape[1]} in b "
                             "(both arms must be scored on the same items)")
        if np.isnan(x).any() or np.isnan(y).any():
            raise ValueError(f"paired comparison: stratum {i} has missing scores")
        pairs.append((x, y))
    return pairs


def paired_bootstrap(a: Sequence[np.ndarray], b: Sequence[np.ndarray], *, n_boot: int = 2000, seed: int = 0,
                     level: float = 0.95) -> Effect:
    """Effect of arm a over arm b (mean over strata of the difference of means) with its percentile interval.

    a[i], b[i]: stratum i's scores, arrays replicates x items (a 1-D array is one replicate)."""
    pairs = _check_pairs(a, b)
    estimate = float(np.mean([x.mean() - y.mean() for x, y in pairs]))
    rng = np.random.default_rng(seed)
    boot = np.zeros(n_boot)
    for x, y in pairs:
        items = rng.integers(0, x.shape[1], size=(n_boot, x.shape[1]))
        boot += _resampled_means(x, items, rng) - _resampled_means(y, items, rng)
    boot /= len(pairs)
    alpha = (1 - level) / 2
    low, high = (float(v) for v in np.quantile(boot, [alpha, 1 - alpha])) if n_boot > 0 else (estimate, estimate)
    reps = (min(x.shape[0] for x, _ in pairs), min(y.shape[0] for _, y in pairs))
    return Effect(estimate, low, high, sum(x.shape[1] for x, _ in pairs), reps)


def _resampled_means(scores: np.ndarray, items: np.ndarray, rng) -> np.ndarray:
    """Mean score per bootstrap draw: replicates drawn with replacement, then the drawn items."""
    n_reps = scores.shape[0]
    if n_reps == 1:
        per_item = np.broadcast_to(scores[0], (items.shape[0], scores.shape[1]))
    else:
        reps = rng.integers(0, n_reps, size=(items.shape[0], n_reps))
        per_item = scores[reps].mean(axis=1)          # draws x items
    return np.take_along_axis(per_item, items, axis=1).mean(axis=1)


def bootstrap_mean_ci(scores: Sequence[float], n_boot: int, seed: int, level: float = 0.95) -> tuple[float, float]:
    """Percentile interval of the mean of `scores` over resamples with replacement (one arm, one stratum)."""
    x = np.asarray(scores, dtype=float)
    if x.size == 0:
        return (float("nan"), float("nan"))
    if x.size == 1 or n_boot < 1:
        return (float(x.mean()), float(x.mean()))
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, x.size, size=(n_boot, x.size))].mean(axis=1)
    alpha = (1 - level) / 2
    return (float(np.quantile(means, alpha)), float(np.quantile(means, 1 - alpha)))


# -------------------------------------------------------------------------------------------------------------------
# Verdicts
# -------------------------------------------------------------------------------------------------------------------
KINDS = ("greater", "not_worse", "equivalent")
VERDICTS = ("supported", "contradicted", "inconclusive")


def verdict(kind: str, low: float, high: float, margin: float = 0.0) -> str:
    """What the interval says of a claim about the effect a - b.

    greater:    a > b.            supported: low > 0;        contradicted: high < 0.
    not_worse:  a >= b - margin.  supported: low > -margin;  contradicted: high < -margin.
    equivalent: |a - b| < margin. supported: inside (-margin, margin); contradicted: wholly outside it.
    Anything else is inconclusive: the run cannot tell."""
    if kind == "greater":
        return "supported" if low > 0 else "contradicted" if high < 0 else "inconclusive"
    if kind == "not_worse":
        return "supported" if low > -margin else "contradicted" if high < -margin else "inconclusive"
    if kind == "equivalent":
        if -margin < low and high < margin:
            return "supported"
        return "contradicted" if low > margin or high < -margin else "inconclusive"
    raise ValueError(f"claim kind: expected one of {KINDS}, got {kind!r}")
