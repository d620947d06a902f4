"""DVAO, Dynamic Variance-adaptive Advantage Optimization (Jiang et al., arXiv 2605.25604).

**Source caveat.** Neither the paper's method section nor code could be read from this machine (only the
abstract and secondary summaries of arXiv 2605.25604 were reachable; no public repository was found). The
update below is reconstructed from the abstract's description — "dynamically adjusts combination weights based
on the empirical reward variance of each objective within a rollout group, up-weighting objectives with a
stronger learning signal while suppressing noisy ones", with "bounded advantage magnitudes" and a
"cross-objective" coupling — and must be checked against the paper's equations before it is cited as DVAO:

    λ_{b,k} = w_k σ²_{b,k} / Σ_j w_j σ²_{b,j}          (per group b; σ² the unbiased within-group variance)
    A_{b,g} = Σ_k λ_{b,k} z_{b,g,k},   z = (r - mean_g r) / (std_g r + 1e-4)   (per-reward group z-score)

An advantage combination whose weights follow each group's variances: a reward that does not vary within the
group (saturated, or all wrong) gets λ = 0 there; Σ_k λ = 1, so ``|A| ≤ max_k |z_k|`` (bounded); and every
objective's weight depends on every other's variance (the coupling). ``w`` are the fixed target weights (the
paper's experiments use equal ones). Maths: :func:`~rlrec.weighting.strategies._combine.dvao_advantages`.
"""

from __future__ import annotations

from torch import Tensor

from rlrec.weighting.strategies._combine import dvao_advantages, dvao_coefficients
from rlrec.weighting.strategies.base import WeightingStrategy, register_strategy

__all__ = ["Dvao"]


@register_strategy("dvao", equation="DVAO (arXiv 2605.25604, reconstructed): λ_bk ∝ w_k σ²_bk, A = Σ_k λ_bk z_k")
class Dvao(WeightingStrategy):
    """DVAO: per-group weights ``λ_{b,k} ∝ w_k σ²_{b,k}`` on the per-reward group z-scores (see the module caveat).

    Logs ``dvao/lambda/<name>``, the mean over groups of λ. No parameters.
    """

    def observe_rewards(self, rewards: Tensor, num_generations: int) -> dict[str, float]:
        lam = dvao_coefficients(rewards.detach().cpu(), num_generations, self.weights())  # [B, K]
        return {f"dvao/lambda/{n}": float(v) for n, v in zip(self.names, lam.mean(dim=0))}

    def advantages(self, rewards: Tensor, num_generations: int) -> Tensor:
        return dvao_advantages(rewards.detach().cpu(), num_generations, self.weights())
