"""POPO's assembled real gradient (issue 16): K backward passes instead of K + 1, and exactly the plain path.

When the advantage TRL's loss reads is ``Σ_k c_k A^k`` with ``c`` shared by the micro-batch, the trainer hands
the backward ``Σ_k c_k ∇L_k`` from the K per-reward products and skips the network. These tests run the same
seeded steps twice, assembled and plain (the real backward forced), and compare the gradients the optimizer
saw, the parameters after each step and the weights.
"""

from __future__ import annotations

import pytest
import torch
from transformers import TrainerCallback

from rlrec.config import WeightingConfig
from rlrec.trainers.per_reward import AssembledLoss, assembled_gradients, shared_coefficients
from rlrec.weighting import advantage_moments, combined_advantages, per_reward_advantages

from .conftest import make_trainer

POPO = WeightingConfig(name="popo", params={"weight_lr": 0.5})


class GradRecorder(TrainerCallback):
    """Every trainable parameter's ``.grad`` right before each optimizer step (after clipping)."""

    def __init__(self):
        self.grads: list[dict[str, torch.Tensor]] = []
        self.model = None

    def on_pre_optimizer_step(self, args, state, control, model=None, **kwargs):
        self.grads.append({n: p.grad.detach().clone() for n, p in model.named_parameters()
                           if p.requires_grad and p.grad is not None})


def _run(tiny_lm_path, out, plain: bool, steps: int, **overrides):
    torch.manual_seed(0)
    trainer = make_trainer(tiny_lm_path, out, POPO, max_steps=steps, **overrides)
    if plain:
        trainer._assembly_blocker = lambda logps, update: "forced by the test"
    recorder = GradRecorder()
    trainer.add_callback(recorder)
    trainer.train()
    assembled = [h["popo/assembled"] for h in trainer.state.log_history if "popo/assembled" in h]
    params = {n: p.detach().clone() for n, p in trainer.model.named_parameters()}
    return recorder.grads, params, trainer.strategy.weights(), assembled


@pytest.mark.parametrize("overrides", [
    {"scale_rewards": "none", "optim": "sgd"},
    pytest.param({"scale_rewards": "batch"}, marks=pytest.mark.slow),
    pytest.param({"multi_objective_aggregation": "normalize_then_sum", "grad_accum": 2, "optim": "sgd"},
                 marks=pytest.mark.slow),
], ids=["none-sgd", "batch-adamw", "normalize_then_sum-accum2-sgd"])
def test_assembled_gradient_equals_the_real_backward(tiny_lm_path, tmp_path, overrides):
    fast = _run(tiny_lm_path, tmp_path / "fast", plain=False, steps=2, **overrides)
    slow = _run(tiny_lm_path, tmp_path / "slow", plain=True, steps=2, **overrides)
    assert fast[3] and all(a == 1.0 for a in fast[3])  # every update assembled its gradient
    assert slow[3] and all(a == 0.0 for a in slow[3])
    assert len(fast[0]) == len(slow[0]) == 2
    # gradients the optimizer saw: step 1 from the same parameters (float32 rounding only, observed 7e-7);
    # step 2 from parameters one AdamW step apart by that rounding (observed 1.4e-5)
    for got, want, tol in zip(fast[0], slow[0], (1e-5, 1e-4)):
        assert got.keys() == want.keys()
        scale = max(float(g.abs().max()) for g in want.values())
        assert scale > 0
        errors = {name: float((got[name] - want[name]).abs().max()) / scale for name in want}
        assert max(errors.values()) <= tol, errors  # relative to the largest gradient entry
    # parameters after the last optimizer step, in units of lr (make_trainer's 1e-3). SGD moves them by lr x the
    # gradient: equal up to the parameters' own float32 rounding. AdamW's first steps move an entry by lr g / (|g| + 1e-8), so an entry
    # whose gradient is ~1e-9 (rounding level) can differ by a few % of lr (observed 6%) though the gradients
    # agree: there the bound is 0.1 lr for every entry and 1e-3 lr for all but 0.1% of them.
    lr = 1e-3
    moved = torch.cat([(fast[1][name] - want).abs().flatten() / lr for name, want in slow[1].items()])
    if overrides.get("optim") == "sgd":  # float32 rounding of the parameters themselves (ulp ~ 1e-9)
        for name, want in slow[1].items():
            torch.testing.assert_close(fast[1][name], want, rtol=1e-6, atol=1e-8)
    else:
        assert float(moved.max()) <= 0.1 and float((moved > 1e-3).float().mean()) <= 1e-3, float(moved.max())
    torch.testing.assert_close(fast[2], slow[2], atol=1e-6, rtol=0)
    assert not torch.allclose(fast[2], torch.tensor([0.5, 0.5]))  # the weights moved (scale-free step)


def test_per_group_scaling_keeps_the_real_backward(trainer_factory):
    trainer = trainer_factory(POPO, max_steps=1)  # scale_rewards=group (the default): coefficients differ by group
    trainer.train()
    assert [h["popo/assembled"] for h in trainer.state.log_history if "popo/assembled" in h] == [0.0]


def _rewards():
    g = torch.Generator().manual_seed(0)
    return torch.rand(8, 2, generator=g) * torch.tensor([1.0, 3.0])  # 2 groups of G = 4, K = 2


def test_shared_coefficients_by_hand():
    """c = w without scaling; c_k = w_k (σ_k + ε) / (σ(w) + ε) with batch scaling; none with per-group scaling."""
    rewards, w = _rewards(), torch.tensor([0.7, 0.3])
    for scale in ("none", "batch", "group"):
        moments = advantage_moments(rewards, 4, "sum_then_normalize", scale)
        combined = combined_advantages(moments.deviation, moments.covariance, w)
        c = shared_coefficients(per_reward_advantages(rewards, 4, scale), combined)
        if scale == "none":
            torch.testing.assert_close(c, w.double(), atol=1e-6, rtol=0)
        elif scale == "batch":
            std = rewards.double().std(dim=0)  # [K] batch stds (unbiased, as TRL)
            combined_std = (rewards.double() @ w.double()).std()
            torch.testing.assert_close(c, w.double() * (std + 1e-4) / (combined_std + 1e-4), atol=1e-6, rtol=0)
        else:
            assert c is None
    gdpo = advantage_moments(rewards, 4, "normalize_then_sum", "group")
    z = per_reward_advantages(rewards, 4, "group")  # the group-normalised z_k; batch mean 0
    c = shared_coefficients(z, combined_advantages(gdpo.deviation, gdpo.covariance, w))
    torch.testing.assert_close(c, w.double() / ((z.double() @ w.double()).std() + 1e-4), atol=1e-5, rtol=0)
    nan_rewards = rewards.clone()
    nan_rewards[1, 0] = float("nan")  # TRL: 0 in the weighted sum; A^k: left out of the group mean
    moments = advantage_moments(nan_rewards, 4, "sum_then_normalize", "none")
    assert shared_coefficients(per_reward_advantages(nan_rewards, 4, "none"),
                               combined_advantages(moments.deviation, moments.covariance, w)) is None


def test_assembled_loss_hands_out_the_given_gradients():
    a, b = torch.nn.Parameter(torch.ones(2)), torch.nn.Parameter(torch.ones(3))
    grads = assembled_gradients([torch.tensor([[1.0, 2.0], [3.0, 4.0]]), None], torch.tensor([2.0, -1.0]), 0.5)
    assert grads[0].tolist() == [-0.5, 0.0] and grads[1] is None
    loss = AssembledLoss.apply(torch.tensor(7.0), grads, a, b)
    assert loss.item() == 7.0 and loss.requires_grad
    (3.0 * loss).backward()  # e.g. a loss scale: the gradient follows grad_output
    assert a.grad.tolist() == [-1.5, 0.0] and b.grad is None


def test_assembled_loss_does_not_reach_into_the_network(trainer_factory):
    """The loss handed to the backward links only to the parameters (AccumulateGrad), never to TRL's loss graph:
    otherwise autograd walks the whole network with undefined gradients (it did: 1.2 s of a tiny-model step)."""
    trainer = trainer_factory(POPO, max_steps=1, scale_rewards="none")
    seen = []
    compute_loss = trainer.compute_loss

    def recording(*args, **kwargs):
        loss = compute_loss(*args, **kwargs)
        seen.append(loss)
        return loss

    trainer.compute_loss = recording
    trainer.train()
    assert seen and type(seen[0].grad_fn).__name__ == "AssembledLossBackward"
    linked = {type(fn).__name__ for fn, _ in seen[0].grad_fn.next_functions if fn is not None}
    assert linked == {"AccumulateGrad"}


def test_in_place_assembly_reuses_the_first_per_reward_buffer_and_matches_the_copying_one():
    torch.manual_seed(0)
    per_param = [tuple(torch.randn(3, 2) for _ in range(3)), None, tuple(torch.randn(4) for _ in range(3))]
    c = torch.tensor([0.5, -2.0, 1.5], dtype=torch.float64)
    expected = assembled_gradients([torch.stack(g) if g is not None else None for g in per_param], c, 0.25)
    first = [g[0] if g is not None else None for g in per_param]
    got = assembled_gradients(per_param, c, 0.25, in_place=True)
    assert got[1] is None and got[0] is first[0] and got[2] is first[2]  # written into the buffer autograd gave
    for a, b in zip(got, expected):
        if a is not None:
            torch.testing.assert_close(a, b)


def test_unscaled_backward_hands_out_the_assembled_gradient_unchanged():
    a = torch.nn.Parameter(torch.ones(2))
    seen = []
    a.register_hook(lambda g: seen.append(g))
    grad = torch.tensor([1.0, -1.0])
    AssembledLoss.apply(torch.tensor(1.0), [grad], a).backward()
    assert a.grad.tolist() == [1.0, -1.0]
    assert seen[0] is grad or seen[0].data_ptr() == grad.data_ptr()  # not multiplied by 1 into a fresh 0.5 GB copy
