"""POPO (Taiji Eq. 5–6): exponentiated-gradient reward weights from per-reward policy-gradient inner products.

Each update: influence ``I = Gram · 1`` (Eq. 6, ``Gram_ij = <∇L_i, ∇L_j>``), then ``w̃ ← w̃ ⊙ exp(η I / μ)``
normalised (Eq. 5). This is the gradient-based task weighting of Lu et al. (arXiv 2509.11452) applied to
reward sources, itself in the family of DoGE's domain weights (from which the optional smoothing comes).

Two forms of the step (``weighting.params.weight_lr``):

* literal (``weight_lr: null``): Eq. 5 as printed, ``Δ log w̃ = η I / μ``. ``I`` has the units of a squared
  gradient norm, so the step depends on model size and loss normalisation and one μ fits no two models (at
  η = lr = 5e-6, μ = 1e-3 on SmolLM2-135M the weights moved 0.500 → 0.505 in 8 steps, issue 15). Lu et al.'s
  public code uses ``softmax(log w + lr · Σ_j <g_i, g_j> / 1e-5)`` at lr 1e-6 (as quoted in issue 15), i.e.
  η/μ = 0.1 on raw inner products: ``eta: 1.0e-6, mu: 1.0e-5`` here.
* scale-free (``weight_lr: <number>``, the preset's default): ``Δ log w̃_i = weight_lr · I_i / D`` with
  ``D = ‖Σ_k ∇L_k‖² = Σ_i I_i`` — ``I_i / D`` is reward i's share of the combined gradient's squared norm
  (the shares sum to 1), so ``weight_lr`` is a dimensionless weight learning rate. For K = 2 the log-ratio
  moves by ``weight_lr · (‖g_1‖² - ‖g_2‖²) / ‖g_1 + g_2‖²`` per update. When the gradients nearly cancel
  (``‖Σ g‖²`` below their mean squared norm ``tr(Gram) / K``), ``D`` is that mean instead, which bounds
  every ``|Δ log w̃_i|`` by ``sqrt(K) · weight_lr``.
The maths are in :mod:`rlrec.weighting.maths`; the per-reward gradients in :mod:`rlrec.trainers.per_reward`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Optional

import torch
from torch import Tensor

from rlrec.weighting.maths import gradient_cosines, influence, popo_log_update, smooth_toward_uniform
from rlrec.weighting.strategies.base import GradientSpec, StrategyParams, WeightingStrategy, register_strategy

__all__ = ["Popo"]


@register_strategy("popo", equation="Taiji Eq. 5-6")
class Popo(WeightingStrategy):
    """POPO (Eq. 5–6): exponentiated-gradient weights from per-reward policy-gradient inner products.

    Each update: ``I = Gram · 1`` (Eq. 6), ``log w̃ ← log w̃ + η I / μ`` (Eq. 5, log space, renormalised), then
    optional DoGE-style smoothing of the *reported* weights toward uniform (the state is not smoothed).
    ``eta=None`` makes ``η(t)`` the policy's learning rate at step t (the paper: "η(t) is the learning rate");
    a number makes it constant. ``clip`` bounds ``|η I / μ|`` per step. Both extras are off by default.
    ``weight_lr`` switches to the scale-free step (module docstring): ``η = weight_lr``, ``μ = ‖Σ_k ∇L_k‖²``.
    """

    @dataclass
    class Params(StrategyParams):
        mu: float = 1e-3  # μ > 0, Eq. 5's regularisation factor (the paper gives no value)
        eta: Optional[float] = None  # η; None = η(t) follows the policy learning-rate schedule (the paper)
        clip: Optional[float] = None  # bound on |η I / μ| per update; None = off (the paper)
        smoothing: float = 0.0  # DoGE-style (1 - c) w + c / K toward uniform, c in [0, 1]; 0 = off (the paper)
        # per-reward gradients: regexes over trainable parameter names; [] = all trainable parameters,
        # ["lora_"] = LoRA parameters only, ["layers\.2[0-9]\."] = named layers
        grad_params: list[str] = field(default_factory=list)
        include_kl: bool = False  # add β·KL to every per-reward objective (it is the same for all rewards)
        every: int = 1  # rollout batches between POPO updates (weights held in between)
        # scale-free step weight_lr · I / ‖Σ_k ∇L_k‖² (dimensionless); None = the literal η I / μ of Eq. 5
        weight_lr: Optional[float] = None

        def __post_init__(self) -> None:  # runs when the config is composed, before any stage
            if not self.mu > 0:
                raise ValueError(f"weighting.params.mu must be > 0 (Eq. 5 divides by it), got {self.mu}")
            if self.eta is not None and not self.eta >= 0:
                raise ValueError(f"weighting.params.eta must be >= 0 or null (the policy learning rate), got {self.eta}")
            if self.clip is not None and not self.clip > 0:
                raise ValueError(f"weighting.params.clip must be > 0 or null, got {self.clip}")
            if self.every < 1:
                raise ValueError(f"weighting.params.every must be >= 1, got {self.every}")
            if self.weight_lr is not None and not self.weight_lr > 0:
                raise ValueError(f"weighting.params.weight_lr must be > 0 or null (the literal Eq. 5 step), got "
                                 f"{self.weight_lr}")
            if not 0.0 <= self.smoothing <= 1.0:
                raise ValueError(f"weighting.params.smoothing must be in [0, 1], got {self.smoothing}")

    def __init__(self, names, initial_weights=None, params=None) -> None:
        super().__init__(names, initial_weights, params)
        p = self.params
        self.gradient_spec = GradientSpec(params=tuple(p.grad_params), include_kl=p.include_kl, every=p.every)
        self.log_weights = self._weights.log()  # [K] normalised log w̃

    def weights(self) -> Tensor:
        return smooth_toward_uniform(self.log_weights.exp(), self.params.smoothing).float()

    def step_size(self, lr: float) -> float:
        """``η(t)``: the constant ``eta`` when set, else the policy learning rate ``lr`` of this step."""
        return float(lr) if self.params.eta is None else float(self.params.eta)

    def step_scale(self, gram: Tensor, lr: float) -> tuple[float, float]:
        """``(η, μ)`` with ``Δ log w̃ = η I / μ``: Eq. 5's, or ``(weight_lr, D)`` for the scale-free form."""
        if self.params.weight_lr is None:
            return self.step_size(lr), self.params.mu
        num_rewards = gram.shape[0]
        denominator = max(float(gram.sum()), float(gram.diagonal().sum()) / num_rewards)  # ‖Σ g‖², floored
        return float(self.params.weight_lr), denominator if denominator > 0 else 1.0  # all-zero gradients: I = 0

    def observe_gram(self, gram: Tensor, lr: float) -> dict[str, float]:
        """One Eq. 5 update from ``gram`` [K, K] (identical on all ranks). Returns POPO's metrics.

        Logged every update: ``popo/step/<name>`` (the applied ``Δ log w̃``, after ``clip``, before
        renormalising), ``popo/step_spread`` (its max - min: what moves the weights), ``popo/eta`` and
        ``popo/mu`` (the effective η and μ / D), ``popo/influence/*``, ``popo/grad_norm/*``,
        ``popo/grad_sum_sq`` (``‖Σ_k ∇L_k‖²``) and the pairwise ``popo/grad_cosine/*``.
        """
        gram = gram.detach().double().cpu()
        if not torch.isfinite(gram).all():
            raise FloatingPointError(f"POPO Gram matrix is not finite: {gram.tolist()} (check the loss / lr)")
        eta, mu = self.step_scale(gram, lr)
        infl = influence(gram)  # [K]
        step = eta * infl / mu
        if self.params.clip is not None:
            step = step.clamp(-self.params.clip, self.params.clip)
        self.log_weights = popo_log_update(self.log_weights, infl, eta, mu, self.params.clip)
        self._weights = self.log_weights.exp()
        self.updates += 1
        metrics = {f"popo/influence/{n}": float(v) for n, v in zip(self.names, infl)}
        metrics.update({f"popo/grad_norm/{n}": math.sqrt(max(float(gram[k, k]), 0.0)) for k, n in enumerate(self.names)})
        metrics.update({f"popo/step/{n}": float(v) for n, v in zip(self.names, step)})
        cos = gradient_cosines(gram)  # [K, K]
        for i in range(len(self.names)):
            for j in range(i + 1, len(self.names)):
                metrics[f"popo/grad_cosine/{self.names[i]}__{self.names[j]}"] = float(cos[i, j])
        metrics.update({"popo/eta": eta, "popo/mu": mu, "popo/step_spread": float(step.max() - step.min()),
                        "popo/grad_sum_sq": float(gram.sum())})
        return metrics

    def weight_metrics(self) -> dict[str, float]:
        return {f"weights/{name}": float(w) for name, w in zip(self.names, self.weights())}

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "log_weights": self.log_weights.tolist()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.log_weights = torch.tensor(state["log_weights"], dtype=torch.float64)
