"""``category_match``: hierarchical credit for the predicted categories against the target's."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rewards.core.base import Reward, register_reward
from rewards.core.params import RewardParams
from rlrec.answer import ParsedAnswer


def normalize_category(name: str) -> str:
    """Case- and whitespace-insensitive form used for comparisons."""
    return " ".join(str(name).casefold().split())


def level_weights(depth: int, weights: Sequence[float]) -> list[float]:
    """Weights of levels 1..depth: the configured ones, or 1, 2, …, depth (finer levels are harder)."""
    if not weights:
        return [float(level) for level in range(1, depth + 1)]
    if len(weights) < depth:
        raise ValueError(f"category_match: {len(weights)} level_weights for {depth} compared levels")
    return [float(w) for w in weights[:depth]]


def category_credit(predicted: Sequence[str], target: Sequence[str], weights: Sequence[float],
                    hierarchical: bool = True) -> float:
    """Σ_l w_l · match_l / Σ_l w_l over the target's levels (``len(weights)`` of them).

    ``match_l`` = the predicted level-l category equals the target's (normalised); ``hierarchical``: level l
    counts only when every coarser level matches too (a right aisle under the wrong department is wrong).
    """
    depth = len(weights)
    credit, ok = 0.0, True
    for level in range(depth):
        pred = normalize_category(predicted[level]) if level < len(predicted) else ""
        match = bool(pred) and pred == normalize_category(target[level])
        ok = (ok and match) if hierarchical else match
        credit += weights[level] * ok
    return credit / sum(weights)


@register_reward("category_match",  # higher_is_better=True, range=(0, 1): the defaults
                 description="hierarchical category credit: sum of level weights of the matching L1..Ln prefix, normalised")
class CategoryMatch(Reward):
    """Credit in [0, 1] for the predicted L1/L2(/L3) categories against ``target_categories``.

    Default weights are linear in the level (L1: 1, L2: 2, L3: 3), normalised over the target's levels: with
    two levels a right L1 alone earns 1/3 and a right L1 + L2 earns 1. Hierarchical by default (see
    :func:`category_credit`). Target without categories: None. Unparseable (no title and no category): 0 — a
    completion that names no category earns no category credit.
    """

    columns = ("target_categories",)

    @dataclass
    class Params(RewardParams):
        unparseable_value: float | None = 0.0
        levels: int | None = None  # compare at most this many levels; None = every level the target has
        level_weights: list[float] = field(default_factory=list)  # [] = 1, 2, 3, … (per level, L1 first)
        hierarchical: bool = True  # a level counts only if all coarser levels match

        def __post_init__(self) -> None:
            if self.levels is not None and self.levels < 1:
                raise ValueError(f"category_match.levels must be >= 1 or null, got {self.levels}")
            if any(w < 0 for w in self.level_weights) or (self.level_weights and sum(self.level_weights) <= 0):
                raise ValueError(f"category_match.level_weights must be >= 0 with a positive sum, got {self.level_weights}")

    def scorable(self, parsed: ParsedAnswer) -> bool:
        return parsed.status.has_title or any(parsed.categories)

    def score(self, prompts: list[Any], parsed: list[ParsedAnswer], columns: dict[str, list[Any]]) -> Sequence[float | None]:
        out: list[float | None] = []
        for answer, target in zip(parsed, columns["target_categories"]):
            target = list(target or [])
            while target and not target[-1]:  # trailing empty levels: the target is not that deep
                target.pop()
            depth = min(len(target), self.params.levels or len(target))
            if depth == 0:
                out.append(None)
                continue
            weights = level_weights(depth, self.params.level_weights)
            out.append(category_credit(answer.categories, target, weights, self.params.hierarchical))
        return out
