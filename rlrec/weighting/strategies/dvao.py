"""DVAO, Dynamic Variance-adaptive Advantage Optimization (Jiang et al., arXiv 2605.25604).

For the G rollouts of a prompt (group b) with K rewards, base weights ``w`` (on the simplex) and the group's
per-reward mean ``μ_{b,k}`` and population standard deviation ``σ_{b,k}``::

    A^k_{b,g} = (r_{b,g,k} - μ_{b,k}) / σ_{b,k}                       per-reward GRPO advantage
    w̃_{b,k}   = w_k σ_{b,k} / Σ_j w_j σ_{b,j}                         dynamic (variance-adaptive) weight
    A_{b,g}   = Σ_k w̃_{b,k} A^k_{b,g} = Σ_k w_k (r_{b,g,k} - μ_{b,k}) / Σ_j w_j σ_{b,j}

No batch normalisation follows. A reward that does not vary in a group gets ``w̃ = 0`` there; a group in which
no reward varies (``Σ_j w_j σ_j <= eps``) gets advantage 0. Because ``Σ_k w̃ = 1``, ``|A| <= max_k |A^k|``
(the bounded magnitude), and every objective's weight depends on all objectives' spreads (the coupling).

**Source and what is inferred.** The paper's method section could not be read from this machine (the stored
copies of https://arxiv.org/html/2605.25604 and https://fast.hugflare.com/papers/2605.25604.md return only the
abstract and introduction). The equations above are the ones three independent readings of the full text agree on:

* a reviewer's notes that cover the Method, Propositions 1-3 and Appendix D (implementation):
  ``w_tilde_k = w_k sigma_k / sum_l(w_l sigma_l)``, ``A_DVAO = sum_k(w_tilde_k A_k)``, no batch whitening;
  Proposition 2: ``|A_DVAO| <= |A_sum|``; the paper leaves the ε and ``sigma_k = 0`` semantics open;
* two public verl re-implementations: one ("DVAO Eq. (8): variance-adaptive combination without batch
  whitening") computes ``Σ_k w_k (r_k - μ_k) / Σ_k w_k σ_k`` with population std (``correction=0``, enforced)
  and zero advantage when the denominator is ``<= ε = 1e-6``; the other ``v_k = b_k σ_k / Σ_l b_l σ_l``,
  ``A = Σ_k v_k (r_k - μ_k)/(σ_k + ε)`` with population variance (denominator G), zero for groups of size 1
  or with ``Σ b σ <= ε``.

So: the equation number (Eq. 8) comes from one implementation's docstring, not from the paper text itself;
σ is the population std (both implementations; the paper text was not seen); ``eps`` (default 1e-6, the
first implementation's) is an implementation choice the paper does not fix. The weights use the standard
deviation σ, not the variance σ² (this module's earlier, abstract-only reconstruction used σ², which was wrong).
Maths: :func:`~rlrec.weighting.strategies._combine.dvao_advantages`.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from rlrec.weighting.strategies._combine import dvao_advantages, dvao_coefficients
from rlrec.weighting.strategies.base import StrategyParams, WeightingStrategy, register_strategy

__all__ = ["Dvao"]


@register_strategy("dvao", equation="DVAO (arXiv 2605.25604, Eq. 8): A = Σ_k w̃_k A^k, w̃_k = w_k σ_k / Σ_j w_j σ_j")
class Dvao(WeightingStrategy):
    """DVAO: per-group dynamic weights ``w̃_{b,k} ∝ w_k σ_{b,k}`` on the per-reward group advantages.

    ``w`` are the fixed base weights (``initial_weights``; the paper's main runs use equal ones). Logs
    ``dvao/lambda/<name>``: the mean over the batch's groups of ``w̃`` (0 in groups where nothing varies).
    """

    @dataclass
    class Params(StrategyParams):
        eps: float = 1e-6  # a group with Σ_j w_j σ_j <= eps gets advantage 0 (reward units; verl DVAO code's 1e-6)

        def __post_init__(self) -> None:
            if not self.eps > 0:
                raise ValueError(f"weighting.params.eps must be > 0 (DVAO's degenerate-group threshold), got {self.eps}")

    def observe_rewards(self, rewards: Tensor, num_generations: int) -> dict[str, float]:
        lam = dvao_coefficients(rewards.detach().cpu(), num_generations, self.weights(), self.params.eps)  # [B, K]
        return {f"dvao/lambda/{n}": float(v) for n, v in zip(self.names, lam.mean(dim=0))}

    def advantages(self, rewards: Tensor, num_generations: int) -> Tensor:
        return dvao_advantages(rewards.detach().cpu(), num_generations, self.weights(), self.params.eps)
