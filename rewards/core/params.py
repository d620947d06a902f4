"""Reward parameters: a dataclass per reward, validated from the ``params:`` mapping of its YAML file."""

from __future__ import annotations

from dataclasses import dataclass

from rlrec.params import validate_params

__all__ = ["RewardParams", "validate_params"]


@dataclass
class RewardParams:
    """Fields every reward has. Subclasses add theirs and may change this default."""

    # Value of a completion the reward cannot score (no parseable answer): a number, or None = "not
    # applicable" (TRL turns it into NaN and leaves it out of that reward's mean). Such completions are
    # counted in ``reward/<name>/unparseable`` whatever this value is.
    unparseable_value: float | None = None
