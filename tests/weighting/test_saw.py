"""SAW (arXiv 2606.07705): batch coefficient-of-variation weights, on rewards or on advantages."""

import math

import pytest
import torch

from rlrec.config import WeightingConfig
from rlrec.weighting import build_strategy
from rlrec.weighting.maths import normalize_simplex, popo_light_weights
from rlrec.weighting.strategies._combine import gdpo_advantages

REWARDS = torch.tensor([[1.0, 2.0], [0.0, 2.0], [1.0, 2.0], [0.0, 4.0]])  # N = 4 rows, G = 2


def test_saw_weights_by_hand():
    # r0 = 1,0,1,0: mean 0.5, unbiased std sqrt(1/3) -> CV 1.1547; r1 = 2,2,2,4: mean 2.5, std 1 -> CV 0.4
    cv = [math.sqrt(1 / 3) / (0.5 + 1e-8), 1.0 / (2.5 + 1e-8)]
    expected = [2 * c / (sum(cv) + 1e-8) for c in cv]  # ≈ [1.4855, 0.5145], sums to K = 2
    strategy = build_strategy(WeightingConfig(name="saw"), ["r0", "r1"])
    metrics = strategy.observe_rewards(REWARDS, num_generations=2)
    assert metrics["saw/cv_weight/r0"] == pytest.approx(expected[0], rel=1e-6)
    assert (2 * strategy.weights()).tolist() == pytest.approx([1.4855, 0.5145], abs=1e-4)  # on the simplex
    assert metrics["saw/degenerate"] == 0.0
    assert strategy.advantages(REWARDS, 2) is None  # level=reward: TRL's GRPO advantage of Σ w_k r_k


def test_saw_differs_from_popo_light_by_its_batch_statistics():
    # POPO-light pools the within-group spread: r0's groups (1,0), (1,0) -> σ = sqrt(0.5), CV = 1.414 (not 1.155);
    # r1's groups (2,2), (2,4) -> σ = sqrt(1), mean 2.5 -> CV 0.4
    light = normalize_simplex(popo_light_weights(REWARDS, 2, eps=1e-3).double())
    cv_light = [math.sqrt(0.5) / (0.5 + 1e-3), 1.0 / (2.5 + 1e-3)]
    assert light.tolist() == pytest.approx([c / sum(cv_light) for c in cv_light], rel=1e-6)
    saw = build_strategy(WeightingConfig(name="saw"), ["r0", "r1"])
    saw.observe_rewards(REWARDS, 2)
    assert saw.weights().tolist() != pytest.approx(light.tolist(), abs=1e-3)


def test_saw_offsets_shift_the_mean():
    strategy = build_strategy(WeightingConfig(name="saw", params={"offsets": [3.0, 0.0]}), ["r0", "r1"])
    strategy.observe_rewards(REWARDS, 2)
    cv = [math.sqrt(1 / 3) / 3.5, 1.0 / 2.5]
    assert strategy.weights().tolist() == pytest.approx([c / sum(cv) for c in cv], rel=1e-6)


def test_saw_advantage_level_is_gdpo_with_saw_weights():
    strategy = build_strategy(WeightingConfig(name="saw", params={"level": "advantage"}), ["r0", "r1"])
    strategy.observe_rewards(REWARDS, 2)
    got = strategy.advantages(REWARDS, 2)
    assert got.tolist() == pytest.approx(gdpo_advantages(REWARDS, 2, strategy.weights()).tolist())
    assert got.tolist() != pytest.approx(gdpo_advantages(REWARDS, 2, torch.tensor([0.5, 0.5])).tolist(), abs=1e-3)


def test_saw_keeps_weights_when_nothing_varies_and_checks_params():
    strategy = build_strategy(WeightingConfig(name="saw", initial_weights=[0.2, 0.8]), ["r0", "r1"])
    assert strategy.observe_rewards(torch.ones(4, 2), 2)["saw/degenerate"] == 1.0
    assert strategy.weights().tolist() == pytest.approx([0.2, 0.8])
    with pytest.raises(ValueError, match="level"):
        build_strategy(WeightingConfig(name="saw", params={"level": "token"}), ["r0", "r1"])
