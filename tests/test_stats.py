"""Paired comparisons (ded.stats): a known difference is found with an interval around it, pairing narrows the
interval, replicates widen it, mismatched arms are refused, and each claim kind's verdicts."""

from __future__ import annotations

import numpy as np
import pytest

from ded.stats import bootstrap_mean_ci, paired_bootstrap, verdict


def bernoulli(n: int, p: float, seed: int) -> np.ndarray:
    return (np.random.default_rng(seed).random(n) < p).astype(float)


def test_a_known_difference_is_found():
    b = bernoulli(300, 0.3, 1)
    a = b.copy()
    zeros = np.flatnonzero(a == 0)[:30]
    a[zeros] = 1.0                                 # 30 of 300 problems solved in addition: +0.1 exactly
    effect = paired_bootstrap([a], [b], n_boot=2000, seed=3)
    assert effect.estimate == pytest.approx(0.1)
    assert effect.low > 0 and effect.low < 0.1 < effect.high
    assert effect.n_items == 300 and effect.replicates == (1, 1)


def test_no_difference_gives_an_interval_at_zero():
    b = bernoulli(200, 0.4, 2)
    effect = paired_bootstrap([b], [b.copy()], n_boot=500, seed=0)
    assert (effect.estimate, effect.low, effect.high) == (0.0, 0.0, 0.0)


def test_pairing_narrows_the_interval():
    """The same per-problem difficulty on both sides cancels in the difference: the paired interval is far
    narrower than the two arms' own intervals combined."""
    rng = np.random.default_rng(5)
    difficulty = rng.random(300)
    b = (difficulty < 0.45).astype(float)
    a = (difficulty < 0.50).astype(float)          # the same problems plus those just above the line
    paired = paired_bootstrap([a], [b], n_boot=2000, seed=1)
    lo_a, hi_a = bootstrap_mean_ci(a, 2000, 1)
    lo_b, hi_b = bootstrap_mean_ci(b, 2000, 2)
    unpaired_half = np.hypot((hi_a - lo_a) / 2, (hi_b - lo_b) / 2)
    assert (paired.high - paired.low) / 2 < 0.5 * unpaired_half
    assert paired.low > 0


def test_strata_are_weighted_equally():
    a = [np.ones(10), np.zeros(1000)]
    b = [np.zeros(10), np.zeros(1000)]
    assert paired_bootstrap(a, b, n_boot=100, seed=0).estimate == pytest.approx(0.5)


def test_replicates_are_averaged_and_widen_the_interval():
    b = bernoulli(300, 0.3, 4)
    shifted = []
    for gain in (0.02, 0.10, 0.18):                      # three training runs of different quality
        a = b.copy()
        a[np.flatnonzero(a == 0)[: int(round(gain * 300))]] = 1.0
        shifted.append(a)
    three = paired_bootstrap([np.stack(shifted)], [b], n_boot=2000, seed=7)
    one = paired_bootstrap([shifted[1]], [b], n_boot=2000, seed=7)
    assert three.estimate == pytest.approx(0.10)
    assert three.replicates == (3, 1)
    assert (three.high - three.low) > (one.high - one.low)


def test_mismatched_arms_are_refused():
    with pytest.raises(ValueError, match="same items"):
        paired_bootstrap([np.ones(10)], [np.ones(11)])
    with pytest.raises(ValueError, match="strata"):
        paired_bootstrap([np.ones(10)], [np.ones(10), np.ones(10)])
    with pytest.raises(ValueError, match="missing"):
        paired_bootstrap([np.array([1.0, np.nan])], [np.ones(2)])


@pytest.mark.parametrize("kind, low, high, margin, expected", [
    ("greater", 0.5, 3.0, 0, "supported"),
    ("greater", -3.0, -0.5, 0, "contradicted"),
    ("greater", -1.0, 2.0, 0, "inconclusive"),
    ("not_worse", -2.0, 1.0, 3, "supported"),
    ("not_worse", -6.0, -3.5, 3, "contradicted"),
    ("not_worse", -5.0, 1.0, 3, "inconclusive"),
    ("equivalent", -2.0, 2.5, 3, "supported"),
    ("equivalent", 3.5, 6.0, 3, "contradicted"),
    ("equivalent", -1.0, 4.0, 3, "inconclusive"),
])
def test_verdicts(kind, low, high, margin, expected):
    assert verdict(kind, low, high, margin) == expected


def test_unknown_kind_is_an_error():
    with pytest.raises(ValueError, match="claim kind"):
        verdict("bigger", 0, 1)
