"""SAW, Stage-Aware dynamic Weighting (He et al., arXiv 2606.07705; code github.com/Zhaolutuan/SAW).

Each rollout batch: ``CV_k = std_k / (|mean_k| + ε)`` of every reward over the whole batch, ``w_k = K · CV_k /
(Σ_j CV_j + ε)`` (SAW's ``verl/trainer/ppo/ray_trainer.py``, estimators ``grpo-h`` and ``gdpo-h``), applied

* ``level: reward`` (SAW-GRPO, ``grpo-h``): to the rewards, ``r̃ = Σ_k w_k r_k``, then TRL's GRPO advantage;
* ``level: advantage`` (SAW-GDPO, ``gdpo-h``): to the per-reward group-normalised advantages, then batch
  normalisation (:func:`~rlrec.weighting.strategies._combine.gdpo_advantages` with SAW's weights).

How it differs from POPO-light (Taiji Eq. 7, ``w_k ∝ σ_k / (|μ_k| + ε)``) — the same CV-proportional idea, memoryless
per batch, no extra passes; the differences are in the statistics and where the weights act:

1. SAW's ``std_k`` and ``mean_k`` are over all B·G rows of the batch, so between-prompt spread counts as signal;
   POPO-light pools the *within-group* spread (``sqrt(mean_b var_g)``), the only spread GRPO's group-normalised
   advantage sees. With one prompt per batch (B = 1) the two statistics coincide except for POPO-light's ε.
2. ε = 1e-8 (SAW's code) vs 1e-3, plus SAW's optional per-reward ``offsets`` (its code adds +3 to the
   correctness score so the mean stays off 0, where the CV explodes).
3. SAW also weights advantages (``level: advantage``); POPO-light only weights rewards.
4. SAW's code scales its weights to sum K; here they are on the simplex like every strategy's (``w_k / K``):
   the same advantages under TRL's group / batch scaling and on the advantage level (batch-normalised), K
   times smaller with ``rl.scale_rewards=none``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from torch import Tensor

from rlrec.weighting.strategies._combine import gdpo_advantages, saw_weights
from rlrec.weighting.strategies.base import StrategyParams, WeightingStrategy, register_strategy

__all__ = ["Saw"]

LEVELS = ("reward", "advantage")


@register_strategy("saw", equation="SAW (arXiv 2606.07705): w_k ∝ CV_k = std / |mean| over the batch")
class Saw(WeightingStrategy):
    """SAW: each batch ``w_k ∝ K · CV_k / (Σ_j CV_j + ε)``, on the rewards (``reward``) or advantages (``advantage``).

    A batch where no reward varies keeps the previous weights (``saw/degenerate`` logs 1). Weights on the simplex.
    """

    @dataclass
    class Params(StrategyParams):
        eps: float = 1e-8  # ε in std / (|mean| + ε) and in Σ CV + ε (SAW's code: 1e-8)
        level: str = "reward"  # reward = SAW on GRPO (grpo-h); advantage = SAW on GDPO (gdpo-h)
        offsets: list[float] = field(default_factory=list)  # per-reward shift before the CV; [] = none

        def __post_init__(self) -> None:  # runs when the config is composed, before any stage
            if not self.eps > 0:
                raise ValueError(f"weighting.params.eps must be > 0, got {self.eps}")
            if self.level not in LEVELS:
                raise ValueError(f"weighting.params.level must be one of {', '.join(LEVELS)}, got {self.level!r}")

    def observe_rewards(self, rewards: Tensor, num_generations: int) -> dict[str, float]:
        w = saw_weights(rewards.detach().cpu(), self.params.eps, self.params.offsets)  # [K], sums to ~K
        if w is not None:
            self._weights = w / w.sum()
            self.updates += 1
        metrics = {f"saw/cv_weight/{n}": float(v) for n, v in zip(self.names, self._weights * len(self.names))}
        metrics["saw/degenerate"] = float(w is None)
        return metrics

    def advantages(self, rewards: Tensor, num_generations: int) -> Tensor | None:
        if self.params.level == "reward":
            return None  # TRL's GRPO advantage of Σ_k w_k r_k
        return gdpo_advantages(rewards.detach().cpu(), num_generations, self.weights())
