"""Pure tensor maths of the advantage- and statistics-level strategies (GDPO, SAW, DVAO, MO-GRPO, HV-guided).

Rewards arrive as TRL gathers them: ``[N, K]`` with ``N = B*G`` (the G completions of a prompt in consecutive
rows), NaN where a reward returned ``None``. A row where every reward is NaN is unscorable: its advantage is 0,
as in TRL. Per-reward group z-scores reuse :func:`rlrec.weighting.per_reward_advantages` (TRL's
``(r - mean_g) / (std_g + 1e-4)``, NaN-aware, 0 where undefined), so every strategy here normalises exactly as
TRL does. This module is a helper (leading ``_``): strategy discovery skips it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from rlrec.weighting.advantages import advantage_moments, combined_advantages, per_reward_advantages

__all__ = [
    "gdpo_advantages", "saw_weights", "group_variances", "dvao_coefficients", "dvao_advantages",
    "mo_grpo_advantages", "mean_point", "hypervolume_contribution", "hv_meta_reward",
]


def _scorable(rewards: Tensor) -> Tensor:
    """``[N]``: rows with at least one reward (an all-NaN row is unscorable: advantage 0)."""
    return ~torch.isnan(rewards).all(dim=1)


def gdpo_advantages(rewards: Tensor, num_generations: int, weights: Tensor) -> Tensor:
    """GDPO (arXiv 2601.05242; TRL's ``normalize_then_sum``): ``z_k`` per group, ``s = Σ_k w_k z_k``, then
    ``(s - mean_batch s) / (std_batch s + 1e-4)``. ``rewards`` ``[N, K]``, ``weights`` ``[K]`` → ``[N]``.

    The same closed form TRL's own GDPO path computes (:func:`rlrec.weighting.advantage_moments`)."""
    moments = advantage_moments(rewards, num_generations, aggregation="normalize_then_sum")
    return combined_advantages(moments.deviation, moments.covariance, weights)


def saw_weights(rewards: Tensor, eps: float, offsets: Sequence[float] = ()) -> Tensor | None:
    """SAW's weights (arXiv 2606.07705, code ``Zhaolutuan/SAW`` ``ray_trainer.py``, ``grpo-h`` / ``gdpo-h``):
    ``CV_k = std_k / (|mean_k + c_k| + ε)`` over all N rows of the batch, ``w_k = K · CV_k / (Σ_j CV_j + ε)``.

    ``std`` is the unbiased batch standard deviation (``torch.std``), NaN rows of reward k excluded; ``c_k``
    (``offsets``, default 0) shifts reward k first, as SAW's code shifts its correctness score by +3 so its
    mean stays away from 0. Returns ``[K]`` (summing to ~K, as SAW's), or None when no reward varies.
    """
    n_rows, num_rewards = rewards.shape
    shift = torch.zeros(num_rewards, dtype=torch.float64)
    if len(offsets):
        if len(offsets) != num_rewards:
            raise ValueError(f"weighting.params.offsets has {len(offsets)} values for {num_rewards} rewards")
        shift = torch.tensor([float(c) for c in offsets], dtype=torch.float64)
    values = rewards.double() + shift
    cv = torch.zeros(num_rewards, dtype=torch.float64)
    for k in range(num_rewards):
        column = values[:, k][~torch.isnan(values[:, k])]
        if column.numel() >= 2:
            cv[k] = column.std() / (column.mean().abs() + eps)
    total = cv.sum()
    if not torch.isfinite(total) or total <= 0:
        return None
    return num_rewards * cv / (total + eps)


def group_variances(rewards: Tensor, num_generations: int) -> Tensor:
    """Unbiased within-group variance ``σ²_{b,k}`` ``[B, K]`` of ``rewards`` ``[B*G, K]``; 0 with < 2 valid values."""
    grouped = rewards.double().view(-1, num_generations, rewards.shape[1])  # [B, G, K]
    valid = ~torch.isnan(grouped)
    count = valid.sum(dim=1)  # [B, K]
    mean = torch.where(valid, grouped, torch.zeros_like(grouped)).sum(dim=1) / count.clamp(min=1)
    squared = torch.where(valid, (grouped - mean.unsqueeze(1)) ** 2, torch.zeros_like(grouped)).sum(dim=1)
    return torch.where(count >= 2, squared / (count - 1).clamp(min=1), torch.zeros_like(squared))


def dvao_coefficients(rewards: Tensor, num_generations: int, weights: Tensor) -> Tensor:
    """DVAO's per-group combination weights ``λ_{b,k} = w_k σ²_{b,k} / Σ_j w_j σ²_{b,j}`` ``[B, K]``.

    ``σ²_{b,k}``: :func:`group_variances`; ``w`` ``[K]``: the target weights. A group where no reward varies
    gets λ = 0 (its completions carry no signal). See :mod:`rlrec.weighting.strategies.dvao` for the source.
    """
    scaled = weights.double().unsqueeze(0) * group_variances(rewards, num_generations)  # [B, K]
    total = scaled.sum(dim=1, keepdim=True)
    return torch.where(total > 0, scaled / total.clamp(min=torch.finfo(torch.float64).tiny), torch.zeros_like(scaled))


def dvao_advantages(rewards: Tensor, num_generations: int, weights: Tensor) -> Tensor:
    """``A_{b,g} = Σ_k λ_{b,k} z_{b,g,k}`` ``[N]``, with ``z`` the per-reward group z-scores (TRL's)."""
    z = per_reward_advantages(rewards, num_generations, scale="group").double()  # [N, K]
    lam = dvao_coefficients(rewards, num_generations, weights).repeat_interleave(num_generations, dim=0)  # [N, K]
    advantage = (lam * z).sum(dim=1)
    return torch.where(_scorable(rewards), advantage, torch.zeros_like(advantage)).to(rewards.dtype)


def mo_grpo_advantages(rewards: Tensor, num_generations: int, weights: Tensor) -> Tensor:
    """MO-GRPO (arXiv 2509.22047): ``A_{b,g} = K Σ_k w_k z_{b,g,k}``, each reward group-normalised, no batch step.

    With the uniform weights ``w_k = 1/K`` this is MO-GRPO's ``Σ_k (r_k - mean_g r_k) / std_g r_k``: every reward
    contributes a unit-variance share whatever its scale. ``[N, K]`` → ``[N]``."""
    z = per_reward_advantages(rewards, num_generations, scale="group").double()
    advantage = rewards.shape[1] * (z @ weights.double())
    return torch.where(_scorable(rewards), advantage, torch.zeros_like(advantage)).to(rewards.dtype)


def mean_point(rewards: Tensor) -> Tensor:
    """Per-reward mean over the valid rows, ``[N, K]`` → ``[K]`` float64 (NaN where a reward has no value)."""
    return torch.nanmean(rewards.double(), dim=0)


def hypervolume_contribution(front: Sequence[Sequence[float]], point: Sequence[float], reference: Sequence[float]) -> float:
    """``HV(front ∪ {point}) - HV(front)`` for maximised objectives, w.r.t. ``reference`` (moocore, exact).

    Lu et al.'s ``hypervolumn_contribution.compute_score`` with ``buffer = [reference, *front]``; points that do
    not strictly dominate the reference add nothing. Clamped at 0, as theirs."""
    import moocore  # numpy-only C core; imported where used

    ref = [float(r) for r in reference]
    before = moocore.hypervolume(front, ref=ref, maximise=True) if len(front) else 0.0
    after = moocore.hypervolume([*front, list(point)], ref=ref, maximise=True)
    return max(float(after) - float(before), 0.0)


def hv_meta_reward(contribution: float, base: float = 0.5, scale: float = 1.5) -> float:
    """Lu et al.'s meta-reward ``0.5 + 1.5 · tanh(ΔHV)`` (``base`` + ``scale`` · tanh), in [0.5, 2) for ΔHV ≥ 0."""
    return base + scale * math.tanh(contribution)
