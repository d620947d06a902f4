"""Interest clusters (seed 003 §2): k-means over item embeddings, named from their most common categories.

A user is represented by the last ``K`` distinct clusters of their history (seed 003: ``S_u``, ``|S_u| = K``).
Histories follow the data contract: most recent FIRST by default (``rlrec.data.Example.history_item_ids``);
pass ``most_recent_first=False`` for a chronological list (``InteractionLog.histories``). Sequences and
contexts are returned oldest first.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from rlrec.data.schema import Catalog

__all__ = ["InterestClusters", "name_clusters", "last_distinct"]

UNKNOWN = -1


def name_clusters(labels: np.ndarray, catalog: Catalog, num_clusters: int, centrality: np.ndarray | None = None,
                  terms: int = 2) -> list[str]:
    """A unique name per cluster: its ``terms`` most common category values (all levels, ties by name).

    A cluster whose items have no categories is named by its most central titles (``centrality``: ``[I]``,
    higher = closer to the centroid; catalogue order when None). Colliding names get one more category,
    then a " #<id>" suffix.
    """
    items = list(catalog)
    central = np.zeros(len(items)) if centrality is None else centrality
    ranked: list[list[str]] = []
    for c in range(num_clusters):
        members = np.flatnonzero(labels == c)
        counts = Counter(cat for r in members for cat in dict.fromkeys(items[r].categories) if cat)
        words = [w for w, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
        if not words:
            by_centrality = members[np.argsort(-central[members], kind="stable")]
            words = list(dict.fromkeys(items[r].title for r in by_centrality))
        ranked.append(words or [f"cluster {c}"])
    names = [" / ".join(w[:terms]) for w in ranked]
    for c in range(num_clusters):
        if names.count(names[c]) > 1 and len(ranked[c]) > terms:
            names[c] = " / ".join(ranked[c][: terms + 1])
    seen: Counter = Counter(names)
    return [f"{n} #{c}" if seen[n] > 1 else n for c, n in enumerate(names)]


def last_distinct(sequence: Sequence[int], k: int, ordered: bool = True) -> tuple[int, ...] | None:
    """The last ``k`` distinct clusters of a chronological ``sequence``: in order of their last occurrence,
    oldest first (``ordered``), or sorted by id (a set). None when the sequence has fewer than ``k``."""
    picked: list[int] = []
    for c in reversed(sequence):
        if c != UNKNOWN and c not in picked:
            picked.append(c)
            if len(picked) == k:
                break
    if len(picked) < k:
        return None
    return tuple(reversed(picked)) if ordered else tuple(sorted(picked))


@dataclass
class InterestClusters:
    """Cluster id per catalogue item (``labels`` ``[I]``), names ``[k]``, centroids ``[k, D]``."""

    item_ids: list[str]
    labels: np.ndarray
    names: list[str]
    centroids: np.ndarray

    def __post_init__(self) -> None:
        self._rows = pd.Index(self.item_ids)

    @property
    def k(self) -> int:
        return len(self.names)

    @property
    def sizes(self) -> np.ndarray:
        return np.bincount(self.labels[self.labels >= 0], minlength=self.k)

    @classmethod
    def fit(cls, matrix: np.ndarray, catalog: Catalog, k: int, seed: int = 0,
            max_fit_items: int = 10_000) -> InterestClusters:
        """k-means (k-means++, 3 restarts) over the item embeddings ``matrix`` ``[I, D]`` in catalogue order.

        Centroids are fitted on a seeded sample of at most ``max_fit_items`` items (bounded CPU time on
        large catalogues); every item is then assigned to its nearest centroid.
        """
        from sklearn.cluster import KMeans

        k = min(k, len(catalog))
        rng = np.random.default_rng(seed)
        fit_rows = np.sort(rng.choice(len(matrix), size=max_fit_items, replace=False)) if len(matrix) > max_fit_items \
            else np.arange(len(matrix))
        km = KMeans(n_clusters=k, n_init=3, random_state=seed).fit(matrix[fit_rows])
        labels = km.predict(matrix).astype(np.int64)
        centrality = -np.linalg.norm(matrix - km.cluster_centers_[labels], axis=1)
        names = name_clusters(labels, catalog, k, centrality)
        return cls(list(catalog.ids), labels, names, km.cluster_centers_.astype(np.float32))

    def of(self, item_ids: Sequence[str]) -> np.ndarray:
        """``[N]`` cluster id per item id; -1 for ids not in the catalogue."""
        rows = self._rows.get_indexer(list(item_ids))
        return np.where(rows >= 0, self.labels[rows], UNKNOWN)

    def sequence(self, history_item_ids: Sequence[str], most_recent_first: bool = True) -> list[int]:
        """Chronological (oldest first) cluster sequence of a history, consecutive repeats collapsed and
        unknown items dropped."""
        ids = list(history_item_ids)[::-1] if most_recent_first else list(history_item_ids)
        out: list[int] = []
        for c in self.of(ids).tolist():
            if c != UNKNOWN and (not out or out[-1] != c):
                out.append(c)
        return out

    def context(self, history_item_ids: Sequence[str], k: int = 2, ordered: bool = True,
                most_recent_first: bool = True) -> tuple[int, ...] | None:
        """The user's last ``k`` distinct clusters (see :func:`last_distinct`); None if the history has fewer."""
        return last_distinct(self.sequence(history_item_ids, most_recent_first), k, ordered)

    def save(self, directory: Path) -> None:
        np.savez_compressed(directory / "clusters.npz", labels=self.labels, centroids=self.centroids)
        (directory / "clusters.json").write_text(json.dumps(
            {"names": self.names, "sizes": self.sizes.tolist()}, indent=1))

    @classmethod
    def load(cls, directory: Path, item_ids: Sequence[str]) -> InterestClusters:
        arrays = np.load(directory / "clusters.npz")
        meta = json.loads((directory / "clusters.json").read_text())
        return cls(list(item_ids), arrays["labels"], meta["names"], arrays["centroids"])
