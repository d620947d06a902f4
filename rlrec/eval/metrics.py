"""Per-completion metric values and corpus-level health statistics (pure numpy, no models).

Dimensions: ``N`` test examples, ``S`` completions per example (1 for greedy decoding), ``M = N*S``
completions, ``k`` grounded items per answer. Functions here return one value per completion
(``[M]``; NaN where undefined); :mod:`rlrec.eval.evaluation` averages them per example and bootstraps.

The models these metrics need are passed in as duck-typed objects (see the protocols below), so tests
use small hand-built fakes and the evaluation uses the real simulator and embedder:

* :class:`Grounder` — ``rlrec.simulator.Simulator().index``: answer text → top-k catalogue items (the one
  grounding protocol; the rewards' ``CachedGrounder`` implements it too).
* :class:`CtcvrScorer` — ``rlrec.simulator.Simulator``: raw pCTCVR(user, item).
* :class:`TextEncoder` — a ``SentenceTransformer`` (``rlrec.assets.load_embedder``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from rlrec.answer import ParsedAnswer
from rlrec.semantic import encodable_texts, rowwise_cosine, semantic_cosine, semantic_cosine_text

__all__ = [
    "Grounder",
    "CtcvrScorer",
    "TextEncoder",
    "normalize_label",
    "category_accuracy",
    "format_flags",
    "title_hits",
    "semantic_cosine",
    "semantic_cosine_text",
    "rowwise_cosine",
    "distinct_encode",
    "gini",
    "head_items",
    "per_example_mean",
]


@runtime_checkable
class Grounder(Protocol):
    """Answer text → catalogue items, the one grounding concept: ``rlrec.simulator.ItemIndex`` (search) and
    the rewards' ``CachedGrounder`` (the same top-1 with exact-text and remembered shortcuts) implement it."""

    def ground(self, texts: Sequence[str], k: int) -> tuple[list[list[str]], np.ndarray]:
        """Top-``k`` catalogue item ids ``[M][k]`` (best first) and their similarities ``[M, k]``."""
        ...


class CtcvrScorer(Protocol):
    def ctcvr(
        self, user_ids: Sequence[str], item_ids: Sequence[str], histories: Sequence[Sequence[str]] | None = None
    ) -> np.ndarray:
        """Raw pCTCVR in [0, 1] for each (user, item) pair, ``[M]``, the user in the state the prompt showed
        (``histories``: item ids, most recent first) so the score cannot see the target purchase."""
        ...


class TextEncoder(Protocol):
    def encode(self, sentences: list[str], **kwargs: object) -> np.ndarray:
        """Embeddings ``[M, D]`` (normalised or not; cosines are computed after re-normalising)."""
        ...


def normalize_label(text: str) -> str:
    """Case- and whitespace-insensitive form of a category or title: ``" Dairy  EGGS "`` → ``"dairy eggs"``."""
    return " ".join(str(text).split()).casefold()


def category_accuracy(parsed: Sequence[ParsedAnswer], targets: Sequence[Sequence[str]], level: int) -> np.ndarray:
    """1.0 where the predicted category at ``level`` (1-based) equals the target's, else 0.0; ``[M]``.

    NaN where the target has no category at that level (the metric is undefined there, Taiji reports
    L3 only where the data has it). A completion without that level in its answer scores 0.
    """
    out = np.full(len(parsed), np.nan)
    for i, (answer, target) in enumerate(zip(parsed, targets, strict=True)):
        truth = normalize_label(target[level - 1]) if level <= len(target) else ""
        if truth:
            out[i] = float(normalize_label(answer.category(level)) == truth)
    return out


def format_flags(parsed: Sequence[ParsedAnswer]) -> dict[str, np.ndarray]:
    """Taiji Table 3 format checks as 0/1 values per completion, ``{metric: [M]}``."""
    return {
        "Think_Tag_Presence_Rate": np.array([float(p.think_tag_present) for p in parsed]),
        "Think_Non_Empty_Rate": np.array([float(p.think_non_empty) for p in parsed]),
        "Answer_Non_Empty_Rate": np.array([float(p.answer_non_empty) for p in parsed]),
    }


def title_hits(grounded: Sequence[Sequence[str]], target_ids: Sequence[str], k: int) -> np.ndarray:
    """1.0 where the target item is among the first ``k`` grounded items of the answer; ``[M]``.

    An unanswered completion has an empty grounding list and scores 0 (a miss, never skipped).
    """
    return np.array([float(t in list(g)[:k]) for g, t in zip(grounded, target_ids, strict=True)])


def distinct_encode(encoder: TextEncoder) -> Callable[[list[str]], np.ndarray]:
    """``texts [U] -> [U, D]`` through ``encoder``, each distinct string encoded once (one batch)."""

    def embed(texts: list[str]) -> np.ndarray:
        unique = sorted(set(texts))
        emb = np.asarray(encoder.encode(encodable_texts(unique)[0]), dtype=np.float64)  # [distinct, D]
        row = {text: r for r, text in enumerate(unique)}
        return emb[[row[t] for t in texts]]

    return embed


def gini(counts: np.ndarray) -> float:
    """Gini coefficient of non-negative ``counts [I]`` (one per catalogue item, zeros included).

    0 = every item recommended equally often; → 1 = all recommendations go to one item (the Matthew
    effect). ``G = 2·Σ_i i·x_(i) / (I·Σx) − (I+1)/I`` with ``x`` sorted ascending and ``i`` 1-based.
    Only the non-zero counts are sorted: zeros occupy the lowest ranks and add nothing to the sum.
    """
    counts = np.asarray(counts, dtype=np.float64)
    total = counts.sum()
    size = counts.size
    if size == 0 or total <= 0:
        return float("nan")
    nonzero = np.sort(counts[counts > 0])
    ranks = np.arange(size - nonzero.size + 1, size + 1, dtype=np.float64)
    return float(2.0 * (ranks * nonzero).sum() / (size * total) - (size + 1.0) / size)


def head_items(popularity: Mapping[str, float], fraction: float) -> frozenset[str]:
    """The most popular ``ceil(fraction · #items)`` items (ties broken by item id; zero counts never head)."""
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"eval.head_fraction must be in (0, 1], got {fraction}")
    ranked = sorted(((c, i) for i, c in popularity.items() if c > 0), key=lambda ci: (-ci[0], ci[1]))
    size = int(np.ceil(fraction * len(popularity)))
    return frozenset(i for _, i in ranked[:size])


def per_example_mean(values: np.ndarray, owner: np.ndarray, n: int) -> np.ndarray:
    """Mean of per-completion ``values [M]`` over each example's completions → ``[N]``.

    ``owner [M]`` is the example index of each completion; NaN values are skipped and an example whose
    values are all NaN stays NaN.
    """
    defined = ~np.isnan(values)
    sums = np.bincount(owner[defined], weights=values[defined], minlength=n)
    counts = np.bincount(owner[defined], minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
