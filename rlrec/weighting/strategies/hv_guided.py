"""Hypervolume-guided weight adaptation (Lu et al., arXiv 2509.11452; code: github.com/yining610/dynamic-reward-weighting).

Their ``ray_trainer_vanilla.py``: a buffer starts with the pre-RL validation score (the reference point); after
every step the policy's validation score ``p`` (one mean per objective) gets the meta-reward

    m = 0.5 + 1.5 · tanh(ΔHV),   ΔHV = HV(buffer[1:] ∪ {p}; ref = buffer[0]) - HV(buffer[1:]; ref = buffer[0])

(``verl/utils/reward_score/dynamic_math/hypervolumn_contribution.py``), ``p`` joins the buffer when ΔHV > 0, and
the next step's combined reward ``Σ_k w_k r_k`` (fixed ``w``) is multiplied by ``m`` (``reward_tensor *
meta_reward``; ``m = 1`` before the first validation). Rollouts that push the front out are rewarded more.

Differences here, on purpose and stated:

* the score ``p`` of the policy is the mean of each reward over its rollout batch (the B·G completions it
  just generated), not a separate validation pass: the trainer has no per-step validation hook, and this costs
  nothing. The reference is the first rollout batch (the pre-RL policy's score on training prompts), or
  ``params.reference`` when given (e.g. the pre-RL evaluation of the same rewards). Timing matches theirs: the
  meta-reward computed from policy θ_t's score scales the rewards of θ_t's rollouts.
* hypervolume comes from moocore (exact); their recursive slicing gives the same value for points that
  dominate the reference.

Note: a positive factor on every reward cancels in a standard-deviation-scaled advantage. With TRL's
``scale_rewards=group`` or ``batch`` (and verl's GRPO with ``norm_adv_by_std_in_grpo``, Lu et al.'s GRPO runs)
the meta-reward therefore changes nothing but the ``+1e-4``; it acts with ``rl.scale_rewards=none`` (and
RLOO-style estimators), where it scales the advantage.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import torch
from torch import Tensor

from rlrec.weighting.strategies._combine import hv_meta_reward, hypervolume_contribution, mean_point
from rlrec.weighting.strategies.base import StrategyParams, WeightingStrategy, register_strategy

__all__ = ["HvGuided"]


@register_strategy("hv_guided", equation="Lu et al. (arXiv 2509.11452): r̃ = (0.5 + 1.5 tanh ΔHV) Σ_k w_k r_k")
class HvGuided(WeightingStrategy):
    """Fixed weights times Lu et al.'s meta-reward ``0.5 + 1.5 · tanh(ΔHV)`` of the policy's batch score.

    ``weights()`` = ``m · w`` (off the simplex by design); ``weights/<name>`` logs ``w``, ``hv_guided/meta_reward``
    logs ``m``. State: the reference, the front buffer and ``m``, checkpointed.
    """

    @dataclass
    class Params(StrategyParams):
        reference: Optional[list[float]] = None  # one per reward; None = the first rollout batch's mean rewards
        base: float = 0.5  # m = base + scale · tanh(ΔHV) (Lu et al.: 0.5, 1.5)
        scale: float = 1.5

        def __post_init__(self) -> None:  # runs when the config is composed, before any stage
            if self.base + self.scale <= 0 or self.base < 0:
                raise ValueError(f"weighting.params.base ({self.base}) must be >= 0 and base + scale > 0")

    def __init__(self, names, initial_weights=None, params=None) -> None:
        super().__init__(names, initial_weights, params)
        ref = self.params.reference
        if ref is not None and len(ref) != len(self.names):
            raise ValueError(f"weighting.params.reference has {len(ref)} values for rewards {list(self.names)}")
        self.reference: list[float] | None = None if ref is None else [float(r) for r in ref]
        self.front: list[list[float]] = []  # points that added hypervolume, in arrival order (buffer[1:])
        self.meta_reward = 1.0  # Lu et al.: 1 before the first score

    def weights(self) -> Tensor:
        return (self.meta_reward * self._weights).float()

    def observe_rewards(self, rewards: Tensor, num_generations: int) -> dict[str, float]:
        point = mean_point(rewards.detach().cpu())  # [K]
        if not torch.isfinite(point).all():  # a reward with no value in the batch: no score, keep m
            return {"hv_guided/meta_reward": self.meta_reward, "hv_guided/skipped": 1.0}
        point_list = point.tolist()
        if self.reference is None:
            self.reference = point_list  # the pre-RL policy's score: buffer[0]
            return {"hv_guided/meta_reward": self.meta_reward, "hv_guided/delta_hv": 0.0, "hv_guided/skipped": 0.0}
        delta = hypervolume_contribution(self.front, point_list, self.reference)
        if delta > 0:
            self.front.append(point_list)
        self.meta_reward = hv_meta_reward(delta, self.params.base, self.params.scale)
        self.updates += 1
        return {"hv_guided/meta_reward": self.meta_reward, "hv_guided/delta_hv": delta, "hv_guided/skipped": 0.0,
                "hv_guided/front_size": float(len(self.front))}

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "reference": self.reference, "front": self.front, "meta_reward": self.meta_reward}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.reference, self.front = state["reference"], [list(p) for p in state["front"]]
        self.meta_reward = float(state["meta_reward"])
