"""``semantic_cosine`` (Taiji Eq. 3): cosine between the embeddings of the answer and of the target item.

The definition is :func:`rlrec.semantic.semantic_cosine`, shared with the ``Semantic_Cosine``
evaluation metric, so training and test measure the same thing under one name.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rewards.core.base import Reward, register_reward
from rewards.core.params import RewardParams
from rlrec.answer import ParsedAnswer
from rlrec.semantic import semantic_cosine, semantic_cosine_text, target_text

log = logging.getLogger("rlrec")


@register_reward(
    "semantic_cosine",
    higher_is_better=True,
    range=(-1.0, 1.0),
    description="Taiji Eq. 3: CosineSim(Emb(<answer>), Emb(target item text))",
)
class SemanticCosine(Reward):
    """r_s = cos(e_pred, e_gt) with e = the configured sentence embedder (Taiji uses Qwen3-Embedding-0.6B;
    the default here is ``model.embedder``, MiniLM on CPU); ``e_pred`` embeds the text inside ``<answer>`` as
    generated, ``e_gt`` the target's ``Item.text()`` (:func:`rlrec.semantic.semantic_cosine`).

    Both sides go through the embedder's shared :class:`rewards.EmbeddingCache`, so a target is encoded
    once however many generations it has and a repeated answer is never encoded twice; the misses of a call
    are deduplicated and encoded in one batch. Unparseable (no answer text at all): None — there is nothing
    to embed. Lone surrogate characters are replaced before encoding (:func:`rlrec.semantic.encodable_texts`)
    and the texts so changed counted in ``reward/<name>/sanitized_texts``.
    """

    columns = ("target_text",)

    @dataclass
    class Params(RewardParams):
        unparseable_value: float | None = None
        embedder: str | None = None  # None = model.embedder
        precision: str = "auto"  # auto (bf16 autocast where native: ~2-4x faster on CPU) | float32 | bfloat16
        batch_size: int = 256  # encode batch size
        cache_size: int = 100_000  # texts kept in the shared embedding cache (LRU)
        warm_catalog: bool = False  # preload every catalogue item's embedding (exact catalogue answers never encode)

        def __post_init__(self) -> None:
            if self.precision not in ("auto", "float32", "bfloat16"):
                raise ValueError(f"semantic_cosine.precision must be auto, float32 or bfloat16, got {self.precision!r}")

    def __init__(self, params: Params | None = None, resources: Any = None, *, term: str | None = None) -> None:
        super().__init__(params, resources, term=term)
        p = self.params
        self.cache = resources.embeddings(p.embedder, p.precision, max_items=p.cache_size, batch_size=p.batch_size)
        self._lookups = np.zeros((2, 2), dtype=np.int64)  # [side: answer, target][hit: no, yes]
        self._sanitized = 0  # texts this reward sent to the encoder with lone surrogates replaced
        self._missing_targets = 0  # scorable completions whose example has no target text (scored None)
        if p.warm_catalog:
            self.warm_catalog()

    def scorable(self, parsed: ParsedAnswer) -> bool:
        return bool(semantic_cosine_text(parsed))

    def score(self, prompts: list[Any], parsed: list[ParsedAnswer], columns: dict[str, list[Any]]) -> Sequence[float]:
        def embed(texts: list[str]) -> np.ndarray:  # [answers..., targets...] -> [2N, D]; one batch for all misses
            vectors, hit = self.cache.embed(texts)
            n = len(texts) // 2
            self._lookups[0] += np.bincount(hit[:n].astype(np.int64), minlength=2)
            self._lookups[1] += np.bincount(hit[n:].astype(np.int64), minlength=2)
            return vectors

        before = self.cache.sanitized
        targets = columns["target_text"]
        values = semantic_cosine(embed, parsed, targets).tolist()  # NaN (-> None) where the target text is missing
        self._sanitized += self.cache.sanitized - before
        missing = sum(not target_text(t) for t in targets)
        if missing:
            self._missing_targets += missing
            log.warning("reward %r: %d of %d examples have no target_text (None, NaN or empty); scored None "
                        "(reward/%s/missing_target counts them). Check the data's item texts.",
                        self.__name__, missing, len(targets), self.__name__)
        return values

    def warm_catalog(self) -> None:
        """Put every catalogue item's ``Item.text()`` in the cache, from the item matrix the simulator caches on
        disk for this embedder + catalogue (``ItemIndex.build``, same ``simulator.cache_dir``; computed and
        cached here when the simulator was never built)."""
        from rlrec.simulator import ItemIndex

        catalog = self.resources.catalog()
        sim = self.resources.config.simulator
        name = self.resources.embedder_name(self.params.embedder)
        index = ItemIndex.build(catalog, self.cache.encoder, sim.cache_dir, name, batch_size=sim.encode_batch_size,
                                precision=sim.encode_precision)
        self.cache.max_items = max(self.cache.max_items, 2 * len(catalog))  # room for targets and new answers
        self.cache.put([item.text() for item in catalog], index.matrix)

    def warm(self, texts: Sequence[str]) -> int:
        """Encode ``texts`` (e.g. the targets of a dataset) ahead of training; returns how many were new."""
        return self.cache.warm(list(texts))

    def extra_stats(self) -> dict[str, float]:
        """``cache_hit_rate`` (answers and targets), ``answer_cache_hit_rate``, ``target_cache_hit_rate``,
        ``sanitized_texts``, ``missing_target``."""
        lookups, sanitized, missing = self._lookups, self._sanitized, self._missing_targets
        self._lookups, self._sanitized, self._missing_targets = np.zeros_like(lookups), 0, 0
        if not lookups.sum():
            return {"missing_target": float(missing)} if missing else {}

        def rate(row: np.ndarray) -> float:
            return float(row[1] / row.sum()) if row.sum() else float("nan")

        return {
            "cache_hit_rate": rate(lookups.sum(axis=0)),
            "answer_cache_hit_rate": rate(lookups[0]),
            "target_cache_hit_rate": rate(lookups[1]),
            "sanitized_texts": float(sanitized),
            "missing_target": float(missing),
        }
