"""Reward-weighting strategies: fixed weights, POPO (Eq. 5–6) and POPO-light (Eq. 7) as stateful objects.

A strategy holds the weights ``w`` [K] of the K rewards and updates them from what the trainer shows it:

* ``observe_rewards(rewards [B*G, K], G)`` — every rollout batch, with the rewards gathered from all ranks;
* ``observe_gram(gram [K, K], lr)`` — POPO only (its ``gradient_spec`` is not None): the all-reduced Gram
  matrix of the per-reward policy gradients of the same step.

Both inputs are identical on every rank, and the updates are deterministic, so the weights are identical on
every rank. ``state_dict()`` / ``load_state_dict()`` carry the state through checkpoints. Strategies are
registered in :data:`WEIGHTING_STRATEGIES` and built from :class:`rlrec.config.WeightingConfig` by
:func:`build_strategy`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from rlrec.config import WeightingConfig
from rlrec.registry import Registry
from rlrec.weighting.maths import (
    gradient_cosines,
    influence,
    normalize_simplex,
    popo_light_weights,
    popo_log_update,
    smooth_toward_uniform,
)

__all__ = [
    "WEIGHTING_STRATEGIES",
    "WeightingStrategy",
    "FixedWeights",
    "PopoLight",
    "Popo",
    "GradientSpec",
    "build_strategy",
]

WEIGHTING_STRATEGIES: Registry[type[WeightingStrategy]] = Registry("weighting strategy")


@dataclass(frozen=True)
class GradientSpec:
    """What a gradient-based strategy asks the trainer to compute each update (see ``WeightingConfig``)."""

    params: tuple[str, ...] = ()  # regexes over trainable parameter names; () = all trainable parameters
    include_kl: bool = False  # add β·KL to each per-reward objective
    every: int = 1  # rollout batches between weight updates


class WeightingStrategy:
    """Base class: K named rewards and their simplex weights. Subclasses override the ``observe_*`` hooks."""

    gradient_spec: GradientSpec | None = None  # not None: the trainer computes per-reward gradients

    def __init__(self, names: Sequence[str], initial_weights: Sequence[float] | None = None) -> None:
        self.names = tuple(names)
        if not self.names or len(set(self.names)) != len(self.names):
            raise ValueError(f"a weighting strategy needs distinct reward names, got {list(self.names)}")
        initial = [1.0] * len(self.names) if initial_weights is None else [float(w) for w in initial_weights]
        if len(initial) != len(self.names):
            raise ValueError(
                f"weighting.initial_weights has {len(initial)} values for {len(self.names)} rewards "
                f"({', '.join(self.names)}); give one weight per reward or null to use the reward set's"
            )
        simplex = normalize_simplex(torch.tensor(initial, dtype=torch.float64))
        if simplex is None or min(initial) < 0:
            raise ValueError(f"initial weights must be >= 0 with a positive sum, got {initial}")
        self._weights = simplex
        self.updates = 0  # weight updates so far

    def weights(self) -> Tensor:
        """Current weights ``w`` [K] (float32, on the simplex, in reward-name order)."""
        return self._weights.float()

    def observe_rewards(self, rewards: Tensor, num_generations: int) -> dict[str, float]:
        """Sees the gathered rewards ``[B*G, K]`` of a rollout batch; returns metrics to log. Default: nothing."""
        return {}

    def weight_metrics(self) -> dict[str, float]:
        return {f"weights/{name}": float(w) for name, w in zip(self.names, self._weights)}

    def state_dict(self) -> dict[str, Any]:
        return {"names": list(self.names), "weights": self._weights.tolist(), "updates": self.updates}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if list(state["names"]) != list(self.names):
            raise ValueError(
                f"weighting state is for rewards {state['names']} but this run has {list(self.names)}; "
                "resume with the same reward set (same names, same order)"
            )
        self._weights = torch.tensor(state["weights"], dtype=torch.float64)
        self.updates = int(state["updates"])

    @classmethod
    def from_config(cls, config: WeightingConfig, names: Sequence[str], initial_weights: Sequence[float] | None):
        return cls(names, initial_weights)


@WEIGHTING_STRATEGIES.register("fixed", equation="Taiji GRPO baseline (w_s = w_id = 0.5)")
class FixedWeights(WeightingStrategy):
    """Constant weights: the initial weights, normalised to the simplex, for the whole run."""


@WEIGHTING_STRATEGIES.register("popo_light", equation="Taiji Eq. 7")
class PopoLight(WeightingStrategy):
    """POPO-light (Eq. 7): ``w_k ∝ σ_k / (|μ_k| + ε)`` from each rollout batch's rewards (memoryless).

    Statistics pool the B groups as in :func:`rlrec.weighting.maths.pooled_group_stats`. The initial weights
    only stand until the first rollout batch. A batch where every reward has zero within-group variance
    carries no information: the weights stay as they were and ``popo_light/degenerate`` logs 1.
    """

    def __init__(self, names: Sequence[str], initial_weights: Sequence[float] | None = None, eps: float = 1e-3):
        super().__init__(names, initial_weights)
        if eps <= 0:
            raise ValueError(f"weighting.eps must be > 0, got {eps}")
        self.eps = eps

    def observe_rewards(self, rewards: Tensor, num_generations: int) -> dict[str, float]:
        w_tilde = popo_light_weights(rewards.detach().cpu(), num_generations, self.eps)
        simplex = normalize_simplex(w_tilde.double())
        if simplex is not None:
            self._weights = simplex
            self.updates += 1
        metrics = {f"popo_light/cv/{n}": float(v) for n, v in zip(self.names, w_tilde)}
        metrics["popo_light/degenerate"] = float(simplex is None)
        return metrics

    @classmethod
    def from_config(cls, config: WeightingConfig, names, initial_weights):
        return cls(names, initial_weights, eps=config.eps)


@WEIGHTING_STRATEGIES.register("popo", equation="Taiji Eq. 5-6")
class Popo(WeightingStrategy):
    """POPO (Eq. 5–6): exponentiated-gradient weights from per-reward policy-gradient inner products.

    Each update: ``I = Gram · 1`` (Eq. 6), ``log w̃ ← log w̃ + η I / μ`` (Eq. 5, log space, renormalised), then
    optional DoGE-style smoothing of the *reported* weights toward uniform (the state is not smoothed).
    ``eta=None`` makes ``η(t)`` the policy's learning rate at step t (the paper: "η(t) is the learning rate");
    a number makes it constant. ``clip`` bounds ``|η I / μ|`` per step. Both extras are off by default.
    """

    def __init__(
        self,
        names: Sequence[str],
        initial_weights: Sequence[float] | None = None,
        *,
        mu: float = 1e-3,
        eta: float | None = None,
        clip: float | None = None,
        smoothing: float = 0.0,
        gradient_spec: GradientSpec = GradientSpec(),
    ) -> None:
        super().__init__(names, initial_weights)
        if mu <= 0:
            raise ValueError(f"weighting.mu must be > 0 (Eq. 5), got {mu}")
        if clip is not None and clip <= 0:
            raise ValueError(f"weighting.clip must be > 0 or null, got {clip}")
        if gradient_spec.every < 1:
            raise ValueError(f"weighting.every must be >= 1, got {gradient_spec.every}")
        smooth_toward_uniform(self._weights, smoothing)  # validates the range
        self.mu, self.eta, self.clip, self.smoothing = mu, eta, clip, smoothing
        self.gradient_spec = gradient_spec
        self.log_weights = self._weights.log()  # [K] normalised log w̃

    def weights(self) -> Tensor:
        return smooth_toward_uniform(self.log_weights.exp(), self.smoothing).float()

    def step_size(self, lr: float) -> float:
        """``η(t)``: the constant ``eta`` when set, else the policy learning rate ``lr`` of this step."""
        return float(lr) if self.eta is None else float(self.eta)

    def observe_gram(self, gram: Tensor, lr: float) -> dict[str, float]:
        """One Eq. 5 update from ``gram`` [K, K] (identical on all ranks). Returns POPO's metrics."""
        gram = gram.detach().double().cpu()
        if not torch.isfinite(gram).all():
            raise FloatingPointError(f"POPO Gram matrix is not finite: {gram.tolist()} (check the loss / lr)")
        eta = self.step_size(lr)
        infl = influence(gram)
        self.log_weights = popo_log_update(self.log_weights, infl, eta, self.mu, self.clip)
        self._weights = self.log_weights.exp()
        self.updates += 1
        metrics = {f"popo/influence/{n}": float(v) for n, v in zip(self.names, infl)}
        metrics.update({f"popo/grad_norm/{n}": math.sqrt(max(float(gram[k, k]), 0.0)) for k, n in enumerate(self.names)})
        cos = gradient_cosines(gram)
        for i in range(len(self.names)):
            for j in range(i + 1, len(self.names)):
                metrics[f"popo/grad_cosine/{self.names[i]}__{self.names[j]}"] = float(cos[i, j])
        metrics["popo/eta"] = eta
        return metrics

    def weight_metrics(self) -> dict[str, float]:
        return {f"weights/{name}": float(w) for name, w in zip(self.names, self.weights())}

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "log_weights": self.log_weights.tolist()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.log_weights = torch.tensor(state["log_weights"], dtype=torch.float64)

    @classmethod
    def from_config(cls, config: WeightingConfig, names, initial_weights):
        spec = GradientSpec(params=tuple(config.grad_params), include_kl=config.include_kl, every=config.every)
        return cls(
            names, initial_weights, mu=config.mu, eta=config.eta, clip=config.clip, smoothing=config.smoothing,
            gradient_spec=spec,
        )


def build_strategy(
    config: WeightingConfig, names: Sequence[str], initial_weights: Sequence[float] | None = None
) -> WeightingStrategy:
    """The strategy named ``config.name`` for rewards ``names``.

    Initial weights: ``config.initial_weights`` when set, else ``initial_weights`` (the reward set's, e.g.
    Taiji's 0.5 / 0.5), else uniform.
    """
    cls = WEIGHTING_STRATEGIES.get(config.name)
    initial = config.initial_weights if config.initial_weights is not None else initial_weights
    return cls.from_config(config, names, initial)
