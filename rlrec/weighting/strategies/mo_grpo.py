"""MO-GRPO (Ichihara et al., arXiv 2509.22047): each reward normalised by its own group statistics, then summed.

GRPO on ``Σ_k r_k`` lets the reward with the largest within-group variance dominate the advantage ("reward
hacking" of one objective). MO-GRPO reweights every reward by its spread::

    A_{b,g} = Σ_k (r_{b,g,k} - mean_g r_{b,k}) / std_g r_{b,k}

so each reward contributes one unit-variance share whatever its scale, the advantage is invariant to positive
affine changes of any reward, and nothing is normalised after the sum (unlike GDPO, which batch-normalises it).

**Source and what is inferred.** The paper's method section could not be read from this machine: the stored copy
of https://arxiv.org/html/2509.22047v2 returns only the abstract and the start of the introduction, and the
authors' repository (github.com/CyberAgentAILab/MO-GRPO) is not in the code store. So no equation number is
cited. The formula above is what every secondary reading agrees on: the abstract ("a simple normalization method
to reweight the reward functions automatically according to the variances of their values ... all reward
functions contribute evenly to the loss function while preserving the order of preferences"); summaries
(sciencestack.ai: "computes per-reward normalized advantages and aggregates them", affine invariance;
papers.lunadong.com: per-objective normalisation *before* aggregation instead of GRPO's sum-then-normalise); and a
public re-implementation citing the authors' repository ("z-normalize EACH reward function's values within the
group, THEN sum"; "each objective is already unit-variance within its group before summation", so the sum is not
normalised again). Note that TRL's own ``normalize_then_sum`` (TRL 1.16) batch-normalises the sum, i.e. it is
GDPO, not this. Not known, so taken from TRL: the std estimator (unbiased) and the ``+ 1e-4`` in the denominator.

rlrec extension: the target weights ``w`` (uniform by default) scale the shares, ``A = K Σ_k w_k z_k``, which is
the paper's plain sum for ``w_k = 1/K``. The advantage's scale grows with K, as the sum does.
Maths: :func:`~rlrec.weighting.strategies._combine.mo_grpo_advantages`.
"""

from __future__ import annotations

from torch import Tensor

from rlrec.weighting.strategies._combine import mo_grpo_advantages
from rlrec.weighting.strategies.base import WeightingStrategy, register_strategy

__all__ = ["MoGrpo"]


@register_strategy("mo_grpo", equation="MO-GRPO (arXiv 2509.22047; eq. number not read): A = Σ_k (r_k - mean_g) / std_g")
class MoGrpo(WeightingStrategy):
    """MO-GRPO: ``A = K Σ_k w_k z_k`` with TRL's per-reward group z-scores ``z`` (``+ 1e-4``). No parameters."""

    def advantages(self, rewards: Tensor, num_generations: int) -> Tensor:
        return mo_grpo_advantages(rewards.detach().cpu(), num_generations, self.weights())
