"""Eq. 5, 6, 7 against hand-computed numbers; NaN, zero variance, reward order, overflow."""

from __future__ import annotations

import math

import pytest
import torch

from rlrec.weighting.maths import (
    gradient_cosines,
    gram_matrix,
    influence,
    normalize_simplex,
    pooled_group_stats,
    popo_light_weights,
    popo_log_update,
    smooth_toward_uniform,
)

NAN = float("nan")
# B = 2 groups of G = 2; reward a: groups [1, 3] and [2, 2]; reward b: [0, 2] and [4, NaN]
REWARDS = torch.tensor([[1.0, 0.0], [3.0, 2.0], [2.0, 4.0], [2.0, NAN]])


def test_pooled_group_stats_by_hand():
    mean, std = pooled_group_stats(REWARDS, num_generations=2)
    # a: group means 2, 2 -> mu 2; unbiased variances 2, 0 -> sigma sqrt(1)
    # b: group means 1, 4 -> mu 2.5; variances 2 and (one valid value: excluded) -> sigma sqrt(2)
    assert mean.tolist() == pytest.approx([2.0, 2.5])
    assert std.tolist() == pytest.approx([1.0, math.sqrt(2.0)])


def test_popo_light_eq7_by_hand():
    w_tilde = popo_light_weights(REWARDS, num_generations=2, eps=0.5)
    assert w_tilde.tolist() == pytest.approx([1.0 / 2.5, math.sqrt(2.0) / 3.0])
    w = normalize_simplex(w_tilde)
    assert w.tolist() == pytest.approx([0.459029, 0.540971], abs=1e-6)
    assert float(w.sum()) == pytest.approx(1.0)


def test_popo_light_zero_variance_and_all_nan_get_zero_weight():
    rewards = torch.tensor([[1.0, NAN, 0.2], [1.0, NAN, 0.8], [1.0, NAN, 0.4], [1.0, NAN, 0.4]])
    w_tilde = popo_light_weights(rewards, num_generations=2, eps=1e-3)
    assert w_tilde[0] == 0.0 and w_tilde[1] == 0.0 and w_tilde[2] > 0  # saturated, not applicable, informative
    assert normalize_simplex(w_tilde).tolist() == pytest.approx([0.0, 0.0, 1.0])
    constant = torch.ones(4, 2)
    assert normalize_simplex(popo_light_weights(constant, 2, 1e-3)) is None  # no information: no division error


def test_popo_light_zero_mean_is_finite():
    rewards = torch.tensor([[-1.0, 1.0], [1.0, 2.0]])  # reward a: mean 0, std sqrt(2)
    w_tilde = popo_light_weights(rewards, num_generations=2, eps=1e-3)
    assert torch.isfinite(w_tilde).all() and w_tilde[0] == pytest.approx(math.sqrt(2.0) / 1e-3)


def test_popo_light_invariant_to_reward_order():
    torch.manual_seed(0)
    rewards = torch.rand(12, 3)
    rewards[2, 1] = NAN
    perm = [2, 0, 1]
    w = normalize_simplex(popo_light_weights(rewards, 4, 1e-3))
    w_perm = normalize_simplex(popo_light_weights(rewards[:, perm], 4, 1e-3))
    torch.testing.assert_close(w_perm, w[perm])


def test_influence_eq6_is_gram_times_ones():
    g = torch.tensor([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0], [1.0, 1.0, 0.0]])  # K = 3 gradients over P = 3
    gram = gram_matrix([g])
    assert gram.tolist() == [[1, 0, 1], [0, 4, 2], [1, 2, 2]]
    explicit = torch.stack([g[i] @ g.sum(dim=0) for i in range(3)]).double()  # <g_i, sum_k g_k>
    assert influence(gram).tolist() == explicit.tolist() == [2.0, 6.0, 5.0]


def test_gram_accumulates_over_parameter_tensors():
    torch.manual_seed(1)
    grads = [torch.randn(2, 3, 4), torch.randn(2, 5)]  # two parameters, K = 2
    flat = torch.cat([g.reshape(2, -1) for g in grads], dim=1).double()
    torch.testing.assert_close(gram_matrix(grads), flat @ flat.T)
    torch.testing.assert_close(gram_matrix(grads, chunk=4), flat @ flat.T)  # chunked float64 accumulation


def test_popo_eq5_by_hand():
    gram = torch.tensor([[4.0, 1.0], [1.0, 1.0]], dtype=torch.float64)  # I = [5, 2]
    log_w = torch.tensor([0.5, 0.5], dtype=torch.float64).log()
    log_w = popo_log_update(log_w, influence(gram), eta=0.1, mu=0.5)  # steps 1.0, 0.4
    # w~ = 0.5 e^1, 0.5 e^0.4 -> w = 1.35914 / (1.35914 + 0.74591)
    assert log_w.exp().tolist() == pytest.approx([0.645656, 0.354344], abs=1e-6)
    log_w = popo_log_update(log_w, influence(gram), eta=0.1, mu=0.5)  # ratio e^1.2 after two steps
    assert log_w.exp()[0].item() == pytest.approx(1.0 / (1.0 + math.exp(-1.2)))
    assert torch.logsumexp(log_w, 0).item() == pytest.approx(0.0, abs=1e-12)  # state stays normalised


def test_popo_clip_and_smoothing_by_hand():
    log_w = torch.tensor([0.5, 0.5], dtype=torch.float64).log()
    clipped = popo_log_update(log_w, torch.tensor([5.0, 2.0]), eta=0.1, mu=0.5, clip=0.5)  # steps 0.5, 0.4
    assert clipped.exp()[0].item() == pytest.approx(1.0 / (1.0 + math.exp(-0.1)))
    w = torch.tensor([0.645656, 0.354344])
    assert smooth_toward_uniform(w, 0.1).tolist() == pytest.approx([0.631090, 0.368910], abs=1e-6)
    assert smooth_toward_uniform(w, 0.0).tolist() == w.tolist()


def test_popo_log_space_never_overflows():
    log_w = torch.zeros(2, dtype=torch.float64)
    for _ in range(100):
        log_w = popo_log_update(log_w, torch.tensor([1e6, -1e6]), eta=1.0, mu=1e-3)
    w = log_w.exp()
    assert torch.isfinite(log_w).all() and w.tolist() == pytest.approx([1.0, 0.0])


def test_popo_rejects_non_positive_mu():
    with pytest.raises(ValueError, match="mu must be > 0"):
        popo_log_update(torch.zeros(2), torch.zeros(2), eta=1.0, mu=0.0)


def test_gradient_cosines():
    gram = torch.tensor([[1.0, 0.0, 1.0], [0.0, 4.0, 2.0], [1.0, 2.0, 2.0]], dtype=torch.float64)
    cos = gradient_cosines(gram)
    assert cos[0, 2].item() == pytest.approx(1.0 / math.sqrt(2.0))
    assert cos[1, 2].item() == pytest.approx(2.0 / (2.0 * math.sqrt(2.0)))
    zero = gradient_cosines(torch.tensor([[0.0, 0.0], [0.0, 1.0]], dtype=torch.float64))
    assert zero.tolist() == [[0.0, 0.0], [0.0, 1.0]]
