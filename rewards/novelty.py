"""``novelty`` (seed 003): reward a predicted item whose interest cluster is outside the user's history."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rewards.category_match import normalize_category
from rewards.core.base import Reward, register_reward
from rewards.core.grounding import make_grounder
from rewards.core.params import RewardParams
from rlrec.answer import ParsedAnswer


def category_path(categories: Sequence[str], level: int) -> tuple[str, ...]:
    """Normalised categories L1..L``level`` — an aisle is identified with its department."""
    return tuple(normalize_category(c) for c in list(categories)[:level])


def is_novel(candidate: Any, history: Sequence[Any]) -> float:
    """1.0 when ``candidate`` (a cluster id or category path) is not among ``history``'s, else 0.0."""
    return float(candidate not in set(history))


@register_reward("novelty",  # higher_is_better=True, range=(0, 1): the defaults
                 description="seed 003: 1 if the predicted item's interest cluster is outside the user's recent clusters")
class Novelty(Reward):
    """1.0 if the answer's interest cluster is not one of the user's recent clusters, else 0.0.

    Seed 003 explores at the level of interest clusters: a prediction is novel when its cluster is one the
    user has not engaged with (its "novel impression ratio"). "Recent" = the clusters of the ``window`` most
    recent ``history_item_ids`` (None: the whole history shown in the prompt).

    Modes:

    * ``cluster`` — the simulator's k-means interest clusters: the answer is grounded to a catalogue item
      (the simulator's index) and its cluster compared with the history items' clusters.
    * ``category`` — no simulator needed: the interest cluster is the category path L1..L``level`` (the
      finest level the answer names when ``level`` is None), compared with the history items' paths.

    Novelty alone is trivially hacked by naming anything unrelated; it is meant to be weighed against a
    relevance reward. Unparseable: None (no predicted item or category, novelty undefined).
    """

    columns = ("history_item_ids",)

    @dataclass
    class Params(RewardParams):
        unparseable_value: float | None = None
        mode: str = "cluster"  # cluster (simulator) | category (category path, no simulator)
        window: int | None = None  # most recent history items that define "recent"; None = all in the prompt
        level: int | None = None  # category mode: compare paths down to this level; None = the answer's finest
        simulator: str | None = None  # cluster mode: simulator folder; None = the newest one built for this catalogue

        def __post_init__(self) -> None:
            if self.mode not in ("cluster", "category"):
                raise ValueError(f"novelty.mode must be 'cluster' or 'category', got {self.mode!r}")
            if self.window is not None and self.window < 1:
                raise ValueError(f"novelty.window must be >= 1 or null, got {self.window}")

    def __init__(self, params: Params | None = None, resources: Any = None, *, term: str | None = None) -> None:
        super().__init__(params, resources, term=term)
        self._unknown_history = 0
        if self.params.mode == "cluster":
            self.simulator = resources.simulator(self.params.simulator)
            self.grounder = make_grounder(resources, self.simulator)
        else:
            self.catalog = resources.catalog()

    def scorable(self, parsed: ParsedAnswer) -> bool:
        if self.params.mode == "category":
            return any(parsed.categories)
        return parsed.status.has_title or bool(parsed.answer_text.strip())

    def score(self, prompts: list[Any], parsed: list[ParsedAnswer], columns: dict[str, list[Any]]) -> Sequence[float | None]:
        histories = [list(h or [])[: self.params.window] for h in columns["history_item_ids"]]
        if self.params.mode == "category":
            return [self._category_novelty(p, h) for p, h in zip(parsed, histories)]
        return self._cluster_novelty(parsed, histories)

    def _category_novelty(self, parsed: ParsedAnswer, history: list[str]) -> float | None:
        cats = list(parsed.categories)
        while cats and not cats[-1]:
            cats.pop()
        level = min(self.params.level or len(cats), len(cats))
        if level == 0 or not cats[level - 1]:
            return None
        seen = []
        for item_id in history:
            item = self.catalog.get(str(item_id))
            if item is None:
                self._unknown_history += 1
                continue
            seen.append(category_path(item.categories, level))
        return is_novel(category_path(cats, level), seen)

    def _cluster_novelty(self, parsed: list[ParsedAnswer], histories: list[list[str]]) -> list[float | None]:
        from rlrec.simulator.clusters import UNKNOWN

        clusters = self.simulator.clusters
        item_ids, _, _ = self.grounder.ground_top1([p.item_text() for p in parsed])  # [N]
        predicted = clusters.of(item_ids)  # [N] cluster ids
        out: list[float | None] = []
        for cluster, history in zip(predicted.tolist(), histories):
            seen = clusters.of([str(h) for h in history]) if history else np.zeros(0, dtype=np.int64)
            self._unknown_history += int((seen == UNKNOWN).sum())
            out.append(is_novel(cluster, seen[seen != UNKNOWN].tolist()))
        return out

    def extra_stats(self) -> dict[str, float]:
        out = {"unknown_history_items": float(self._unknown_history)} if self._unknown_history else {}
        self._unknown_history = 0
        return out
