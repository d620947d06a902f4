"""Lu et al.'s hypervolume-guided meta-reward 0.5 + 1.5·tanh(ΔHV) (arXiv 2509.11452)."""

import math

import pytest
import torch

from rlrec.config import WeightingConfig
from rlrec.weighting import build_strategy
from rlrec.weighting.strategies._combine import hypervolume_contribution


def batch(mean0: float, mean1: float) -> torch.Tensor:
    """Four rows whose per-reward means are (mean0, mean1)."""
    return torch.tensor([[mean0 - 0.1, mean1 + 0.1], [mean0 + 0.1, mean1 - 0.1]] * 2)


def test_meta_reward_sequence_by_hand():
    strategy = build_strategy(WeightingConfig(name="hv_guided"), ["r0", "r1"])
    # batch 1: the pre-RL score (0.2, 0.5) becomes the reference; m stays 1
    assert strategy.observe_rewards(batch(0.2, 0.5), 2)["hv_guided/meta_reward"] == 1.0
    assert strategy.reference == pytest.approx([0.2, 0.5])
    # batch 2: (0.4, 0.7) adds a 0.2 x 0.2 box
    m = strategy.observe_rewards(batch(0.4, 0.7), 2)
    assert m["hv_guided/delta_hv"] == pytest.approx(0.04)
    assert strategy.meta_reward == pytest.approx(0.5 + 1.5 * math.tanh(0.04))
    assert strategy.weights().tolist() == pytest.approx([0.5 * strategy.meta_reward] * 2, rel=1e-6)
    # batch 3: (0.3, 0.9): union area 0.04 + 0.1 x 0.4 - 0.1 x 0.2 overlap = 0.06 -> ΔHV = 0.02
    strategy.observe_rewards(batch(0.3, 0.9), 2)
    assert strategy.meta_reward == pytest.approx(0.5 + 1.5 * math.tanh(0.02), rel=1e-6)
    # batch 4: (0.35, 0.6) is dominated: ΔHV = 0, m = 0.5, the front keeps two points
    strategy.observe_rewards(batch(0.35, 0.6), 2)
    assert strategy.meta_reward == pytest.approx(0.5) and len(strategy.front) == 2
    # checkpoint round trip
    again = build_strategy(WeightingConfig(name="hv_guided"), ["r0", "r1"])
    again.load_state_dict(strategy.state_dict())
    assert again.front == strategy.front and again.meta_reward == strategy.meta_reward


def test_fixed_reference_and_points_that_do_not_dominate_it():
    strategy = build_strategy(WeightingConfig(name="hv_guided", params={"reference": [0.0, 0.0]}), ["r0", "r1"])
    strategy.observe_rewards(batch(0.5, 0.5), 2)  # the first batch is already scored against the given reference
    assert strategy.meta_reward == pytest.approx(0.5 + 1.5 * math.tanh(0.25))
    assert hypervolume_contribution([], [0.5, -0.1], [0.0, 0.0]) == 0.0
    with pytest.raises(ValueError, match="reference"):
        build_strategy(WeightingConfig(name="hv_guided", params={"reference": [0.0]}), ["r0", "r1"])
