"""Hand-built stand-ins for the simulator (grounding + CTCVR), the embedder and the data records."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rlrec.data.schema import Catalog, Item

VOCAB = ["milk", "dairy", "cheese", "cheddar", "bread", "bakery", "sourdough", "produce", "fruit", "apple"]


def toy_catalog() -> Catalog:
    return Catalog(
        [
            Item("a", "Whole Milk", ("Dairy", "Milk")),
            Item("b", "Cheddar Cheese", ("Dairy", "Cheese")),
            Item("c", "Apple", ("Produce", "Fruit")),
            Item("d", "Carrot", ("Produce", "Veg")),
            Item("e", "Sourdough Bread", ("Bakery",)),
        ]
    )


@dataclass
class ToyExample:
    example_id: str
    user_id: str
    target_item_id: str
    target_categories: tuple[str, ...]
    target_text: str
    history_item_ids: list[str] = field(default_factory=list)
    prompt: str = "What will the user buy next?"


def example(catalog: Catalog, i: int, user: str, target: str, history: list[str]) -> ToyExample:
    item = catalog[target]
    return ToyExample(f"ex{i}", user, target, item.categories, item.text(), history)


class FakeGrounder:
    """Ranks the item whose title occurs in the text first, then the rest in catalogue order."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.calls: list[tuple[list[str], int]] = []

    def ground(self, texts, k):
        self.calls.append((list(texts), k))
        ids, sims = [], []
        for text in texts:
            first = [i for i in self.catalog.ids if self.catalog[i].title.lower() in text.lower()]
            ranked = first[:1] + [i for i in self.catalog.ids if i not in first[:1]]
            ids.append(ranked[:k])
            sims.append([1.0 - 0.1 * j for j in range(len(ranked[:k]))])
        return ids, np.array(sims)


class FakeScorer:
    """pCTCVR = per-item base rate, doubled for user u4."""

    BASE = {"a": 0.01, "b": 0.02, "c": 0.03, "d": 0.04, "e": 0.05}

    def __init__(self) -> None:
        self.histories: list[list[str]] = []

    def ctcvr(self, user_ids, item_ids, histories=None):
        self.histories.extend(histories)
        return np.array([self.BASE[i] * (2.0 if u == "u4" else 1.0) for u, i in zip(user_ids, item_ids)])


class BagOfWordsEncoder:
    """Counts of VOCAB words (not normalised: the metric must normalise)."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def encode(self, sentences, **kwargs):
        self.calls.append(list(sentences))
        words = [s.lower().replace(";", " ").replace(":", " ").split() for s in sentences]
        return np.array([[ws.count(v) for v in VOCAB] for ws in words], dtype=float)
