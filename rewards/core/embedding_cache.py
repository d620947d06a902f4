"""A text → embedding cache in front of one sentence embedder, shared by every reward that embeds text.

Semantic rewards embed the same strings again and again: the target of a prompt once per generation,
and the popular answers of a converging policy. Each distinct string is encoded once; misses of a batch
are deduplicated and encoded together in one batched call.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np

from rlrec.assets import embedder_autocast
from rlrec.semantic import encodable_texts


class EmbeddingCache:
    """LRU map text → unit-norm float32 vector [D] for one embedder.

    ``encoder`` is anything with sentence-transformers' ``encode(texts, batch_size=…, convert_to_numpy=True,
    normalize_embeddings=True, show_progress_bar=False) -> [N, D]``. ``precision``: ``float32``, ``bfloat16``
    (autocast) or ``auto`` (bf16 autocast where the hardware has native bf16 — AMX / AVX512-BF16 CPUs, CUDA —
    as the simulator's item index does; cosine to fp32 > 0.9999). Thread-safe.
    """

    def __init__(self, encoder: Any, max_items: int = 100_000, batch_size: int = 256, precision: str = "float32") -> None:
        if max_items < 1:
            raise ValueError(f"embedding cache size must be >= 1, got {max_items}")
        if precision not in ("float32", "bfloat16", "auto"):
            raise ValueError(f"embedding precision must be float32, bfloat16 or auto, got {precision!r}")
        self.encoder = encoder
        self.max_items = max_items
        self.batch_size = batch_size
        self.precision = precision
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.encoded = 0  # strings encoded since creation
        self.sanitized = 0  # of those, strings with lone surrogates replaced before encoding (encodable_texts)

    def __len__(self) -> int:
        return len(self._vectors)

    def __contains__(self, text: object) -> bool:
        return text in self._vectors

    def embed(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Embeddings [N, D] (unit norm) and a hit mask [N] (True = served without encoding).

        A string repeated inside ``texts`` is encoded once; its later occurrences count as hits.
        """
        texts = list(texts)
        hit = np.zeros(len(texts), dtype=bool)  # [N]
        with self._lock:
            found = {}
            for i, text in enumerate(texts):
                vec = self._vectors.get(text)
                if vec is not None:
                    self._vectors.move_to_end(text)
                    found[text] = vec
                    hit[i] = True
        missing = list(dict.fromkeys(t for t, h in zip(texts, hit) if not h))  # unique, first-seen order
        if missing:
            encoded = self._encode(missing)  # [M, D]
            with self._lock:
                for text, vec in zip(missing, encoded):
                    found[text] = vec
                    self._insert(text, vec)
            seen: set[str] = set()
            for i, text in enumerate(texts):  # in-batch duplicates of a miss are hits
                if not hit[i]:
                    hit[i] = text in seen
                    seen.add(text)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32), hit
        return np.stack([found[t] for t in texts]).astype(np.float32, copy=False), hit

    def warm(self, texts: Sequence[str]) -> int:
        """Encode and cache ``texts`` ahead of time; returns how many were new."""
        before = self.encoded
        self.embed(texts)
        return self.encoded - before

    def put(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        """Insert precomputed embeddings (e.g. the simulator's catalogue matrix); rows are L2-normalised."""
        vectors = np.asarray(vectors, dtype=np.float32)  # [N, D]
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        vectors = vectors / np.maximum(norms, 1e-12)
        with self._lock:
            for text, vec in zip(texts, vectors):
                self._insert(text, vec)

    @property
    def dim(self) -> int:
        if self._vectors:
            return len(next(iter(self._vectors.values())))
        get_dim = getattr(self.encoder, "get_sentence_embedding_dimension", None)
        return int(get_dim()) if get_dim else 0

    def _insert(self, text: str, vec: np.ndarray) -> None:
        self._vectors[text] = vec
        self._vectors.move_to_end(text)
        while len(self._vectors) > self.max_items:
            self._vectors.popitem(last=False)

    def _encode(self, texts: list[str]) -> np.ndarray:
        clean, sanitized = encodable_texts(texts)  # the cache keys stay the texts as given
        self.sanitized += sanitized
        with embedder_autocast(self.encoder, self.precision, "embedding precision"):
            vectors = self.encoder.encode(
                clean, batch_size=self.batch_size, convert_to_numpy=True, normalize_embeddings=True,
                show_progress_bar=False,
            )
        self.encoded += len(texts)
        vectors = np.asarray(vectors, dtype=np.float32)  # [M, D]
        # Encoders that ignore normalize_embeddings still give unit vectors here.
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
