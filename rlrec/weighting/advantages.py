"""Advantages as functions of the reward weights (Taiji Eq. 8 with the combined reward of Eq. 9).

TRL builds the GRPO advantage from the reward matrix and ``reward_weights`` inside
``GRPOTrainer._generate_and_score_completions``. POPO changes the weights *after* that, in the training
forward of the same step, so the advantage has to be re-formed for the new weights without the rewards of the
whole batch (the micro-batch was shuffled and split off). Every TRL aggregation has the same closed form::

    A_i(w) = (w · d_i) / (sqrt(w^T S_i w) + 1e-4)        (or w · d_i when the spread is not scaled)

with ``d_i`` [K] the deviation of row i's reward vector from its centre (group mean, or batch mean) and
``S_i`` [K, K] the (unbiased) covariance of the reward vectors the spread is taken over (its group, or the
batch). Both are computed once per rollout batch here, are kept in the trainer's rollout record
(:class:`rlrec.trainers.types.PopoRollout`, whose rows are found again after TRL's shuffle/split), and give
TRL's exact advantages for any ``w`` (tested against TRL). Dimensions: N = B*G rows, K rewards.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from rlrec.config import REWARD_AGGREGATIONS, REWARD_SCALES, check_choice

__all__ = ["AdvantageMoments", "advantage_moments", "combined_advantages", "per_reward_advantages"]

STD_EPS = 1e-4  # TRL's constant in (r - mean) / (std + 1e-4)
AGGREGATIONS = REWARD_AGGREGATIONS  # TRL's multi_objective_aggregation values
SCALES = REWARD_SCALES  # TRL's scale_rewards values


@dataclass
class AdvantageMoments:
    """Per-row statistics from which :func:`combined_advantages` forms TRL's advantage for any weights."""

    deviation: Tensor  # [N, K] row reward vector minus its centre; NaN rows = unscorable (advantage 0)
    covariance: Tensor | None  # [N, K, K] covariance of the spread set of each row; None = no scaling


def _nanmean_rows(values: Tensor, valid: Tensor) -> Tensor:
    """Mean of ``values [..., n, K]`` over the row axis -2 using rows where ``valid [..., n]``."""
    weights = valid.unsqueeze(-1).to(values.dtype)
    return (values * weights).sum(dim=-2) / weights.sum(dim=-2).clamp(min=1)


def _covariance(values: Tensor, valid: Tensor) -> Tensor:
    """Unbiased covariance ``[..., K, K]`` of ``values [..., n, K]`` over valid rows; NaN with < 2 valid rows."""
    weights = valid.unsqueeze(-1).to(values.dtype)
    count = weights.sum(dim=-2).squeeze(-1)  # [...]
    centred = (values - _nanmean_rows(values, valid).unsqueeze(-2)) * weights
    cov = centred.transpose(-1, -2) @ centred / (count - 1).clamp(min=1)[..., None, None]
    return torch.where((count >= 2)[..., None, None], cov, torch.full_like(cov, float("nan")))


def _grouped_nanstd(x: Tensor, dim: int) -> Tensor:
    """TRL's ``nanstd``: unbiased, NaN-aware, NaN with fewer than 2 valid values."""
    valid = ~torch.isnan(x)
    count = valid.sum(dim=dim, keepdim=True)
    mean = torch.nanmean(x, dim=dim, keepdim=True)
    var = torch.where(valid, (x - mean) ** 2, torch.zeros_like(x)).sum(dim=dim, keepdim=True) / (count - 1).clamp(min=1)
    return torch.where(count > 1, var.sqrt(), torch.full_like(var, float("nan")))


def per_reward_advantages(rewards: Tensor, num_generations: int, scale: str = "group") -> Tensor:
    """Per-reward group-normalised advantages ``A^k`` (Eq. 8 with reward k alone), POPO's per-reward objectives.

    ``rewards``: ``[N, K]`` (NaN = not applicable). ``A^k_i = (r_ik - mean_g r_k) / (std + 1e-4)`` with the
    mean over the row's group and ``std`` the group's (``scale="group"``), the batch's (``"batch"``) or no
    division (``"none"``), all NaN-aware. A NaN reward, or a group too small for a std, gives advantage 0.
    Returns ``[N, K]``.
    """
    _check(scale=scale)
    n_rows, num_rewards = rewards.shape
    grouped = rewards.view(-1, num_generations, num_rewards)  # [B, G, K]
    centred = (grouped - torch.nanmean(grouped, dim=1, keepdim=True)).view(n_rows, num_rewards)
    if scale == "group":
        std = _grouped_nanstd(grouped, dim=1).expand_as(grouped).reshape(n_rows, num_rewards)
        centred = centred / (std + STD_EPS)
    elif scale == "batch":
        centred = centred / (_grouped_nanstd(rewards, dim=0) + STD_EPS)
    return torch.nan_to_num(centred, nan=0.0)


def advantage_moments(
    rewards: Tensor, num_generations: int, aggregation: str = "sum_then_normalize", scale: str = "group"
) -> AdvantageMoments:
    """Moments reproducing TRL's advantage for ``multi_objective_aggregation`` × ``scale_rewards``.

    ``rewards``: ``[N, K]`` as gathered by TRL. TRL semantics kept exactly: a row where every reward is NaN is
    unscorable (excluded from means/stds, advantage 0); otherwise NaN rewards count as 0 in the weighted sum.

    * ``sum_then_normalize``: ``r̃ = Σ w_k r_k``; centre = group mean; spread = group std (``group``), batch
      std (``batch``) or none (``none``).
    * ``normalize_then_sum`` (GDPO): ``z_k`` = per-reward group-normalised reward; ``r̃ = Σ w_k z_k``; centre
      and spread over the batch (TRL ignores ``scale_rewards`` there).
    """
    _check(aggregation=aggregation, scale=scale)
    n_rows, num_rewards = rewards.shape
    values = rewards.double()
    scorable = ~torch.isnan(values).all(dim=1)  # [N]
    if aggregation == "normalize_then_sum":
        grouped = values.view(-1, num_generations, num_rewards)
        z = (grouped - torch.nanmean(grouped, dim=1, keepdim=True)) / (_grouped_nanstd(grouped, dim=1) + STD_EPS)
        values = torch.nan_to_num(z.view(n_rows, num_rewards), nan=0.0)
        deviation = values - _nanmean_rows(values, scorable)
        covariance = _covariance(values, scorable).expand(n_rows, num_rewards, num_rewards)
    else:
        values = torch.nan_to_num(values, nan=0.0)
        grouped, group_valid = values.view(-1, num_generations, num_rewards), scorable.view(-1, num_generations)
        centre = _nanmean_rows(grouped, group_valid)  # [B, K]
        deviation = (grouped - centre.unsqueeze(1)).view(n_rows, num_rewards)
        if scale == "group":
            cov = _covariance(grouped, group_valid)  # [B, K, K]
            covariance = cov.repeat_interleave(num_generations, dim=0)
        elif scale == "batch":
            covariance = _covariance(values, scorable).expand(n_rows, num_rewards, num_rewards)
        else:
            covariance = None
    deviation = torch.where(scorable.unsqueeze(1), deviation, torch.full_like(deviation, float("nan")))
    return AdvantageMoments(deviation=deviation.float(), covariance=None if covariance is None else covariance.float())


def combined_advantages(deviation: Tensor, covariance: Tensor | None, weights: Tensor) -> Tensor:
    """TRL's advantage of the combined reward ``r̃ = Σ_k w_k r_k`` (Eq. 9, then Eq. 8) from the moments.

    ``deviation``: ``[N, K]``; ``covariance``: ``[N, K, K]`` or None (unscaled); ``weights``: ``[K]``.
    Returns ``[N]``; unscorable rows (NaN deviation) and groups without a std get 0, as in TRL.
    """
    w = weights.to(device=deviation.device, dtype=torch.float64)
    numerator = deviation.double() @ w  # [N]
    if covariance is not None:
        variance = torch.einsum("k,nkl,l->n", w, covariance.double(), w).clamp(min=0)
        numerator = numerator / (variance.sqrt() + STD_EPS)
    return torch.nan_to_num(numerator, nan=0.0).to(deviation.dtype)


def _check(aggregation: str = AGGREGATIONS[0], scale: str = SCALES[0]) -> None:
    check_choice("rl.multi_objective_aggregation", aggregation, AGGREGATIONS)
    check_choice("rl.scale_rewards", scale, SCALES)
