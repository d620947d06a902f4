"""Toy catalogues, logs and a deterministic bag-of-words embedder for the simulator tests."""

from __future__ import annotations

import hashlib
import re

import numpy as np

from rlrec.data.schema import Catalog, Interaction, InteractionLog, Item, UserProfile


class FakeEmbedder:
    """Bag of words hashed into ``dim`` buckets, L2-normalised: texts sharing words are similar.

    Counts its ``encode`` calls and encoded texts so tests can check caching.
    """

    def __init__(self, dim: int = 64, salt: str = "") -> None:
        self.dim = dim
        self.salt = salt
        self.calls = 0
        self.texts_encoded = 0

    def _bucket(self, word: str) -> int:
        return int(hashlib.md5((self.salt + word).encode()).hexdigest(), 16) % self.dim

    def encode(self, texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False):
        self.calls += 1
        self.texts_encoded += len(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in re.findall(r"[a-z0-9]+", text.lower()):
                if word not in {"item", "title", "category", "l1", "l2"}:
                    out[i, self._bucket(word)] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)


def toy_catalog() -> Catalog:
    """Items A..D: A, B in "fruit"; C, D in "dairy" (L2 differs per item)."""
    return Catalog([
        Item("A", "banana", ("produce", "fruit")),
        Item("B", "apple", ("produce", "fruit")),
        Item("C", "milk", ("dairy", "milk")),
        Item("D", "yogurt", ("dairy", "yogurt")),
    ])


def basket_log() -> InteractionLog:
    """u1 orders: o1 [A, B], o2 [A, C], o3 [B], o4 [A], o5 [C] (order index = time)."""
    orders = [["A", "B"], ["A", "C"], ["B"], ["A"], ["C"]]
    events, seq = [], 0
    for t, basket in enumerate(orders):
        for item in basket:
            events.append(Interaction("u1", item, float(t), seq, group=f"o{t + 1}"))
            seq += 1
    return InteractionLog("toy_baskets", toy_catalog(), {"u1": events})


def rating_log() -> InteractionLog:
    """u2 rates A 5, B 2, C 4, D 3 in that order; profile gender=f."""
    ratings = [("A", 5.0), ("B", 2.0), ("C", 4.0), ("D", 3.0)]
    events = [Interaction("u2", item, float(t), t, behavior="rating", rating=r) for t, (item, r) in enumerate(ratings)]
    return InteractionLog("toy_ratings", toy_catalog(), {"u2": events}, profiles={"u2": UserProfile("u2", {"gender": "f"})})


def synthetic_log(num_users: int = 40, seed: int = 0) -> InteractionLog:
    """40 items in 4 departments; each user buys mostly from one department, re-buying favourites.

    Structured enough that a personalised model beats popularity (users differ in taste).
    """
    rng = np.random.default_rng(seed)
    departments = ["fruit", "dairy", "bakery", "snacks"]
    items = [Item(f"i{d * 10 + j}", f"{dep} product {j}", (dep, f"{dep} aisle {j % 2}"))
             for d, dep in enumerate(departments) for j in range(10)]
    histories = {}
    for u in range(num_users):
        fav = u % 4
        staples = rng.choice(10, size=3, replace=False) + fav * 10
        events, seq = [], 0
        for order in range(8):
            basket = set(rng.choice(staples, size=2, replace=False).tolist())
            basket |= set((rng.choice(10, size=2) + fav * 10).tolist())
            if rng.random() < 0.3:
                basket.add(int(rng.integers(40)))
            for item in sorted(basket):
                events.append(Interaction(f"u{u}", f"i{item}", float(order), seq, group=f"u{u}o{order}"))
                seq += 1
        histories[f"u{u}"] = events
    profiles = {f"u{u}": UserProfile(f"u{u}", {"segment": "a" if u % 2 else "b"}) for u in range(num_users)}
    return InteractionLog("synthetic", Catalog(items), histories, profiles=profiles)
