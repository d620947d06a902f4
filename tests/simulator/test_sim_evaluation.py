"""Hold-out metrics and baselines against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rlrec.simulator.evaluation import (
    ItemKNNBaseline,
    PopularityBaseline,
    auc,
    baseline_warnings,
    bootstrap_auc_margin,
    ece,
    log_loss,
    margin_verdict,
    reliability_curve,
)


def test_ece_and_reliability_curve_hand_computed():
    y = np.array([0.0, 1.0, 1.0, 0.0])
    p = np.array([0.1, 0.2, 0.8, 0.9])
    mean_p, rate, count = reliability_curve(y, p, bins=2)
    assert count.tolist() == [2, 2]
    assert mean_p == pytest.approx([0.15, 0.85])
    assert rate == pytest.approx([0.5, 0.5])
    assert ece(y, p, bins=2) == pytest.approx(0.5 * 0.35 + 0.5 * 0.35)
    # p == 1 falls in the last bin; empty bins do not count
    assert ece(np.array([1.0]), np.array([1.0]), bins=4) == pytest.approx(0.0)


def test_auc_and_log_loss():
    y = np.array([0.0, 0.0, 1.0, 1.0])
    assert auc(y, np.array([0.1, 0.4, 0.35, 0.8])) == pytest.approx(0.75)
    assert math.isnan(auc(np.ones(3), np.array([0.1, 0.2, 0.3])))
    assert log_loss(np.array([1.0, 0.0]), np.array([0.8, 0.4])) == pytest.approx(-(math.log(0.8) + math.log(0.6)) / 2)


def test_bootstrap_margin_point_estimate_and_ci():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400).astype(float)
    good = y + rng.normal(0, 0.5, 400)
    bad = rng.normal(0, 1, 400)
    groups = np.repeat(np.arange(40), 10)
    point, lo, hi = bootstrap_auc_margin(y, good, bad, groups, reps=50)
    assert point == pytest.approx(auc(y, good) - auc(y, bad))
    assert lo <= point <= hi and lo > 0
    assert all(map(math.isnan, bootstrap_auc_margin(y, good, bad, groups, reps=0)[1:]))


def test_item_knn_cosine_and_summed_score():
    # users: u0 clicks {0, 1}, u1 {0}, u2 {1, 2}  → cos(0,1) = 1/2, cos(1,2) = 1/sqrt(2), cos(0,2) = 0
    users, items = np.array([0, 0, 1, 2, 2]), np.array([0, 1, 0, 1, 2])
    knn = ItemKNNBaseline.from_clicks(users, items, num_rows=3, neighbors=10)
    hist = np.array([[-1, 0, 0, 2]])  # padding, then rows 0, 0, 2
    score = knn.score(hist, np.array([0, 0, 0]), np.array([1, 0, 2]))
    assert score == pytest.approx([2 * 0.5 + 1 / math.sqrt(2), 2.0, 1.0])
    # keeping one neighbour per item keeps only the item itself
    only_self = ItemKNNBaseline.from_clicks(users, items, num_rows=3, neighbors=1)
    assert only_self.score(hist, np.array([0, 0]), np.array([1, 0])) == pytest.approx([0.0, 2.0])


def test_popularity_baseline_ranks_by_training_counts():
    item = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2])
    click = np.array([1, 1, 1, 1, 0, 0, 0, 0, 1], dtype=float)
    conv = np.array([1, 1, 0, 0, 0, 0, 0, 0, 0], dtype=float)
    pop = PopularityBaseline.fit(item, click, conv, num_rows=3)
    assert pop.clicks[:3].tolist() == [3, 1, 1]
    assert pop.ctcvr_counts[:3].tolist() == [2, 0, 0]
    p_ctr, p_ctcvr = pop.predict(np.array([0, 1, 2]))
    assert p_ctr[0] > p_ctr[1] == pytest.approx(p_ctr[2])
    assert np.all((p_ctcvr > 0) & (p_ctcvr < 1)) and p_ctcvr[0] > p_ctcvr[1]


def _metrics(sim, pop, pop_ci, knn, knn_ci):
    return {"simulator": {"ctcvr": {"auc": sim}}, "popularity": {"ctcvr": {"auc": pop}},
            "item_knn": {"ctcvr": {"auc": knn}},
            "margins": {"ctcvr_auc_vs_popularity": {"margin": sim - pop, "ci95_low": pop_ci[0], "ci95_high": pop_ci[1]},
                        "ctcvr_auc_vs_item_knn": {"margin": sim - knn, "ci95_low": knn_ci[0], "ci95_high": knn_ci[1]}}}


def test_beats_only_when_the_ci_excludes_zero():
    assert margin_verdict({"margin": 0.05, "ci95_low": 0.01, "ci95_high": 0.09}) == "beats"
    assert margin_verdict({"margin": 0.001, "ci95_low": -0.012, "ci95_high": 0.012}) == "tie"
    assert margin_verdict({"margin": -0.023, "ci95_low": -0.04, "ci95_high": -0.005}) == "beaten"
    assert margin_verdict({"margin": 0.2, "ci95_low": float("nan"), "ci95_high": float("nan")}) == "no_ci"
    assert margin_verdict({"margin": 0.2, "ci95_low": None, "ci95_high": None}) == "no_ci"  # NaN after JSON


def test_a_baseline_that_beats_or_ties_the_simulator_is_warned_about():
    """Issue 14 finding 15, the unseen dataset: 0.520 vs popularity 0.519 with CI [-0.012, 0.012], and
    item-kNN 0.629 above the simulator's 0.606."""
    warnings = baseline_warnings(_metrics(0.520, 0.519, (-0.012, 0.012), 0.606 + 0.023, (-0.04, -0.005)))
    assert len(warnings) == 2
    tie, beaten = warnings
    assert "does not beat the popularity baseline" in tie and "CI spans 0" in tie
    assert "item-kNN baseline BEATS the simulator" in beaten and "noise" in beaten
    assert "simulator.rebuild=true" in beaten
    assert baseline_warnings(_metrics(0.7, 0.6, (0.05, 0.15), 0.65, (0.01, 0.09))) == []
