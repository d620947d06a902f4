"""``format``: the Taiji Table 3 format checks as a reward."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rewards.core.base import Reward, register_reward
from rewards.core.params import RewardParams
from rlrec.answer import ParsedAnswer


@register_reward("format",  # higher_is_better=True, range=(0, 1): the defaults
                 description="Taiji Table 3 format checks: weighted mean of think tag present, think non-empty, answer non-empty")
class FormatReward(Reward):
    """Weighted mean of the three Table 3 checks (each 0 or 1) of a completion.

    Unparseable (no item title found): ``unparseable_value`` = 0, so the reward never pays for a think
    block that never reaches an answer (e.g. a truncated generation).

    ``think_min_words`` > 0 makes the think check length-aware: its credit is ``min(1, distinct words /
    think_min_words)``, so RL cannot keep the check satisfied with a token phrase ("Step-by-step reasoning",
    measured on the study preset) or a loop repeating one sentence (few distinct words). 0 = Table 3's
    binary check.

    >>> # "<think>x</think><answer>Item title: A</answer>" -> 1.0;  "<answer>Item title: A</answer>" -> 1/3
    """

    @dataclass
    class Params(RewardParams):
        unparseable_value: float | None = 0.0
        think_tag_weight: float = 1.0  # Think_Tag_Presence
        think_non_empty_weight: float = 1.0  # Think_Non_Empty
        answer_non_empty_weight: float = 1.0  # Answer_Non_Empty
        think_min_words: int = 0  # > 0: think credit = min(1, distinct words / think_min_words); 0 = binary

        def __post_init__(self) -> None:
            weights = (self.think_tag_weight, self.think_non_empty_weight, self.answer_non_empty_weight)
            if min(weights) < 0 or sum(weights) <= 0:
                raise ValueError(f"format weights must be >= 0 with a positive sum, got {weights}")
            if self.think_min_words < 0:
                raise ValueError(f"format.think_min_words must be >= 0 (0 = binary think check), got "
                                 f"{self.think_min_words}")

    def __init__(self, params: Params | None = None, resources: Any = None, *, term: str | None = None) -> None:
        super().__init__(params, resources, term=term)
        self._checks = np.zeros(4, dtype=np.int64)  # [tag, think, answer, completions] over all completions

    def scorable(self, parsed: ParsedAnswer) -> bool:
        # Table 3 rates are over every completion, unparseable ones included.
        self._checks += (parsed.think_tag_present, parsed.think_non_empty, parsed.answer_non_empty, 1)
        return parsed.status.has_title

    def extra_stats(self) -> dict[str, float]:
        """The three Taiji Table 3 rates since the last read (over all completions)."""
        tag, think, answer, n = self._checks.tolist()
        self._checks[:] = 0
        if not n:
            return {}
        return {"think_tag_presence_rate": tag / n, "think_non_empty_rate": think / n, "answer_non_empty_rate": answer / n}

    def think_credit(self, parsed: ParsedAnswer) -> float:
        """1/0 for a non-empty think block, or its length-aware credit (``think_min_words`` > 0)."""
        if not self.params.think_min_words or not parsed.think_non_empty:
            return float(parsed.think_non_empty)
        distinct = len({word.casefold().strip(".,;:!?*") for word in (parsed.think or "").split()} - {""})
        return min(1.0, distinct / self.params.think_min_words)

    def score(self, prompts: list[Any], parsed: list[ParsedAnswer], columns: dict[str, list[Any]]) -> Sequence[float]:
        p = self.params
        total = p.think_tag_weight + p.think_non_empty_weight + p.answer_non_empty_weight
        return [
            (
                p.think_tag_weight * a.think_tag_present
                + p.think_non_empty_weight * self.think_credit(a)
                + p.answer_non_empty_weight * a.answer_non_empty
            )
            / total
            for a in parsed
        ]
