"""Best-of-n inference scaling (seed 003 §4.2) and the serving metrics it is judged by (§5.3).

For every precomputed cluster sequence the novelty model draws n = m × k samples at high temperature; three
*arms* turn those samples into the k served clusters:

* ``plain`` — plain sampling of k: the distinct valid clusters among the first k samples (the same
  distribution as drawing k on their own, without a second generation pass);
* ``random_of_n`` — k distinct valid clusters drawn uniformly from all n samples (a control: what
  oversampling and de-duplication give *without* the reward model);
* ``best_of_n`` — the k distinct valid clusters the alignment model scores highest.

Metrics per arm, over users (each served the clusters of their own last-K sequence):

* novelty rate — share of served (user, cluster) pairs whose cluster the user never engaged with;
* engagement — mean simulated engagement E(u, c) of the served pairs (E is supplied by the caller, e.g. the
  simulator's CTCVR of the best of the cluster's popular items for that user);
* UEUC — unique engaged user-cluster pairs: the expected number of distinct served pairs that get engaged,
  Σ E(u, c) over unique pairs, per user; ``ueuc_novel`` counts novel clusters only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np


def _distinct_valid(candidates: Sequence[str | None]) -> list[str]:
    return list(dict.fromkeys(c for c in candidates if c is not None))


def plain_k(candidates: Sequence[str | None], k: int, rng: np.random.Generator | None = None) -> list[str]:
    """Distinct valid clusters among the first ``k`` samples (possibly fewer than k)."""
    return _distinct_valid(candidates[:k])


def random_k_of_n(candidates: Sequence[str | None], k: int, rng: np.random.Generator) -> list[str]:
    """``k`` distinct valid clusters drawn uniformly (seeded) from all samples."""
    pool = _distinct_valid(candidates)
    return [pool[i] for i in sorted(rng.permutation(len(pool))[:k])]


def select_top_k(candidates: Sequence[str | None], scores: Sequence[float], k: int) -> list[str]:
    """The ``k`` distinct valid clusters with the highest scores, best first (``scores`` [n] aligned with
    ``candidates`` [n]; a cluster sampled twice keeps its best score; equal scores keep sample order)."""
    if len(candidates) != len(scores):
        raise ValueError(f"{len(candidates)} candidates but {len(scores)} scores")
    best: dict[str, float] = {}
    for c, s in zip(candidates, scores):
        if c is not None and (c not in best or s > best[c]):
            best[c] = float(s)
    return sorted(best, key=lambda c: -best[c])[:k]  # sorted() is stable: ties keep first-seen order


@dataclass
class ServingMetrics:
    users: int
    served_per_user: float
    novelty_rate: float
    engagement: float
    engagement_novel: float  # mean E over novel served pairs (NaN when none)
    ueuc: float  # expected unique engaged user-cluster pairs per user
    ueuc_novel: float

    def as_dict(self) -> dict[str, float]:
        return {k: float(v) for k, v in self.__dict__.items()}


def serving_metrics(
    served: Mapping[str, Sequence[str]],
    engaged_before: Mapping[str, set[str]],
    engagement: Callable[[Sequence[str], Sequence[str]], np.ndarray],
) -> ServingMetrics:
    """Metrics of serving ``served[user]`` (cluster ids) to each user. ``engagement(user_ids, cluster_ids)``
    returns E [P] in [0, 1] for P (user, cluster) pairs."""
    pairs = sorted({(u, c) for u, clusters in served.items() for c in clusters})
    users = len(served)
    if not pairs:
        return ServingMetrics(users, 0.0, float("nan"), float("nan"), float("nan"), 0.0, 0.0)
    e = np.asarray(engagement([u for u, _ in pairs], [c for _, c in pairs]), dtype=float)  # [P]
    novel = np.array([c not in engaged_before.get(u, set()) for u, c in pairs])  # [P]
    return ServingMetrics(
        users=users,
        served_per_user=len(pairs) / users,
        novelty_rate=float(novel.mean()),
        engagement=float(e.mean()),
        engagement_novel=float(e[novel].mean()) if novel.any() else float("nan"),
        ueuc=float(e.sum() / users),
        ueuc_novel=float(e[novel].sum() / users),
    )


def per_user_engagement(
    served: Mapping[str, Sequence[str]], engagement: Callable[[Sequence[str], Sequence[str]], np.ndarray]
) -> dict[str, float]:
    """Mean E over each user's distinct served clusters; users served nothing are left out."""
    pairs = sorted({(u, c) for u, clusters in served.items() for c in clusters})
    if not pairs:
        return {}
    e = np.asarray(engagement([u for u, _ in pairs], [c for _, c in pairs]), dtype=float)  # [P]
    per_user: dict[str, list[float]] = {}
    for (u, _), value in zip(pairs, e.tolist()):
        per_user.setdefault(u, []).append(value)
    return {u: float(np.mean(v)) for u, v in per_user.items()}


def bootstrap_difference(
    a: Mapping[str, float], b: Mapping[str, float], draws: int = 2000, seed: int = 0, confidence: float = 0.95
) -> dict[str, float]:
    """Mean of a[u] - b[u] over users in both, with a user-level bootstrap percentile interval."""
    users = sorted(set(a) & set(b))
    if not users:
        return {"mean": float("nan"), "lo": float("nan"), "hi": float("nan"), "users": 0}
    diff = np.array([a[u] - b[u] for u in users])  # [U]
    rng = np.random.default_rng(seed)
    means = diff[rng.integers(0, len(diff), size=(draws, len(diff)))].mean(axis=1)  # [draws]
    tail = (1 - confidence) / 2 * 100
    lo, hi = np.percentile(means, [tail, 100 - tail])
    return {"mean": float(diff.mean()), "lo": float(lo), "hi": float(hi), "users": len(users)}


ARMS: dict[str, Callable[..., list[str]]] = {"plain": plain_k, "random_of_n": random_k_of_n}  # + best_of_n (needs scores)


def serve_arms(
    candidates: Mapping[tuple[str, ...], Sequence[str | None]],
    scores: Mapping[tuple[str, ...], Sequence[float]],
    k: int,
    seed: int = 0,
) -> dict[str, dict[tuple[str, ...], list[str]]]:
    """Served clusters per context for every arm: ``{"plain": {ctx: [...]}, "random_of_n": …, "best_of_n": …}``."""
    rng = np.random.default_rng(seed)
    out: dict[str, dict[tuple[str, ...], list[str]]] = {name: {} for name in (*ARMS, "best_of_n")}
    for ctx in sorted(candidates):
        for name, arm in ARMS.items():
            out[name][ctx] = arm(candidates[ctx], k, rng)
        out["best_of_n"][ctx] = select_top_k(candidates[ctx], scores[ctx], k)
    return out
