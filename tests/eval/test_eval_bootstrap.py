"""Percentile bootstrap: known quantiles, coverage on known data, NaN handling, reproducibility."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rlrec.eval.bootstrap import bootstrap_indices, mean_with_ci, percentile_interval, statistic_with_ci


def test_percentile_interval_takes_the_two_tail_quantiles():
    low, high = percentile_interval(np.arange(101, dtype=float), confidence=0.9)
    assert (low, high) == pytest.approx((5.0, 95.0))


def test_constant_data_gives_a_zero_width_interval():
    mv = mean_with_ci(np.full(50, 0.3), bootstrap_indices(50, 200, seed=0))
    assert (mv.value, mv.ci_low, mv.ci_high, mv.n) == pytest.approx((0.3, 0.3, 0.3, 50))


def test_interval_width_matches_the_normal_approximation_for_a_mean():
    x = np.random.default_rng(1).normal(0.0, 1.0, size=2000)
    mv = mean_with_ci(x, bootstrap_indices(2000, 2000, seed=2))
    half = (mv.ci_high - mv.ci_low) / 2
    assert half == pytest.approx(1.96 * x.std() / math.sqrt(2000), rel=0.1)
    assert mv.ci_low < x.mean() < mv.ci_high


def test_95_percent_intervals_cover_the_true_mean_about_95_percent_of_the_time():
    rng = np.random.default_rng(3)
    p, n, trials = 0.3, 200, 300
    covered = 0
    for t in range(trials):
        x = (rng.random(n) < p).astype(float)
        mv = mean_with_ci(x, bootstrap_indices(n, 400, seed=t))
        covered += mv.ci_low <= p <= mv.ci_high
    assert 0.89 <= covered / trials <= 0.99


def test_nan_values_are_excluded_and_counted():
    x = np.array([1.0, np.nan, 0.0, 1.0, np.nan])
    indices = bootstrap_indices(5, 300, seed=0)
    mv = mean_with_ci(x, indices)
    assert mv.n == 3 and mv.value == pytest.approx(2 / 3)
    assert 0.0 <= mv.ci_low <= mv.ci_high <= 1.0
    # by hand: each replicate's mean over its drawn defined examples (a replicate that drew none is dropped)
    replicates = [np.nanmean(x[row]) for row in indices if not np.isnan(x[row]).all()]
    assert (mv.ci_low, mv.ci_high) == pytest.approx(tuple(np.quantile(replicates, [0.025, 0.975])))
    assert mv.ci_low < mv.value < mv.ci_high  # a resampled 1, 0, 1 does vary


def test_all_nan_is_nan_not_an_error():
    mv = mean_with_ci(np.full(4, np.nan), bootstrap_indices(4, 10, seed=0))
    assert mv.n == 0 and math.isnan(mv.value) and mv.format() == "n/a"


def test_seeded_indices_are_reproducible_and_seed_dependent():
    assert np.array_equal(bootstrap_indices(30, 5, 7), bootstrap_indices(30, 5, 7))
    assert not np.array_equal(bootstrap_indices(30, 5, 7), bootstrap_indices(30, 5, 8))


def test_generic_statistic_agrees_with_the_vectorised_mean():
    x = np.random.default_rng(0).random(40)
    idx = bootstrap_indices(40, 300, seed=4)
    fast = mean_with_ci(x, idx)
    slow = statistic_with_ci(lambda i: x[i].mean(), 40, idx)
    assert (fast.value, fast.ci_low, fast.ci_high) == pytest.approx((slow.value, slow.ci_low, slow.ci_high))


def test_bad_confidence_is_rejected():
    with pytest.raises(ValueError, match="confidence"):
        percentile_interval(np.arange(3.0), confidence=95)


def test_set_statistics_get_a_bias_corrected_interval_around_the_sample_value():
    # 200 examples each recommending a distinct item: coverage of the sample is 200/1000, but a replicate
    # drawn with replacement holds only ~63% distinct examples
    n = 200
    coverage = lambda idx: np.unique(idx).size / 1000  # noqa: E731
    idx = bootstrap_indices(n, 300, seed=0)
    raw = statistic_with_ci(coverage, n, idx)
    assert raw.ci_high < raw.value  # the plain percentile interval misses the sample value entirely
    fixed = statistic_with_ci(coverage, n, idx, bias_correct=True)
    assert fixed.ci_low < fixed.value < fixed.ci_high
    assert fixed.ci_high - fixed.ci_low == pytest.approx(raw.ci_high - raw.ci_low)
