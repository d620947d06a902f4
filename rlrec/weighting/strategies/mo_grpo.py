"""MO-GRPO (Ichihara et al., arXiv 2509.22047): each reward normalised by its own group statistics, then summed.

GRPO on ``Σ_k r_k`` lets the reward with the largest within-group variance dominate the advantage ("reward
hacking" of one objective). MO-GRPO reweights every reward by its variance: ``A = Σ_k (r_k - mean_g r_k) /
std_g r_k``, so each reward contributes one unit-variance share whatever its scale, and the advantage is
invariant to positive affine changes of any reward.

**Source caveat.** Written from the paper's abstract (arXiv HTML v2) and secondary summaries ("computes a
normalised advantage per reward and aggregates them"); the method section's equation and any code were not
reachable from this machine. Differences from GDPO: no batch normalisation after the sum; with K rewards the
advantage's scale grows with K (as the sum does). The target weights ``w`` (uniform by default) scale the
shares: ``A = K Σ_k w_k z_k`` equals the plain sum for ``w_k = 1/K``.
"""

from __future__ import annotations

from torch import Tensor

from rlrec.weighting.strategies._combine import mo_grpo_advantages
from rlrec.weighting.strategies.base import WeightingStrategy, register_strategy

__all__ = ["MoGrpo"]


@register_strategy("mo_grpo", equation="MO-GRPO (arXiv 2509.22047): A = Σ_k (r_k - mean_g) / std_g")
class MoGrpo(WeightingStrategy):
    """MO-GRPO: ``A = K Σ_k w_k z_k`` with the per-reward group z-scores (TRL's ``+ 1e-4``). No parameters."""

    def advantages(self, rewards: Tensor, num_generations: int) -> Tensor:
        return mo_grpo_advantages(rewards.detach().cpu(), num_generations, self.weights())
