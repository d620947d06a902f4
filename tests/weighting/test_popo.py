"""POPO's two step forms (issue 15 #1), by hand: the literal Eq. 5 step η I / μ and the scale-free step
weight_lr · I / ‖Σ_k ∇L_k‖² (with its floor when the gradients nearly cancel), and what is logged each update."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from rlrec.weighting import Popo

NAMES = ["a", "b"]
GRAM = torch.tensor([[4.0, 1.0], [1.0, 1.0]])  # ‖g_a‖ = 2, ‖g_b‖ = 1, cos = 0.5; I = [5, 2], ‖g_a + g_b‖² = 7


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def test_scale_free_step_by_hand():
    s = Popo(NAMES, [0.5, 0.5], {"weight_lr": 0.7})
    metrics = s.observe_gram(GRAM, lr=123.0)  # the policy lr plays no part
    # Δ log w̃ = 0.7 · [5, 2] / 7 = [0.5, 0.2]; w_a = e^0.5 / (e^0.5 + e^0.2) = sigmoid(0.3)
    assert s.weights().tolist() == pytest.approx([_sigmoid(0.3), 1 - _sigmoid(0.3)], abs=1e-6)
    assert metrics["popo/step/a"] == pytest.approx(0.5) and metrics["popo/step/b"] == pytest.approx(0.2)
    assert metrics["popo/step_spread"] == pytest.approx(0.3)
    assert metrics["popo/eta"] == 0.7 and metrics["popo/mu"] == 7.0 and metrics["popo/grad_sum_sq"] == 7.0
    assert metrics["popo/grad_cosine/a__b"] == pytest.approx(0.5)
    assert metrics["popo/grad_norm/a"] == 2.0 and metrics["popo/influence/b"] == 2.0


def test_scale_free_step_does_not_depend_on_the_gradient_scale():
    """Multiplying every gradient by 1000 (a bigger model, a summed loss) leaves the scale-free step unchanged;
    the literal step grows 10^6-fold (here: from a barely visible move to a collapse onto one reward)."""
    free, free_big = Popo(NAMES, params={"weight_lr": 0.7}), Popo(NAMES, params={"weight_lr": 0.7})
    free.observe_gram(GRAM, lr=0.0)
    free_big.observe_gram(GRAM * 1e6, lr=0.0)
    torch.testing.assert_close(free_big.weights(), free.weights())
    literal, literal_big = Popo(NAMES, params={"mu": 1e-3, "eta": 1e-6}), Popo(NAMES, params={"mu": 1e-3, "eta": 1e-6})
    literal.observe_gram(GRAM, lr=0.0)  # Δ log w̃ = 1e-3 · [5, 2]: w_a = sigmoid(0.003)
    literal_big.observe_gram(GRAM * 1e6, lr=0.0)  # Δ log w̃ = 1e3 · [5, 2]: w_a = sigmoid(3000) = 1
    assert literal.weights()[0].item() == pytest.approx(_sigmoid(0.003), abs=1e-7)
    assert literal_big.weights()[0].item() == pytest.approx(1.0, abs=1e-7)


def test_literal_step_is_eq5_and_logs_its_scale():
    s = Popo(NAMES, [0.5, 0.5], {"mu": 0.5, "eta": 0.1})
    metrics = s.observe_gram(GRAM, lr=0.0)  # Δ log w̃ = 0.1 · [5, 2] / 0.5 = [1.0, 0.4]
    assert s.weights()[0].item() == pytest.approx(_sigmoid(0.6), abs=1e-6)
    assert metrics["popo/step/a"] == pytest.approx(1.0) and metrics["popo/mu"] == 0.5 and metrics["popo/eta"] == 0.1


def test_nearly_cancelling_gradients_keep_the_step_bounded():
    """g_a, g_b nearly opposite: ‖g_a + g_b‖² = 1.2 is below their mean squared norm 2.5, which divides instead."""
    gram = torch.tensor([[4.0, -1.9], [-1.9, 1.0]])  # I = [2.1, -0.9]
    s = Popo(NAMES, [0.5, 0.5], {"weight_lr": 1.0})
    metrics = s.observe_gram(gram, lr=0.0)  # Δ log w̃ = [2.1, -0.9] / 2.5 = [0.84, -0.36]
    assert metrics["popo/mu"] == 2.5
    assert s.weights()[0].item() == pytest.approx(_sigmoid(1.2), abs=1e-6)
    for k in range(2):  # |Δ log w̃_i| <= sqrt(K) · weight_lr
        assert abs(metrics[f"popo/step/{NAMES[k]}"]) <= math.sqrt(2) * 1.0


def test_equal_or_zero_gradients_leave_the_weights():
    s = Popo(NAMES, [0.3, 0.7], {"weight_lr": 0.2})
    s.observe_gram(torch.tensor([[2.0, 0.5], [0.5, 2.0]]), lr=0.0)  # equal norms, K = 2: I_a = I_b
    assert s.weights().tolist() == pytest.approx([0.3, 0.7], abs=1e-6)
    metrics = s.observe_gram(torch.zeros(2, 2), lr=0.0)  # nothing learned from either reward
    assert s.weights().tolist() == pytest.approx([0.3, 0.7], abs=1e-6) and metrics["popo/step_spread"] == 0.0


def test_clip_bounds_the_scale_free_step():
    s = Popo(NAMES, [0.5, 0.5], {"weight_lr": 0.7, "clip": 0.3})
    metrics = s.observe_gram(GRAM, lr=0.0)  # [0.5, 0.2] clipped to [0.3, 0.2]
    assert metrics["popo/step/a"] == pytest.approx(0.3)
    assert s.weights()[0].item() == pytest.approx(_sigmoid(0.1), abs=1e-6)


def test_weight_lr_is_checked_and_the_preset_is_scale_free():
    from omegaconf import OmegaConf

    with pytest.raises(ValueError, match="weighting.params.weight_lr must be > 0 or null"):
        Popo(NAMES, params={"weight_lr": 0.0})
    preset = OmegaConf.load(Path(__file__).resolve().parents[2] / "conf" / "weighting" / "popo.yaml")
    assert preset.params.weight_lr == 0.2
    assert Popo(NAMES, params={"weight_lr": preset.params.weight_lr}).step_scale(GRAM, lr=1.0) == (0.2, 7.0)
