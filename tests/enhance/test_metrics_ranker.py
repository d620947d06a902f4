"""Weighted / grouped AUC and log-loss against sklearn and hand counts; the ranker learns what only an enhancement
carries."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import log_loss, roc_auc_score

from rlrec.enhance.metrics import metric_replicates, resample_counts, score_variants, weighted_auc
from rlrec.enhance.ranker import EnhancedRanker, RankerInputs, predict, train_ranker


def test_weighted_auc_equals_sklearn_with_sample_weights_and_ties():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300).astype(float)
    p = np.round(rng.random(300) + 0.3 * y, 1)  # rounded: many ties
    w = rng.integers(0, 4, (3, 300)).astype(float)
    ours = weighted_auc(y, p, w)
    for r in range(3):
        assert ours[r] == pytest.approx(roc_auc_score(y, p, sample_weight=w[r]), abs=1e-12)
    assert np.isnan(weighted_auc(np.ones(4), np.arange(4.0), np.ones((1, 4))))[0]


def test_gauc_and_logloss_by_hand():
    # user 0: perfectly ranked (AUC 1), 4 rows; user 1: reversed (AUC 0), 2 rows; user 2: one class only (left out)
    y = np.array([1, 1, 0, 0, 1, 0, 1.0])
    p = np.array([0.9, 0.8, 0.2, 0.1, 0.3, 0.7, 0.5])
    users = np.array([0, 0, 0, 0, 1, 1, 2])
    counts = np.array([[1.0, 1, 1], [2, 1, 0]])
    out = metric_replicates(y, y, p, p, users, counts)
    assert out["CTR_GAUC"][0] == pytest.approx((4 * 1 + 2 * 0) / 6)
    assert out["CTR_GAUC"][1] == pytest.approx((2 * 4 * 1) / (2 * 4 + 2))
    assert out["CTR_LogLoss"][0] == pytest.approx(log_loss(y, p))
    assert out["CTR_AUC"][0] == pytest.approx(roc_auc_score(y, p))
    assert out["CTR_AUC"][1] == pytest.approx(roc_auc_score(y, p, sample_weight=counts[1][users]))


def test_paired_deltas_of_identical_variants_are_exactly_zero():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 200).astype(float)
    users = rng.integers(0, 20, 200)
    p = rng.random(200)
    counts = resample_counts(20, 30, seed=0)
    assert counts.shape == (31, 20) and (counts[0] == 1).all() and (counts[1:].sum(1) == 20).all()
    metrics, deltas = score_variants(y, y, {"baseline": [(p, p)], "same": [(p, p)], "better": [(y * 0.5 + p * 0.5,) * 2]},
                                     users, counts, "baseline", 0.95)
    assert all(d.value == 0 and d.ci_low == 0 and d.ci_high == 0 for d in deltas["same"].values())
    assert deltas["better"]["CTR_AUC"].ci_low > 0 and metrics["better"]["CTR_AUC"].n == 20


def _toy_rows(n=3000, seed=0):
    """Clicks decided by the PQ code (code 0 of sub-space 0 → click) and by the target's presence in the cross
    sequence; the item, its categories and the own history carry nothing."""
    rng = np.random.default_rng(seed)
    item = torch.from_numpy(rng.integers(2, 20, n))
    codes = torch.from_numpy(rng.integers(0, 4, (n, 2)))
    cross = torch.from_numpy(rng.integers(2, 20, (n, 5)))
    in_cross = (cross == item[:, None]).any(1)
    click = ((codes[:, 0] == 0) | in_cross).float().numpy()
    x = RankerInputs(item=item, categories=torch.zeros((n, 1), dtype=torch.long), profile=torch.zeros((n, 0), dtype=torch.long),
                     own=torch.from_numpy(rng.integers(0, 20, (n, 4))), cross=cross, codes=codes)
    return x, click


@pytest.fixture()
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small batches: threads only add overhead (and the CPU is shared)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("pq,cross", [(False, False), (True, False), (False, True)])
def test_ranker_learns_what_its_enhancement_carries(pq, cross, one_thread):
    x, click = _toy_rows()
    if not pq:
        x.codes = None
    if not cross:
        x.cross = None
    torch.manual_seed(0)
    model = EnhancedRanker(20, [1], [], dim=8, hidden=[16], attention_hidden=8, codebook=(2, 4) if pq else None,
                           cross=cross)
    train, test = torch.arange(2000), torch.arange(2000, 3000)
    losses = train_ranker(model, x.take(train), click[:2000], click[:2000] * 0, epochs=5, batch_size=128,
                          learning_rate=0.01, weight_decay=0.0, seed=0)
    assert losses[-1] < losses[0]
    p_ctr, p_ctcvr = predict(model, x.take(test))
    assert p_ctcvr.max() <= p_ctr.max() <= 1.0
    auc = roc_auc_score(click[2000:], p_ctr)
    if pq or cross:
        assert auc > 0.7  # the enhancement's signal is learnt
    else:
        assert auc < 0.6  # nothing in the baseline's inputs predicts a click
