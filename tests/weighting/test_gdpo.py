"""GDPO as a strategy: per-reward group z-scores, weighted sum, batch normalisation (arXiv 2601.05242)."""

import math

import pytest
import torch

from rlrec.config import WeightingConfig
from rlrec.weighting import build_strategy


def _z(values):
    """TRL's group z-score of one reward: (r - mean) / (unbiased std + 1e-4)."""
    mean = sum(values) / len(values)
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))
    return [(v - mean) / (std + 1e-4) for v in values]


def test_gdpo_advantages_by_hand():
    # B = 2 groups of G = 2, K = 2 rewards, w = (0.75, 0.25)
    rewards = torch.tensor([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0], [1.0, 3.0]])
    strategy = build_strategy(WeightingConfig(name="gdpo", initial_weights=[0.75, 0.25]), ["r0", "r1"])
    z0 = _z([1.0, 0.0]) + _z([1.0, 1.0])  # group 2's r0 has no spread: z = 0
    z1 = _z([0.0, 2.0]) + _z([1.0, 3.0])
    s = [0.75 * a + 0.25 * b for a, b in zip(z0, z1)]  # ≈ [0.3535, -0.3535, -0.1768, 0.1768]
    mean = sum(s) / 4
    std = math.sqrt(sum((v - mean) ** 2 for v in s) / 3)
    expected = [(v - mean) / (std + 1e-4) for v in s]
    got = strategy.advantages(rewards, num_generations=2)
    assert got.tolist() == pytest.approx(expected, abs=1e-5)
    assert got.tolist() == pytest.approx([1.0951, -1.0951, -0.5476, 0.5476], abs=1e-3)
    # the weights never move
    strategy.observe_rewards(rewards, 2)
    assert strategy.weights().tolist() == pytest.approx([0.75, 0.25])


def test_gdpo_unscorable_row_gets_zero_advantage():
    nan = float("nan")
    rewards = torch.tensor([[1.0, 0.0], [0.0, 2.0], [nan, nan], [1.0, 3.0]])
    got = build_strategy(WeightingConfig(name="gdpo"), ["r0", "r1"]).advantages(rewards, 2)
    assert got[2].item() == 0.0 and torch.isfinite(got).all()
