"""MO-GRPO (arXiv 2509.22047): Σ_k of per-reward group z-scores, no batch step; invariant to each reward's affine scale."""

import math

import pytest
import torch

from rlrec.config import WeightingConfig
from rlrec.weighting import build_strategy
from rlrec.weighting.advantages import advantage_moments, combined_advantages


def test_mo_grpo_advantages_by_hand():
    rewards = torch.tensor([[1.0, 2.0], [0.0, 0.0], [1.0, 1.0], [1.0, 3.0]])
    strategy = build_strategy(WeightingConfig(name="mo_grpo"), ["r0", "r1"])
    z_half, z_one = 0.5 / (math.sqrt(0.5) + 1e-4), 1.0 / (math.sqrt(2.0) + 1e-4)
    expected = [z_half + z_one, -z_half - z_one, -z_one, z_one]  # group 2's r0 does not vary: z = 0
    got = strategy.advantages(rewards, num_generations=2)
    assert got.tolist() == pytest.approx(expected, abs=1e-6)
    assert got.tolist() == pytest.approx([1.41407, -1.41407, -0.70706, 0.70706], abs=1e-4)


def test_mo_grpo_ignores_reward_scale_where_grpo_does_not():
    g = torch.Generator().manual_seed(0)
    rewards = torch.rand(8, 2, generator=g)
    scaled = rewards * torch.tensor([1.0, 100.0])
    strategy = build_strategy(WeightingConfig(name="mo_grpo"), ["r0", "r1"])
    assert strategy.advantages(scaled, 4).tolist() == pytest.approx(strategy.advantages(rewards, 4).tolist(), abs=1e-3)
    w = torch.tensor([0.5, 0.5])
    grpo = combined_advantages(*vars(advantage_moments(rewards, 4)).values(), w)
    grpo_scaled = combined_advantages(*vars(advantage_moments(scaled, 4)).values(), w)
    assert grpo.tolist() != pytest.approx(grpo_scaled.tolist(), abs=1e-2)  # GRPO follows the large reward


def test_mo_grpo_three_rollouts_weights_and_nan_by_hand():
    # group 1: r0 = (0, 1, 2): mean 1, unbiased std 1;  r1 = (10, 10, 40): mean 20, std sqrt(300)
    # group 2: r0 = (1, 3, 5): mean 3, std 2;  r1 = (NaN, 5, 7): mean 6, std sqrt(2) over the valid two, 0 where NaN
    nan = float("nan")
    rewards = torch.tensor([[0.0, 10.0], [1.0, 10.0], [2.0, 40.0], [1.0, nan], [3.0, 5.0], [5.0, 7.0]])
    z0 = [-1 / 1.0001, 0.0, 1 / 1.0001, -2 / 2.0001, 0.0, 2 / 2.0001]
    s = math.sqrt(300) + 1e-4
    t = math.sqrt(2) + 1e-4
    z1 = [-10 / s, -10 / s, 20 / s, 0.0, -1 / t, 1 / t]
    even = build_strategy(WeightingConfig(name="mo_grpo"), ["r0", "r1"]).advantages(rewards, 3)
    assert even.tolist() == pytest.approx([a + b for a, b in zip(z0, z1)], abs=1e-6)
    assert even[:3].tolist() == pytest.approx([-1.577247, -0.577347, 2.154594], abs=1e-5)
    skew = build_strategy(WeightingConfig(name="mo_grpo", initial_weights=[0.75, 0.25]), ["r0", "r1"])
    # A = K Σ_k w_k z_k = 2 (0.75 z0 + 0.25 z1)
    assert skew.advantages(rewards, 3).tolist() == pytest.approx([1.5 * a + 0.5 * b for a, b in zip(z0, z1)], abs=1e-6)


def test_mo_grpo_affine_invariant_and_without_batch_step():
    g = torch.Generator().manual_seed(1)
    rewards = torch.rand(8, 2, generator=g)
    strategy = build_strategy(WeightingConfig(name="mo_grpo"), ["r0", "r1"])
    moved = rewards * torch.tensor([3.0, 2.0]) + torch.tensor([-2.0, 7.0])  # positive affine change per reward
    assert strategy.advantages(moved, 4).tolist() == pytest.approx(strategy.advantages(rewards, 4).tolist(), abs=1e-3)
    # no normalisation over the batch: one group's advantages do not depend on another group's rewards
    other = rewards.clone()
    other[4:] = other[4:] * 10.0 + 1.0
    other[4, 0] = 5.0
    assert strategy.advantages(other, 4)[:4].tolist() == strategy.advantages(rewards, 4)[:4].tolist()
