"""Hold-out metrics and baselines against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rlrec.simulator.evaluation import (
    ItemKNNBaseline,
    PopularityBaseline,
    auc,
    bootstrap_auc_margin,
    ece,
    log_loss,
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
