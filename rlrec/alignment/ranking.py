"""Offline ranking evaluation of the alignment model (seed 003 §5.2): F1@K and NDCG@K against the
ground-truth feedback ranking, with a random-ranking baseline computed in the same call.

For one held-out cluster sequence (a *group*) we have N candidate next clusters, their ground-truth
feedback scores ``true`` [N] and the model's scores ``pred`` [N]. ``K`` is the number of clusters served.

* relevant set = candidates whose true score is >= the K-th largest true score. Feedback scores are rounded
  to a fixed interval, so ties are common; ties at the cut-off are all relevant (|relevant| may exceed K).
* F1@K = 2PR / (P + R) with P = hits / K', R = hits / |relevant|, hits = |model top-K' ∩ relevant|,
  K' = min(K, N).
* NDCG@K = DCG / IDCG with linear gains (the normalised feedback score) and the 1 / log2(rank + 1) discount.

The model's ranking breaks ties at random (seeded): a constant scorer must score like a random one, not like
whatever order the candidates happen to be stored in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class RankingGroup:
    """One held-out cluster sequence with its candidate next clusters and their true feedback scores."""

    context: tuple[str, ...]  # cluster names, oldest first
    candidates: tuple[str, ...]  # [N] candidate next-cluster names
    true_scores: np.ndarray = field(repr=False)  # [N] normalised feedback scores in [0, 1]
    context_ids: tuple[str, ...] = ()
    candidate_ids: tuple[str, ...] = ()


def rank_order(scores: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
    """Indices [N] sorting ``scores`` [N] descending; ties broken by a random permutation when ``rng`` is given,
    by index otherwise."""
    scores = np.asarray(scores, dtype=float)
    tiebreak = rng.permutation(len(scores)) if rng is not None else np.arange(len(scores))
    return np.lexsort((tiebreak, -scores))


def relevant_set(true_scores: np.ndarray, k: int) -> np.ndarray:
    """Boolean mask [N]: true score >= the K-th largest true score (ties at the cut-off included)."""
    true_scores = np.asarray(true_scores, dtype=float)
    kth = np.sort(true_scores)[::-1][min(k, len(true_scores)) - 1]
    return true_scores >= kth


def f1_at_k(order: np.ndarray, true_scores: np.ndarray, k: int) -> float:
    """F1@K of a ranking ``order`` [N] (indices, best first) against ``true_scores`` [N]."""
    relevant = relevant_set(true_scores, k)
    top = np.asarray(order)[: min(k, len(order))]
    hits = int(relevant[top].sum())
    if hits == 0:
        return 0.0
    precision, recall = hits / len(top), hits / int(relevant.sum())
    return 2 * precision * recall / (precision + recall)


def ndcg_at_k(order: np.ndarray, true_scores: np.ndarray, k: int) -> float:
    """NDCG@K of a ranking ``order`` [N] with linear gains ``true_scores`` [N]; NaN when every gain is 0."""
    gains = np.asarray(true_scores, dtype=float)
    depth = min(k, len(gains))
    discount = 1.0 / np.log2(np.arange(depth) + 2)  # [depth]
    dcg = float((gains[np.asarray(order)[:depth]] * discount).sum())
    idcg = float((np.sort(gains)[::-1][:depth] * discount).sum())
    return dcg / idcg if idcg > 0 else float("nan")


def pair_accuracy(pred: np.ndarray, true_scores: np.ndarray) -> tuple[int, int]:
    """(correctly ordered, total) over candidate pairs with different true scores; a predicted tie counts
    half (so a constant scorer gets 0.5, like a random one)."""
    pred, true = np.asarray(pred, dtype=float), np.asarray(true_scores, dtype=float)
    upper = np.triu(np.ones((len(true), len(true)), dtype=bool), 1)  # [N, N] i < j
    dt, dp = np.sign(true[:, None] - true[None, :]), np.sign(pred[:, None] - pred[None, :])  # [N, N]
    mask = upper & (dt != 0)
    return float(((dt == dp) + 0.5 * (dp == 0))[mask].sum()), int(mask.sum())


@dataclass
class RankingReport:
    """Mean metrics over groups; ``random_*`` is the random-ranking baseline on the same groups."""

    k: int
    f1: float
    ndcg: float
    random_f1: float
    random_ndcg: float
    groups: int
    skipped_zero_gain: int  # groups whose gains are all 0 (NDCG undefined; F1 still counted)
    pair_accuracy: float = float("nan")  # share of differently-scored candidate pairs in the right order (random 0.5)

    def as_dict(self, prefix: str = "") -> dict[str, float]:
        return {f"{prefix}{k}": float(v) for k, v in self.__dict__.items()}


def evaluate_ranking(
    groups: Sequence[RankingGroup],
    predictions: Sequence[np.ndarray],
    k: int,
    random_draws: int = 20,
    seed: int = 0,
) -> RankingReport:
    """F1@K / NDCG@K of ``predictions[g]`` [N_g] against ``groups[g].true_scores`` [N_g], and the same metrics
    averaged over ``random_draws`` random permutations per group (the baseline)."""
    if len(groups) != len(predictions):
        raise ValueError(f"{len(groups)} ranking groups but {len(predictions)} prediction arrays")
    if not groups:
        raise ValueError("no ranking groups to evaluate: the held-out feedback has no context with more than K candidates")
    rng = np.random.default_rng(seed)
    f1s, ndcgs, rf1s, rndcgs = [], [], [], []
    concordant, pairs = 0.0, 0
    for group, pred in zip(groups, predictions):
        true = group.true_scores
        if len(pred) != len(true):
            raise ValueError(f"group {group.context}: {len(pred)} predictions for {len(true)} candidates")
        order = rank_order(pred, rng)
        right, total = pair_accuracy(pred, true)
        concordant, pairs = concordant + right, pairs + total
        f1s.append(f1_at_k(order, true, k))
        ndcgs.append(ndcg_at_k(order, true, k))
        perms = [rng.permutation(len(true)) for _ in range(random_draws)]
        rf1s.append(np.mean([f1_at_k(p, true, k) for p in perms]))
        rndcgs.append(np.mean([ndcg_at_k(p, true, k) for p in perms]))
    ndcgs_arr, rndcgs_arr = np.array(ndcgs), np.array(rndcgs)
    defined = ~np.isnan(ndcgs_arr)
    return RankingReport(
        k=k,
        f1=float(np.mean(f1s)),
        ndcg=float(ndcgs_arr[defined].mean()) if defined.any() else float("nan"),
        random_f1=float(np.mean(rf1s)),
        random_ndcg=float(rndcgs_arr[defined].mean()) if defined.any() else float("nan"),
        groups=len(groups),
        skipped_zero_gain=int((~defined).sum()),
        pair_accuracy=concordant / pairs if pairs else float("nan"),
    )
