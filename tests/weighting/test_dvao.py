"""DVAO (arXiv 2605.25604, Eq. 8): A = Σ_k w̃_k A^k, w̃_k = w_k σ_k / Σ_j w_j σ_j, population σ per group."""

import math

import pytest
import torch

from rlrec.config import WeightingConfig
from rlrec.weighting import build_strategy
from rlrec.weighting.strategies._combine import dvao_advantages, dvao_coefficients, group_population_std


def test_dvao_advantages_by_hand():
    # group 1: r0 = (1, 0): μ .5, σ .5;  r1 = (0, 2): μ 1, σ 1 (population std)
    #   w = (.5, .5): Σ w σ = .75, w̃ = (1/3, 2/3); row 0: A^0 = +1, A^1 = -1 -> A = 1/3 - 2/3 = -1/3
    # group 2: r0 = (1, 1): σ 0;  r1 = (1, 3): σ 1 -> w̃ = (0, 1); A = A^1 = ∓1
    rewards = torch.tensor([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0], [1.0, 3.0]])
    strategy = build_strategy(WeightingConfig(name="dvao"), ["r0", "r1"])
    metrics = strategy.observe_rewards(rewards, num_generations=2)
    assert metrics["dvao/lambda/r0"] == pytest.approx((1 / 3 + 0) / 2)
    assert metrics["dvao/lambda/r1"] == pytest.approx((2 / 3 + 1) / 2)
    assert strategy.advantages(rewards, 2).tolist() == pytest.approx([-1 / 3, 1 / 3, -1.0, 1.0], abs=1e-7)


def test_dvao_three_rollouts_with_base_weights_by_hand():
    # one group of G = 3, w = (0.8, 0.2)
    # r0 = (0, 1, 1): μ 2/3, deviations (-2/3, 1/3, 1/3), σ² = (4/9 + 1/9 + 1/9) / 3 = 2/9
    # r1 = (2, 0, 1): μ 1,   deviations (1, -1, 0),       σ² = 2/3
    rewards = torch.tensor([[0.0, 2.0], [1.0, 0.0], [1.0, 1.0]])
    strategy = build_strategy(WeightingConfig(name="dvao", initial_weights=[0.8, 0.2]), ["r0", "r1"])
    s0, s1 = math.sqrt(2 / 9), math.sqrt(2 / 3)
    denom = 0.8 * s0 + 0.2 * s1  # 0.540423
    expected = [(0.8 * -2 / 3 + 0.2 * 1) / denom, (0.8 / 3 - 0.2) / denom, (0.8 / 3) / denom]
    got = strategy.advantages(rewards, 3)
    assert got.tolist() == pytest.approx(expected, abs=1e-6)
    assert got.tolist() == pytest.approx([-0.616800, 0.123360, 0.493440], abs=1e-5)
    # the dynamic weights, and the paper's two-step form Σ_k w̃_k (r_k - μ_k) / σ_k gives the same advantage
    lam = dvao_coefficients(rewards, 3, torch.tensor([0.8, 0.2]), eps=1e-6)[0]
    assert lam.tolist() == pytest.approx([0.8 * s0 / denom, 0.2 * s1 / denom])
    two_step = lam[0] * torch.tensor([-2 / 3, 1 / 3, 1 / 3]) / s0 + lam[1] * torch.tensor([1.0, -1.0, 0.0]) / s1
    assert got.tolist() == pytest.approx(two_step.tolist(), abs=1e-6)


def test_dvao_weights_follow_std_not_variance_and_magnitude_is_bounded():
    g = torch.Generator().manual_seed(3)
    rewards = torch.rand(12, 3, generator=g, dtype=torch.float64) * torch.tensor([1.0, 5.0, 0.2], dtype=torch.float64)
    w = torch.tensor([0.2, 0.3, 0.5], dtype=torch.float64)
    sigma = group_population_std(rewards, 4)  # [3, 3]
    grouped = rewards.view(3, 4, 3)
    torch.testing.assert_close(sigma, grouped.std(dim=1, correction=0))
    lam = dvao_coefficients(rewards, 4, w, eps=1e-6)
    torch.testing.assert_close(lam, w * sigma / (w * sigma).sum(dim=1, keepdim=True))
    per_reward = (grouped - grouped.mean(dim=1, keepdim=True)) / sigma.unsqueeze(1)  # A^k, [B, G, K]
    advantage = dvao_advantages(rewards, 4, w, eps=1e-6).view(3, 4)
    torch.testing.assert_close(advantage, (per_reward * lam.unsqueeze(1)).sum(dim=2))
    assert (advantage.abs() <= per_reward.abs().amax(dim=2) + 1e-12).all()  # Σ_k w̃ = 1: a weighted mean of A^k


def test_dvao_degenerate_groups_nan_rewards_and_eps():
    rewards = torch.tensor([
        [1.0, 2.0], [1.0, 2.0], [1.0, 2.0],  # nothing varies: advantage 0, w̃ = 0
        [1.0, float("nan")], [0.0, 2.0], [0.0, 4.0],  # r1 NaN in row 3: left out of r1's μ = 3, σ = 1
        [float("nan"), float("nan")], [1.0, 0.0], [0.0, 0.0],  # unscorable row 6: advantage 0
    ])
    strategy = build_strategy(WeightingConfig(name="dvao"), ["r0", "r1"])
    got = strategy.advantages(rewards, 3)
    assert got[:3].tolist() == [0.0, 0.0, 0.0]
    denom = 0.5 * math.sqrt(2 / 9) + 0.5 * 1.0  # r0 = (1, 0, 0): σ² = 2/9
    assert got[3:6].tolist() == pytest.approx([0.5 * (2 / 3) / denom, (0.5 * -1 / 3 - 0.5) / denom, (0.5 * -1 / 3 + 0.5) / denom])
    assert got[6].item() == 0.0
    assert got[7:].tolist() == pytest.approx([1.0, -1.0])  # r0 = (1, 0): σ .5, r1 = (0, 0): σ 0 -> A = A^0
    assert torch.isfinite(got).all()
    # a denominator at or below eps counts as no variation
    tiny = torch.tensor([[0.0, 0.0], [1e-7, 0.0]])
    assert build_strategy(WeightingConfig(name="dvao"), ["r0", "r1"]).advantages(tiny, 2).tolist() == [0.0, 0.0]
    loose = build_strategy(WeightingConfig(name="dvao", params={"eps": 1e-9}), ["r0", "r1"])
    assert loose.advantages(tiny, 2).tolist() == pytest.approx([-1.0, 1.0])
    with pytest.raises(ValueError, match="eps must be > 0"):
        build_strategy(WeightingConfig(name="dvao", params={"eps": 0.0}), ["r0", "r1"])
