"""Collective feedback: aggregation, post-processing (filter, normalise, round), pairs, export — by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rlrec.simulator.feedback import (
    CollectiveFeedback,
    FeedbackPoint,
    Transition,
    aggregate,
    export_feedback,
    load_feedback,
    log_minmax,
    minmax,
    pairwise,
    postprocess,
    rank,
    round_to_interval,
)
from rlrec.simulator.serving import cluster_pools, top_n_mean

NAMES = ["c0", "c1", "c2", "c3", "c4"]


def test_aggregate_means_over_users_then_users():
    contexts = [(0, 1), (0, 1), (0, 1), (0, 1), (1, 2)]
    nexts = [2, 2, 2, 3, 0]
    users = ["a", "a", "b", "a", "c"]
    scores = np.array([0.1, 0.3, 0.6, 0.5, 0.2])
    out = {(t.context_ids, t.next_id): t for t in aggregate(contexts, nexts, users, scores)}
    # user a: mean(0.1, 0.3) = 0.2; user b: 0.6 → mean over users 0.4
    assert out[((0, 1), 2)] == Transition((0, 1), 2, pytest.approx(0.4), 2, 3)
    assert out[((0, 1), 3)] == Transition((0, 1), 3, pytest.approx(0.5), 1, 1)
    assert out[((1, 2), 0)].support == 1


def test_normalisers_and_rounding():
    x = np.array([0.001, 0.1, 0.5])
    span = math.log(0.5) - math.log(0.001)
    assert log_minmax(x) == pytest.approx([0.0, (math.log(0.1) - math.log(0.001)) / span, 1.0])
    assert minmax(x) == pytest.approx([0.0, 0.099 / 0.499, 1.0])
    assert rank(np.array([0.3, 0.1, 0.2])) == pytest.approx([1.0, 0.0, 0.5])
    assert minmax(np.array([0.2, 0.2])).tolist() == [0.5, 0.5]
    assert round_to_interval(np.array([0.124, 0.126, 0.99, 1.2]), 0.05).tolist() == [0.1, 0.15, 1.0, 1.0]
    assert round_to_interval(np.array([0.123]), 0.0).tolist() == [0.123]


def test_postprocess_filters_then_normalises_then_rounds():
    transitions = [
        Transition((0, 1), 2, 0.001, 5, 9),
        Transition((0, 1), 3, 0.01, 1, 1),  # support 1 < 2: dropped before normalising
        Transition((0, 1), 4, 0.1, 5, 7),
        Transition((1, 2), 0, 0.5, 3, 3),
    ]
    points, counts = postprocess(transitions, NAMES, min_support=2, method="log_minmax", step=0.05)
    # log-min-max over {0.001, 0.1, 0.5}: 0, 4.6052 / 6.2146 = 0.741 → 0.75, 1
    assert [(p.next_id, p.score) for p in points] == [(2, 0.0), (4, 0.75), (0, 1.0)]
    assert counts == {"transitions": 4, "kept": 3, "dropped_low_support": 1}
    assert points[0].context_names == ("c0", "c1") and points[0].next_name == "c2"
    assert points[0].raw_score == 0.001 and points[0].support == 5 and points[0].impressions == 9


def _point(next_id: int, score: float, context=(0, 1)) -> FeedbackPoint:
    return FeedbackPoint(context, tuple(NAMES[c] for c in context), next_id, NAMES[next_id], score, score, 3, 3)


def test_pairwise_orders_by_score_and_skips_ties():
    points = [_point(1, 1.0), _point(2, 0.75), _point(3, 0.75), _point(4, 0.0), _point(0, 0.5, context=(2, 3))]
    pairs = pairwise(points, min_margin=0.05, max_pairs=20)
    assert [(p.preferred_id, p.rejected_id, p.margin) for p in pairs] == [
        (1, 4, 1.0), (2, 4, 0.75), (3, 4, 0.75), (1, 2, 0.25), (1, 3, 0.25)]  # 2 vs 3 tie: no pair
    assert pairwise(points, min_margin=0.5, max_pairs=20)[-1].margin == 0.75
    sampled = pairwise(points, min_margin=0.05, max_pairs=2, seed=0)
    assert len(sampled) == 2 and set(sampled) <= set(pairs)


def test_export_and_load_round_trip(tmp_path):
    points = [_point(1, 1.0), _point(4, 0.0)]
    pairs = pairwise(points, 0.05, 10)
    export_feedback(tmp_path, CollectiveFeedback(points, pairs, NAMES, {"context_len": 2}))
    lines = (tmp_path / "feedback" / "pointwise.jsonl").read_text().splitlines()
    assert len(lines) == 2 and '"context_ids": [0, 1]' in lines[0]
    loaded = load_feedback(tmp_path)
    assert loaded.pointwise == points and loaded.pairwise == pairs
    assert loaded.cluster_names == NAMES and loaded.meta == {"context_len": 2}


def test_load_feedback_names_missing_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="pointwise.jsonl"):
        load_feedback(tmp_path)


def test_cluster_pools_and_top_n_mean():
    labels = np.array([0, 1, 0, 0, 1])
    popularity = np.array([5.0, 1.0, 9.0, 5.0, 0.0])
    assert cluster_pools(labels, popularity, k=3, size=2).tolist() == [[2, 0], [1, 4], [-1, -1]]
    values = np.array([[0.1, 0.4, 0.3], [0.2, 0.9, 0.0]])
    valid = np.array([[True, True, True], [True, False, False]])
    assert top_n_mean(values, valid, 2) == pytest.approx([0.35, 0.2])
