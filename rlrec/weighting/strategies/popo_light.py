"""POPO-light (Taiji Eq. 7): weights from each rollout batch's coefficient of variation of every reward.

``w_k ∝ σ_k / (|μ_k| + ε)``: a reward whose within-group spread is large relative to its level carries more
signal for the group-normalised advantage, and a saturated reward (σ → 0) drops out. The same inverse-CV
idea is SAW's sample-based weighting (arXiv 2606.07705); the maths are in
:func:`rlrec.weighting.maths.popo_light_weights`.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from rlrec.weighting.maths import normalize_simplex, popo_light_weights
from rlrec.weighting.strategies.base import StrategyParams, WeightingStrategy, register_strategy

__all__ = ["PopoLight"]


@register_strategy("popo_light", equation="Taiji Eq. 7")
class PopoLight(WeightingStrategy):
    """POPO-light (Eq. 7): ``w_k ∝ σ_k / (|μ_k| + ε)`` from each rollout batch's rewards (memoryless).

    Statistics pool the B groups as in :func:`rlrec.weighting.maths.pooled_group_stats`. The initial weights
    only stand until the first rollout batch. A batch where every reward has zero within-group variance
    carries no information: the weights stay as they were and ``popo_light/degenerate`` logs 1.
    """

    @dataclass
    class Params(StrategyParams):
        eps: float = 1e-3  # ε in σ / (|μ| + ε) (Eq. 7), > 0; keeps a zero-mean reward finite

        def __post_init__(self) -> None:  # runs when the config is composed, before any stage
            if not self.eps > 0:
                raise ValueError(f"weighting.params.eps must be > 0, got {self.eps}")

    def observe_rewards(self, rewards: Tensor, num_generations: int) -> dict[str, float]:
        w_tilde = popo_light_weights(rewards.detach().cpu(), num_generations, self.params.eps)  # [K]
        simplex = normalize_simplex(w_tilde.double())
        if simplex is not None:
            self._weights = simplex
            self.updates += 1
        metrics = {f"popo_light/cv/{n}": float(v) for n, v in zip(self.names, w_tilde)}
        metrics["popo_light/degenerate"] = float(simplex is None)
        return metrics
