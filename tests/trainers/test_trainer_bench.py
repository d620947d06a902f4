"""The trainer benchmark's paired bootstrap CI (issue 16: ratios precise enough to judge a 2% target)."""

from __future__ import annotations

import random

import pytest

from experiments.benchmarks.trainer_bench import paired_ratio


def test_paired_ratio_by_hand():
    exact = paired_ratio([[1.0, 2.0, 3.0]], [[0.5, 1.0, 1.5]])  # every pair 2:1
    assert exact["ratio"] == 2.0 and exact["lo"] == exact["hi"] == 2.0
    assert exact["paired"] == exact["paired_lo"] == exact["paired_hi"] == 2.0 and exact["half_width"] == 0.0
    assert exact["pairs"] == 3
    assert paired_ratio([], [])["ratio"] is None


def test_pairing_cancels_drift_shared_by_both_sides():
    """Round-to-round drift (a busy machine) moves both members of a pair: the CI stays narrow; noise of its own
    on each side widens it, and the pairs needed for ±2% grow with it."""
    rng = random.Random(0)
    drift = [[rng.uniform(1.0, 3.0) for _ in range(8)] for _ in range(5)]  # shared by the pair
    num = [[1.3 * d * rng.gauss(1, 0.01) for d in r] for r in drift]
    den = [[d * rng.gauss(1, 0.01) for d in r] for r in drift]
    tight = paired_ratio(num, den)
    assert tight["paired"] == pytest.approx(1.3, rel=0.01) and tight["paired_lo"] <= 1.3 <= tight["paired_hi"]
    assert tight["ratio"] == pytest.approx(1.3, rel=0.05)  # of medians: one pair's noise, not narrowed by pairing
    assert tight["half_width"] < 0.02 and tight["pairs"] == 40
    noisy = paired_ratio([[v * rng.gauss(1, 0.2) for v in r] for r in num], den)
    assert noisy["half_width"] > tight["half_width"] and noisy["pairs_for_2pct"] > 40
