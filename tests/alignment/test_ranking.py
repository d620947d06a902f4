"""F1@K / NDCG@K against hand-computed rankings (seed 003 §5.2)."""

import math

import numpy as np
import pytest

from rlrec.alignment.ranking import (
    RankingGroup,
    evaluate_ranking,
    f1_at_k,
    ndcg_at_k,
    pair_accuracy,
    rank_order,
    relevant_set,
)

TRUE = np.array([0.9, 0.1, 0.5, 0.3])


def test_relevant_set_includes_ties_at_the_cutoff():
    assert relevant_set(TRUE, 2).tolist() == [True, False, True, False]
    assert relevant_set(np.array([0.5, 0.5, 0.5, 0.1]), 2).tolist() == [True, True, True, False]
    assert relevant_set(TRUE, 10).all()  # K > N: everything is relevant


def test_f1_at_k_hand_computed():
    # top-2 of the model = {0, 3}; relevant = {0, 2}: 1 hit, P = R = 1/2
    assert f1_at_k(np.array([0, 3, 2, 1]), TRUE, 2) == pytest.approx(0.5)
    assert f1_at_k(np.array([2, 0, 3, 1]), TRUE, 2) == pytest.approx(1.0)
    assert f1_at_k(np.array([1, 3, 0, 2]), TRUE, 2) == 0.0
    # ties: relevant = {0, 1, 2}; top-2 = {3, 0}: P = 1/2, R = 1/3, F1 = 2 * (1/6) / (5/6) = 0.4
    assert f1_at_k(np.array([3, 0, 1, 2]), np.array([0.5, 0.5, 0.5, 0.1]), 2) == pytest.approx(0.4)


def test_ndcg_at_k_hand_computed():
    dcg = 0.9 / math.log2(2) + 0.3 / math.log2(3)
    idcg = 0.9 / math.log2(2) + 0.5 / math.log2(3)
    assert ndcg_at_k(np.array([0, 3, 2, 1]), TRUE, 2) == pytest.approx(dcg / idcg)
    assert ndcg_at_k(np.array([0, 2, 3, 1]), TRUE, 4) == pytest.approx(1.0)
    assert math.isnan(ndcg_at_k(np.array([0, 1]), np.zeros(2), 2))


def test_rank_order_breaks_ties_randomly_only_with_an_rng():
    assert rank_order(np.array([0.2, 0.9, 0.2, 0.5])).tolist() == [1, 3, 0, 2]
    orders = {tuple(rank_order(np.zeros(4), np.random.default_rng(s))) for s in range(20)}
    assert len(orders) > 1


def _group(true):
    true = np.asarray(true, dtype=float)
    return RankingGroup(("a", "b"), tuple(f"c{i}" for i in range(len(true))), true)


def test_evaluate_ranking_perfect_model_and_random_baseline():
    groups = [_group(TRUE), _group([0.0, 0.2, 0.4, 0.6, 0.8])]
    report = evaluate_ranking(groups, [g.true_scores * 2 for g in groups], k=2, random_draws=4000, seed=0)
    assert report.f1 == pytest.approx(1.0) and report.ndcg == pytest.approx(1.0)
    # random F1@2 with N=4, |relevant|=2: E[hits]/2 = (4/6 * 1 + 1/6 * 2) / 2 = 0.5; N=5: E[hits] = 2*2/5 → 0.4
    assert report.random_f1 == pytest.approx((0.5 + 0.4) / 2, abs=0.02)
    assert report.groups == 2 and report.skipped_zero_gain == 0


def test_constant_scorer_scores_like_random():
    rng = np.random.default_rng(1)
    groups = [_group(rng.random(6)) for _ in range(400)]
    report = evaluate_ranking(groups, [np.zeros(6) for _ in groups], k=2, random_draws=5, seed=0)
    assert report.f1 == pytest.approx(report.random_f1, abs=0.04)
    assert report.ndcg == pytest.approx(report.random_ndcg, abs=0.04)


def test_evaluate_ranking_rejects_mismatched_inputs():
    with pytest.raises(ValueError, match="no ranking groups"):
        evaluate_ranking([], [], k=2)
    with pytest.raises(ValueError, match="3 predictions for 4 candidates"):
        evaluate_ranking([_group(TRUE)], [np.zeros(3)], k=2)


def test_pair_accuracy_hand_computed():
    # true 0.9 > 0.5 > 0.3 > 0.1 (indices 0, 2, 3, 1); pred swaps the middle pair (2, 3): 5 of 6 pairs right
    assert pair_accuracy(np.array([4.0, 1.0, 2.0, 3.0]), TRUE) == (5.0, 6)
    # equal true scores are not pairs; a predicted tie counts half
    assert pair_accuracy(np.array([1.0, 1.0, 0.0]), np.array([0.2, 0.1, 0.1])) == (1.5, 2)
    report = evaluate_ranking([_group(TRUE)], [np.zeros(4)], k=2, random_draws=2)
    assert report.pair_accuracy == 0.5
