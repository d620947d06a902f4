"""MO-GRPO (arXiv 2509.22047): Σ_k of per-reward group z-scores; invariant to each reward's scale."""

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
