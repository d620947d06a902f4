"""The two alignment reward-model losses (seed 003 §4.1), as pure tensor functions.

* pointwise: cross-entropy between sigmoid(score) and the normalised aggregated engagement score
  (a soft label in [0, 1]) — ``-[y log σ(s) + (1 - y) log(1 - σ(s))]``;
* pairwise: Bradley–Terry on (preferred, rejected) next clusters — ``-log σ(s⁺ - s⁻ - m)`` with an optional
  margin ``m`` (TRL ``RewardTrainer``'s loss, which trains the pairwise mode).

Dimension ``B`` = examples (pointwise) or pairs (pairwise) in the batch.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def pointwise_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean soft-label BCE. ``logits`` [B] raw head outputs, ``targets`` [B] in [0, 1] → scalar."""
    if logits.shape != targets.shape:
        raise ValueError(f"pointwise_loss: logits {tuple(logits.shape)} vs targets {tuple(targets.shape)}")
    return F.binary_cross_entropy_with_logits(logits.float(), targets.float())


def pairwise_loss(chosen: torch.Tensor, rejected: torch.Tensor, margin: torch.Tensor | None = None) -> torch.Tensor:
    """Mean Bradley–Terry loss. ``chosen`` [B], ``rejected`` [B] raw scores, ``margin`` [B] or None → scalar."""
    diff = chosen.float() - rejected.float()
    if margin is not None:
        diff = diff - margin.float()
    return -F.logsigmoid(diff).mean()
