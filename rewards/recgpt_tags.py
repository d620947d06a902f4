"""RecGPT item-tag rewards (§2.2-2.3): tag hit-rate through the tri-tower retrieval, and the tag-list constraints.

Both read the completion with the task's one parser (:func:`rlrec.recgpt.parsing.parse_tags`), not the Taiji
answer parser; a completion without a single tag line gets ``unparseable_value`` (0) and is counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rewards.core.base import Reward, RewardError, register_reward
from rewards.core.params import RewardParams
from rlrec.recgpt.parsing import ParsedList, TagRules, check_tags, parse_tags


class _TagReward(Reward):
    def parse(self, completion: Any) -> ParsedList:
        return parse_tags(completion)

    def scorable(self, parsed: ParsedList) -> bool:  # type: ignore[override]
        return parsed.status.has_entries

    def rules(self) -> TagRules:
        from rlrec.recgpt.tasks import tag_rules

        return self.resources.local("recgpt_tag_rules", lambda: tag_rules(self.resources.config.task,
                                                                          self.resources.log()))


@register_reward("recgpt_tag_hit", description="RecGPT HR@K: the true next item's category (or the item) among the "
                                                "top K items the tri-tower retrieves for the predicted tags")
class TagHit(_TagReward):
    """1 when the user's true next item (``level: item``) or its finest category (``level: category``, RecGPT's
    HR@30 of §2.2.2) is among the top ``k`` items retrieved for the parsed tags by the fused tri-tower score
    ``β·ŷ_sem + (1 − β)·ŷ_col`` (rlrec/recgpt/retrieval.py), else 0. The towers are the ``tri_tower`` stage's
    (``towers``: another folder). Only the specific tags count (one-word or broad ones are ignored); a list
    without one is scored by the collaborative part alone."""

    @dataclass
    class Params(RewardParams):
        unparseable_value: float | None = 0.0
        k: int = 30  # top K retrieved items (RecGPT: 30)
        level: str = "category"  # category | item
        beta: float | None = None  # fusion weight on the semantic score; null = task.beta
        towers: str | None = None  # a folder with tri/ (the tri_tower stage's product when null)

        def __post_init__(self) -> None:
            if self.level not in ("category", "item") or self.k < 1:
                raise ValueError(f"recgpt_tag_hit: level must be category | item and k >= 1, got {self.level!r}, "
                                 f"{self.k}")

    columns = ("user_id", "history_item_ids", "target_item_id")

    @classmethod
    def requires(cls, params: RewardParams) -> tuple[str, ...]:
        return () if params.towers else ("tri_tower",)

    def retriever(self) -> Any:
        from rlrec.recgpt.retrieval import TowerRetriever
        from rlrec.recgpt.towers import load_towers

        folder = self.params.towers or self.resources.product("tri_tower")
        if folder is None:
            raise RewardError("reward 'recgpt_tag_hit' needs trained towers: run it through the pipeline (the "
                              "tri_tower stage) or set params.towers to a folder holding tri/")
        path = Path(folder) / "tri" if (Path(folder) / "tri").is_dir() else Path(folder)
        catalog = self.resources.catalog()

        def load() -> Any:
            model, vocab = load_towers(path, catalog)
            retriever = TowerRetriever(model, vocab, catalog)
            names = [it.categories[-1] if it.categories else f"item:{it.item_id}" for it in catalog]
            ids = {name: i for i, name in enumerate(dict.fromkeys(names))}
            retriever.finest = np.array([ids[name] for name in names])  # [I] finest category id per row
            return retriever

        return self.resources.shared(("recgpt_towers", str(path)), load)

    def score(self, prompts: list[Any], parsed: list[ParsedList], columns: dict[str, list[Any]]) -> Sequence[float]:
        retriever = self.retriever()
        rules = self.rules()
        tags = [list(check_tags(p, rules).specific) for p in parsed]
        beta = self.resources.config.task.beta if self.params.beta is None else self.params.beta
        ranks, _ = retriever.rank(columns["user_id"], columns["history_item_ids"], tags, beta, self.params.k)
        targets = np.array([retriever.catalog.index(t) for t in columns["target_item_id"]])
        if self.params.level == "item":
            return (ranks == targets[:, None]).any(axis=1).astype(float).tolist()
        return (retriever.finest[ranks] == retriever.finest[targets][:, None]).any(axis=1).astype(float).tolist()


@register_reward("recgpt_tag_format", description="RecGPT §2.2.1 tag constraints: count in range, specific tags, "
                                                   "no duplicates, a <think> block (weighted share met)")
class TagFormat(_TagReward):
    """Weighted share of the constraints one tag list meets: tag count within [task.min_tags, task.max_tags],
    the share of specific tags (>= task.min_tag_words words, not all broad words such as a department name),
    no duplicates, a ``<think>`` block. 0 when no tag line parses."""

    @dataclass
    class Params(RewardParams):
        unparseable_value: float | None = 0.0
        count_weight: float = 1.0
        specificity_weight: float = 1.0
        no_duplicates_weight: float = 1.0
        think_weight: float = 1.0

        def __post_init__(self) -> None:
            weights = (self.count_weight, self.specificity_weight, self.no_duplicates_weight, self.think_weight)
            if min(weights) < 0 or not sum(weights) > 0:
                raise ValueError(f"recgpt_tag_format: weights must be >= 0 with a positive sum, got {weights}")

    def score(self, prompts: list[Any], parsed: list[ParsedList], columns: dict[str, list[Any]]) -> Sequence[float]:
        p, rules = self.params, self.rules()
        total = p.count_weight + p.specificity_weight + p.no_duplicates_weight + p.think_weight
        out = []
        for item in parsed:
            check = check_tags(item, rules)
            out.append((p.count_weight * check.count_ok + p.specificity_weight * check.specificity
                        + p.no_duplicates_weight * check.no_duplicates + p.think_weight * item.think_tag_present)
                       / total)
        return out
