"""Toy inputs for reward tests: a hand-made catalogue and an embedder whose vectors we choose."""

from __future__ import annotations

import numpy as np

import rewards
from rewards.core.resources import Resources, embeddings_key
from rlrec.answer import format_completion
from rlrec.data.schema import Catalog, Item


class TableEmbedder:
    """``encode`` looks texts up in a table of vectors we pick (so cosines are hand-computable); records calls."""

    def __init__(self, table: dict[str, list[float]]) -> None:
        self.table = {k: np.asarray(v, dtype=np.float32) for k, v in table.items()}
        self.calls: list[list[str]] = []

    def get_sentence_embedding_dimension(self) -> int:
        return len(next(iter(self.table.values())))

    def encode(self, texts, batch_size=32, convert_to_numpy=True, normalize_embeddings=False, show_progress_bar=False):
        self.calls.append(list(texts))
        out = np.stack([self.table[t] for t in texts])
        if normalize_embeddings:
            out = out / np.linalg.norm(out, axis=1, keepdims=True)
        return out


ITEMS = [
    Item("a", "Banana", ("Produce", "Fresh Fruits", "Tropical")),
    Item("b", "Apple", ("Produce", "Fresh Fruits", "Pome")),
    Item("c", "Carrot", ("Produce", "Fresh Vegetables", "Roots")),
    Item("d", "Milk", ("Dairy", "Milk", "Whole")),
    Item("e", "Yogurt", ("Dairy", "Yogurt", "Greek")),
]


def with_table_embedder(resources: Resources, table: dict[str, list[float]]) -> TableEmbedder:
    """Make ``resources`` serve a fresh :class:`TableEmbedder` (behind a fresh cache) as the default embedder."""
    embedder = TableEmbedder(table)
    name = resources.config.model.embedder
    cache = rewards.EmbeddingCache(embedder, max_items=100, batch_size=64)
    for precision in ("float32", "bfloat16", "auto"):
        resources.provide(embeddings_key(name, precision), cache)
    return embedder


def completion(title: str, categories=(), think: str = "because") -> str:
    return format_completion(think, title, categories)


class HashEmbedder:
    """Deterministic bag-of-words embedder for any text: a fixed random vector per lower-cased word, summed.

    Texts sharing words are close, so grounding behaves sensibly on a toy catalogue.
    """

    dim = 32

    def get_sentence_embedding_dimension(self) -> int:
        return self.dim

    @staticmethod
    def _word(word: str) -> np.ndarray:
        import hashlib

        seed = int(hashlib.sha256(word.encode()).hexdigest()[:8], 16)
        return np.random.default_rng(seed).standard_normal(HashEmbedder.dim)

    def encode(self, texts, batch_size=32, convert_to_numpy=True, normalize_embeddings=False, show_progress_bar=False,
               **kwargs):
        rows = []
        for text in texts:
            words = text.lower().replace(";", " ").replace(":", " ").split()
            rows.append(sum((self._word(w) for w in words), np.zeros(self.dim)))
        out = np.stack(rows).astype(np.float32)
        if normalize_embeddings:
            out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out


def toy_rating_log():
    """30 users x 16 rated events over 20 items in 4 aisles; each user loves one aisle (rating 5, else 2)."""
    import random

    from rlrec.data.schema import Interaction, InteractionLog

    aisles = [("Produce", "Fruits"), ("Produce", "Vegetables"), ("Dairy", "Milk"), ("Snacks", "Chips")]
    items = [Item(f"i{a}{j}", f"{aisles[a][1]} item {j}", aisles[a]) for a in range(4) for j in range(5)]
    rng = random.Random(0)
    histories = {}
    for u in range(30):
        favourite = u % 4
        events = []
        for t in range(16):
            aisle = favourite if rng.random() < 0.7 else rng.randrange(4)
            item = items[aisle * 5 + rng.randrange(5)]
            events.append(Interaction(f"u{u}", item.item_id, float(t), rating=5.0 if aisle == favourite else 2.0,
                                      behavior="rating"))
        histories[f"u{u}"] = events
    return InteractionLog("toy_ratings", Catalog(items), histories)


def logit(path, text: str) -> float:
    """The raw head output of the saved model on ``text`` (no special tokens, as the RM is scored)."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(path))
    model = AutoModelForSequenceClassification.from_pretrained(str(path)).eval()
    ids = tokenizer(text, add_special_tokens=False, return_tensors="pt")
    with torch.no_grad():
        return float(model(**ids).logits[0, 0])
