"""DVAO (arXiv 2605.25604, reconstructed from the abstract): per-group variance weights on per-reward z-scores."""

import math

import pytest
import torch

from rlrec.config import WeightingConfig
from rlrec.weighting import build_strategy


def test_dvao_advantages_by_hand():
    # group 1: r0 = (1, 0) var 0.5, r1 = (0, 2) var 2 -> λ = (0.5·0.5, 0.5·2) / 1.25 = (0.2, 0.8)
    # group 2: r0 = (1, 1) var 0,   r1 = (1, 3) var 2 -> λ = (0, 1)
    rewards = torch.tensor([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0], [1.0, 3.0]])
    strategy = build_strategy(WeightingConfig(name="dvao"), ["r0", "r1"])
    metrics = strategy.observe_rewards(rewards, num_generations=2)
    assert metrics["dvao/lambda/r0"] == pytest.approx(0.1) and metrics["dvao/lambda/r1"] == pytest.approx(0.9)
    z_half = 0.5 / (math.sqrt(0.5) + 1e-4)  # |z| of a 2-value group with gap 1
    z_one = 1.0 / (math.sqrt(2.0) + 1e-4)  # |z| of a 2-value group with gap 2
    expected = [0.2 * z_half - 0.8 * z_one, -0.2 * z_half + 0.8 * z_one, -z_one, z_one]
    got = strategy.advantages(rewards, 2)
    assert got.tolist() == pytest.approx(expected, abs=1e-6)
    assert got.tolist() == pytest.approx([-0.42424, 0.42424, -0.70706, 0.70706], abs=1e-4)


def test_dvao_group_without_spread_has_zero_advantage_and_target_weights_matter():
    rewards = torch.tensor([[1.0, 2.0], [1.0, 2.0], [1.0, 0.0], [0.0, 2.0]])
    even = build_strategy(WeightingConfig(name="dvao"), ["r0", "r1"]).advantages(rewards, 2)
    assert even[:2].tolist() == [0.0, 0.0]
    skew = build_strategy(WeightingConfig(name="dvao", initial_weights=[0.9, 0.1]), ["r0", "r1"]).advantages(rewards, 2)
    # λ = (0.9·0.5, 0.1·2) / 0.65 for group 2
    z_half, z_one = 0.5 / (math.sqrt(0.5) + 1e-4), 1.0 / (math.sqrt(2.0) + 1e-4)
    assert skew[2].item() == pytest.approx((0.45 * z_half - 0.2 * z_one) / 0.65, abs=1e-6)
