"""GDPO (Liu et al., arXiv 2601.05242) as a strategy: normalise each reward per group, then sum, then batch-normalise.

TRL implements the same thing as ``rl.multi_objective_aggregation=normalize_then_sum``; this plugin puts it on
the ``weighting=`` sweep axis beside fixed / POPO / POPO-light / SAW / DVAO / MO-GRPO, so one
``weighting: …`` sweep compares them all with ``rl.*`` unchanged. The maths is TRL's closed form
(:func:`rlrec.weighting.strategies._combine.gdpo_advantages`): it gives the same advantages whatever
``rl.multi_objective_aggregation`` says.
"""

from __future__ import annotations

from torch import Tensor

from rlrec.weighting.strategies._combine import gdpo_advantages
from rlrec.weighting.strategies.base import WeightingStrategy, register_strategy

__all__ = ["Gdpo"]


@register_strategy("gdpo", equation="GDPO (arXiv 2601.05242): A = bn(Σ_k w_k gn(r_k))")
class Gdpo(WeightingStrategy):
    """GDPO: ``z_k = (r_k - mean_g r_k) / (std_g r_k + 1e-4)`` per group, ``s = Σ_k w_k z_k`` with the fixed
    initial weights, ``A = (s - mean_batch s) / (std_batch s + 1e-4)``. No parameters; the weights never move."""

    def advantages(self, rewards: Tensor, num_generations: int) -> Tensor:
        return gdpo_advantages(rewards.detach().cpu(), num_generations, self.weights())
