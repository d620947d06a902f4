"""Fixed weights: Taiji's GRPO baseline (§3.1.3: w_s = w_id = 0.5 with the taiji reward set)."""

from __future__ import annotations

from rlrec.weighting.strategies.base import WeightingStrategy, register_strategy

__all__ = ["FixedWeights"]


@register_strategy("fixed", equation="Taiji GRPO baseline (w_s = w_id = 0.5)")
class FixedWeights(WeightingStrategy):
    """Constant weights: the initial weights, normalised to the simplex, for the whole run. No parameters."""
