"""Answer text → catalogue item, for rewards: the simulator's grounding with two exact shortcuts.

The simulator grounds a text to the item whose embedding is closest (``ItemIndex``: top-1 cosine). Here the
same result is reached with less work: (1) a text identical to a catalogue item's ``Item.text()`` is that
item (its own embedding is the top-1 at cosine 1; only exact duplicates in the catalogue could tie), (2) a
text grounded before is remembered (LRU), (3) the remaining texts are embedded through the shared
:class:`EmbeddingCache` and searched in one matrix product.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np

from rewards.core.embedding_cache import EmbeddingCache

EXACT, REMEMBERED, SEARCHED = 0, 1, 2  # how a text was grounded (``CachedGrounder.ground_top1``'s third output)


def grounding_rates(how: np.ndarray) -> dict[str, float]:
    """Shares of texts grounded exactly / remembered / searched, from the ``how`` codes [N] of some calls."""
    if not len(how):
        return {}
    counts = np.bincount(how, minlength=3) / len(how)
    return {"grounding_exact_rate": float(counts[EXACT]), "grounding_remembered_rate": float(counts[REMEMBERED]),
            "grounding_searched_rate": float(counts[SEARCHED])}


class CachedGrounder:
    """Ground texts to catalogue item ids like ``simulator.index.ground(texts, k=1)``, faster.

    One grounding concept, :class:`rlrec.eval.Grounder` (``ground(texts, k)``), which the simulator's
    ``ItemIndex`` implements by search and this class by the shortcuts above (for ``k = 1``; a larger ``k``
    is the index's search). Rewards call :meth:`ground_top1`, which also says how each text was found.
    ``index``: an ``rlrec.simulator.ItemIndex``; ``catalog``: the catalogue it was built on; ``cache``: the
    embedding cache of the index's embedder.
    """

    def __init__(self, index: Any, catalog: Any, cache: EmbeddingCache, memory: int = 100_000) -> None:
        self.index = index
        self.cache = cache
        self.memory = memory
        in_index = set(index.ids)
        self._exact: dict[str, str] = {}
        for item in catalog:
            if item.item_id in in_index:
                self._exact.setdefault(item.text(), item.item_id)
        self._grounded: OrderedDict[str, tuple[str, float]] = OrderedDict()

    def ground(self, texts: Sequence[str], k: int = 1) -> tuple[list[list[str]], np.ndarray]:
        """:class:`rlrec.eval.Grounder`: top-``k`` item ids ``[N][k]`` and their cosines ``[N, k]``."""
        if k != 1:
            return self.index.ground(texts, k)
        ids, sims, _ = self.ground_top1(texts)
        return [[i] for i in ids], sims[:, None]

    def ground_top1(self, texts: Sequence[str]) -> tuple[list[str], np.ndarray, np.ndarray]:
        """Top-1 item id per text ``[N]``, its cosine similarity ``[N]`` and how it was found ``[N]``
        (:data:`EXACT`, :data:`REMEMBERED`, :data:`SEARCHED`)."""
        ids: list[str | None] = [None] * len(texts)
        sims = np.ones(len(texts), dtype=np.float32)  # [N]
        how = np.full(len(texts), EXACT, dtype=np.int64)  # [N]
        todo: dict[str, list[int]] = {}
        for i, text in enumerate(texts):
            exact = self._exact.get(text)
            if exact is not None:
                ids[i] = exact
            elif text in self._grounded:
                self._grounded.move_to_end(text)
                ids[i], sims[i] = self._grounded[text]
                how[i] = REMEMBERED
            else:
                todo.setdefault(text, []).append(i)
        if todo:
            unique = list(todo)
            vectors, _ = self.cache.embed(unique)  # [M, D]
            rows, top = self.index.search(vectors, 1)  # [M, 1], [M, 1]
            for text, row, sim in zip(unique, rows[:, 0].tolist(), top[:, 0].tolist()):
                item_id = self.index.ids[row]
                self._remember(text, item_id, sim)
                for i in todo[text]:
                    ids[i], sims[i], how[i] = item_id, sim, SEARCHED
        return ids, sims, how  # type: ignore[return-value]

    def _remember(self, text: str, item_id: str, sim: float) -> None:
        self._grounded[text] = (item_id, sim)
        while len(self._grounded) > self.memory:
            self._grounded.popitem(last=False)


def make_grounder(resources: Any, simulator: Any) -> CachedGrounder:
    """The grounder of ``simulator`` (shared per simulator in ``resources``): its index, catalogue and the
    embedding cache of the embedder it was built with."""

    def build() -> CachedGrounder:
        # Same embedder and precision as the index, so a searched text lands where the simulator would put it.
        precision = simulator.meta.get("config", {}).get("encode_precision", "float32")
        cache = resources.embeddings(simulator.embedder_name, precision)
        return CachedGrounder(simulator.index, resources.catalog(), cache)

    return resources.local(("grounder", str(simulator.path)), build)
