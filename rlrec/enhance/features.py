"""Taiji §2.4's two enhancements, from each user's LLM output embedding (faiss-cpu does the quantization and search).

* **Intra-user feature quantization**: ``faiss.ProductQuantizer`` (Jégou et al. 2011; Taiji cites product-quantized
  CF, Lian et al. 2020) splits the ``D``-dim embedding into ``M`` sub-vectors and replaces each by the id of its
  nearest of ``2**nbits`` centroids, fitted on the ranker-training users only. The ``M`` ids are sparse features.
* **Cross-user sequence retrieval**: a ``faiss.IndexFlatIP`` over the L2-normalised embeddings of the training
  users (inner product = cosine); each user's top-``k`` most similar *other* user(s), whose most recent ``N``
  events before the cut-off become an extra behaviour sequence.

Dims: ``U`` users, ``D`` embedding dim, ``M`` sub-quantizers, ``k`` neighbours, ``S`` sequence length.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rlrec.answer import parse_answer
from rlrec.semantic import encodable_texts

__all__ = ["embed_outputs", "ProductCodes", "fit_pq", "SimilarUsers", "fit_similar_users", "neighbour_sequences",
           "future_answer_rate", "EnhancerLeakError"]


class EnhancerLeakError(RuntimeError):
    """An LLM output names the users' future too often: the policy saw it (see :func:`future_answer_rate`)."""


def embed_outputs(embedder: Any, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
    """``[U, D]`` float32 embeddings of the whole ``<think>…</think><answer>…</answer>`` outputs (Taiji embeds the
    CoT and the item info) with the configured sentence-transformers embedder."""
    clean, _ = encodable_texts([t or "" for t in texts])
    vectors = embedder.encode(clean, batch_size=batch_size, convert_to_numpy=True, show_progress_bar=False)
    return np.ascontiguousarray(vectors, dtype=np.float32)


@dataclass
class ProductCodes:
    """A fitted faiss product quantizer: ``encode`` gives the sparse ids, ``decode`` the reconstruction."""

    pq: Any  # faiss.ProductQuantizer

    @property
    def subquantizers(self) -> int:
        return int(self.pq.M)

    @property
    def codebook_size(self) -> int:
        return int(self.pq.ksub)

    def encode(self, x: np.ndarray) -> np.ndarray:
        """``[U, M]`` int64 sub-code ids in ``[0, 2**nbits)`` for ``x [U, D]`` (unpacked from faiss' bit codes)."""
        import faiss

        codes = self.pq.compute_codes(np.ascontiguousarray(x, dtype=np.float32))  # [U, code_size] packed bytes
        out = np.empty((len(x), self.subquantizers), dtype=np.int64)
        for u in range(len(x)):
            reader = faiss.PQDecoderGeneric(faiss.swig_ptr(codes[u]), int(self.pq.nbits))
            out[u] = [reader.decode() for _ in range(self.subquantizers)]
        return out

    def decode(self, ids: np.ndarray) -> np.ndarray:
        """``[U, D]`` reconstruction: the concatenated centroids of ``ids [U, M]``."""
        centroids = self.centroids()  # [M, ksub, dsub]
        return np.concatenate([centroids[m, ids[:, m]] for m in range(self.subquantizers)], axis=1)

    def centroids(self) -> np.ndarray:
        """``[M, ksub, D / M]`` the codebooks."""
        import faiss

        return faiss.vector_to_array(self.pq.centroids).reshape(self.subquantizers, self.codebook_size, -1)


def fit_pq(x_train: np.ndarray, subquantizers: int, nbits: int, seed: int = 0) -> ProductCodes:
    """Fit ``M = subquantizers`` codebooks of ``2**nbits`` centroids on the training users' embeddings ``[U_train, D]``
    (faiss k-means per sub-space, seeded)."""
    import faiss

    x = np.ascontiguousarray(x_train, dtype=np.float32)
    n, d = x.shape
    if d % subquantizers:
        raise ValueError(f"enhance.pq_subquantizers={subquantizers} must divide the embedding dimension {d}")
    if n < 2**nbits:
        raise ValueError(f"enhance.pq_nbits={nbits} needs >= {2**nbits} training users per codebook, got {n}; "
                         f"lower enhance.pq_nbits or raise enhance.users / enhance.train_fraction")
    pq = faiss.ProductQuantizer(d, subquantizers, nbits)
    pq.cp.seed = seed
    pq.cp.min_points_per_centroid = 1  # CPU cohorts are small; faiss would warn below 39 points per centroid
    pq.verbose = False
    pq.train(x)
    return ProductCodes(pq)


@dataclass
class SimilarUsers:
    """An inner-product index over the training users' normalised embeddings (cosine search)."""

    index: Any  # faiss.IndexFlatIP
    pool: np.ndarray  # [U_train] cohort user of each indexed row

    def search(self, x: np.ndarray, query_users: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` (cohort user ``[Q, k]``, cosine ``[Q, k]``) for ``x [Q, D]``; a query never finds itself."""
        import faiss

        q = np.ascontiguousarray(x, dtype=np.float32).copy()
        faiss.normalize_L2(q)
        depth = min(k + 1, self.index.ntotal)
        sims, rows = self.index.search(q, depth)
        users, cos = np.full((len(q), k), -1, dtype=np.int64), np.full((len(q), k), np.nan, dtype=np.float32)
        for i in range(len(q)):
            found = [(self.pool[r], s) for r, s in zip(rows[i], sims[i]) if r >= 0 and self.pool[r] != query_users[i]]
            for j, (user, sim) in enumerate(found[:k]):
                users[i, j], cos[i, j] = user, sim
        return users, cos


def fit_similar_users(x_train: np.ndarray, pool: np.ndarray) -> SimilarUsers:
    """Index the training users' embeddings ``[U_train, D]`` (cohort users ``pool [U_train]``), L2-normalised."""
    import faiss

    x = np.ascontiguousarray(x_train, dtype=np.float32).copy()
    faiss.normalize_L2(x)
    index = faiss.IndexFlatIP(x.shape[1])
    index.add(x)
    return SimilarUsers(index, np.asarray(pool, dtype=np.int64))


def neighbour_sequences(neighbours: np.ndarray, history_rows: Sequence[np.ndarray], cut_time: np.ndarray,
                        history_times: Sequence[np.ndarray], length: int, shared_clock: bool) -> np.ndarray:
    """``[U, S]`` catalogue rows (oldest first, -1 padded left, ``S = length``): the ``k`` neighbours' most recent
    events before *their* cut-off, interleaved neighbour by neighbour, and with ``shared_clock`` also strictly
    before the querying user's cut-off time.

    neighbours: ``[U, k]`` cohort users (-1 = none); history_rows[v] / history_times[v]: user v's events before its
    cut-off (rows ``[n_v]``, times ``[n_v]``); cut_time: ``[U]``.
    """
    out = np.full((len(neighbours), length), -1, dtype=np.int64)
    for u, row in enumerate(neighbours):
        parts = []
        for v in row[row >= 0]:
            rows, times = history_rows[v], history_times[v]
            if shared_clock:
                rows = rows[times < cut_time[u]]
            parts.append(rows[-max(1, length // max(1, (row >= 0).sum())):])
        seq = np.concatenate(parts)[-length:] if parts else np.zeros(0, dtype=np.int64)
        if len(seq):
            out[u, -len(seq):] = seq
    return out


def future_answer_rate(outputs: Sequence[str], future_titles: Sequence[set[str]]) -> tuple[float, np.ndarray]:
    """(share of users, ``[U]`` bool) whose parsed ``<answer>`` title is the title of an item the user first meets at
    or after the cut-off (``future_titles[u]``, lower-cased): the leakage screen. An honest policy only reaches that
    by predicting a new item exactly (Title Hit-Rate@1 level, a few percent); a policy that saw the future (trained
    on the user, or prompted past the cut-off) names it far more often."""
    hits = np.array([parse_answer(o).title.strip().lower() in titles for o, titles in zip(outputs, future_titles)])
    return (float(hits.mean()) if len(hits) else 0.0), hits
