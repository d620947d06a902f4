"""Pure tensor maths of the advantage- and statistics-level strategies (GDPO, SAW, DVAO, MO-GRPO, HV-guided).

Rewards arrive as TRL gathers them: ``[N, K]`` with ``N = B*G`` (the G completions of a prompt in consecutive
rows), NaN where a reward returned ``None``. A row where every reward is NaN is unscorable: its advantage is 0,
as in TRL. Per-reward group z-scores reuse :func:`rlrec.weighting.per_reward_advantages` (TRL's
``(r - mean_g) / (std_g + 1e-4)``, NaN-aware, 0 where undefined), so GDPO, SAW and MO-GRPO normalise exactly as
TRL does; DVAO uses its paper's population statistics instead (:func:`dvao_advantages`). This module is a helper (leading ``_``): strategy discovery skips it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from rlrec.weighting.advantages import advantage_moments, combined_advantages, per_reward_advantages

__all__ = [
    "gdpo_advantages", "saw_weights", "group_population_std", "dvao_coefficients", "dvao_advantages",
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


def group_population_std(rewards: Tensor, num_generations: int) -> Tensor:
    """Population (1/n) within-group standard deviation ``σ_{b,k}`` ``[B, K]`` of ``rewards`` ``[B*G, K]``.

    NaN values of reward k are left out of its group's statistics (n = the valid count); 0 with no valid value.
    DVAO's σ is the population estimator (both public DVAO implementations read for
    :mod:`rlrec.weighting.strategies.dvao` use ``correction=0``), not TRL's unbiased one.
    """
    grouped = rewards.double().view(-1, num_generations, rewards.shape[1])  # [B, G, K]
    valid = ~torch.isnan(grouped)
    count = valid.sum(dim=1).clamp(min=1)  # [B, K]
    mean = torch.where(valid, grouped, torch.zeros_like(grouped)).sum(dim=1) / count
    squared = torch.where(valid, (grouped - mean.unsqueeze(1)) ** 2, torch.zeros_like(grouped)).sum(dim=1)
    return (squared / count).sqrt()


def dvao_coefficients(rewards: Tensor, num_generations: int, weights: Tensor, eps: float) -> Tensor:
    """DVAO's dynamic weights ``w̃_{b,k} = w_k σ_{b,k} / Σ_j w_j σ_{b,j}`` ``[B, K]`` (per group b).

    ``σ``: :func:`group_population_std`; ``w`` ``[K]``: the base weights. A group whose denominator is
    ``<= eps`` (no reward varies) gets ``w̃ = 0``. See :mod:`rlrec.weighting.strategies.dvao` for the source.
    """
    scaled = weights.double().unsqueeze(0) * group_population_std(rewards, num_generations)  # [B, K]
    total = scaled.sum(dim=1, keepdim=True)  # [B, 1]
    return torch.where(total > eps, scaled / total.clamp(min=eps), torch.zeros_like(scaled))


def dvao_advantages(rewards: Tensor, num_generations: int, weights: Tensor, eps: float) -> Tensor:
    """DVAO's advantage ``A_{b,g} = Σ_k w̃_{b,k} A^k_{b,g}``, ``A^k = (r_k - μ_k) / σ_k``, as ``[N]``.

    Computed in the equivalent closed form ``Σ_k w_k (r_k - μ_{b,k}) / Σ_j w_j σ_{b,j}`` (the σ_k of ``w̃_k``
    cancels the σ_k of ``A^k``; a reward with σ_k = 0 has ``r_k = μ_k`` in its group, so it adds 0 either
    way and no per-reward ε is needed). μ and σ are the group's population statistics over the valid values;
    a NaN reward adds 0 to its row; a group with ``Σ_j w_j σ_j <= eps`` and an all-NaN row get 0.
    """
    n_rows, num_rewards = rewards.shape
    grouped = rewards.double().view(-1, num_generations, num_rewards)  # [B, G, K]
    deviation = (grouped - torch.nanmean(grouped, dim=1, keepdim=True)).nan_to_num(0.0)  # [B, G, K]
    denominator = group_population_std(rewards, num_generations) @ weights.double()  # [B]
    numerator = deviation @ weights.double()  # [B, G]
    advantage = torch.where(
        (denominator > eps).unsqueeze(1), numerator / denominator.clamp(min=eps).unsqueeze(1),
        torch.zeros_like(numerator),
    ).reshape(n_rows)
    return torch.where(_scorable(rewards), advantage, torch.zeros_like(advantage)).to(rewards.dtype)


def mo_grpo_advantages(rewards: Tensor, num_generations: int, weights: Tensor) -> Tensor:
    """MO-GRPO (arXiv 2509.22047): ``A_{b,g} = K Σ_k w_k z_{b,g,k}``, each reward group-normalised, no batch step.

    ``z`` = TRL's per-reward group z-score ``(r_k - mean_g r_k) / (std_g r_k + 1e-4)`` (unbiased std). With the
    uniform weights ``w_k = 1/K`` this is MO-GRPO's ``Σ_k (r_k - mean_g r_k) / std_g r_k``: every reward
    contributes a unit-variance share whatever its scale; ``w`` is rlrec's extension (see
    :mod:`rlrec.weighting.strategies.mo_grpo` for what the source says). ``[N, K]`` → ``[N]``."""
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
