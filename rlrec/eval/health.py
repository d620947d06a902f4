"""RecGPT-style ecosystem health of the recommended items: diversity, coverage, the Matthew effect.

The "recommended item" of a completion is the top-1 catalogue item its answer grounds to (unanswered
completions recommend nothing). Corpus-level statistics (coverage, Gini, distinct categories per user) are
recomputed on every bootstrap replicate of the examples, with a bias-corrected interval (resampling with
replacement shrinks coverage and concentrates counts); per-completion rates are averaged per example
and bootstrapped like any mean.

Metrics (direction in :data:`rlrec.eval.results.METRICS`):

* ``Distinct_Categories_per_User`` — distinct L1 categories among a user's recommended items, averaged
  over users (RecGPT's exposed-category diversity, EICD). With one greedy completion per user it is ≤ 1;
  it becomes informative with sampled decoding (``eval.num_samples > 1``) or several targets per user.
* ``Novel_Category_Rate`` — share of recommendations whose L1 category is absent from the user's history
  (leaving the filter bubble).
* ``Catalog_Coverage`` — distinct recommended items / catalogue size.
* ``Popularity_Gini`` — Gini coefficient of recommendation counts over all catalogue items.
* ``Head_Item_Share`` — share of recommendations that are head items (the most popular
  ``eval.head_fraction`` of the catalogue by logged interactions).

A catalogue without categories leaves both category metrics undefined: they are n/a (NaN, n = 0), not 0.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from rlrec.eval.bootstrap import MetricValue, mean_with_ci, statistic_with_ci
from rlrec.eval.metrics import gini, head_items, per_example_mean

__all__ = ["Recommendations", "health_metrics", "item_popularity", "CATEGORY_METRICS"]

CATEGORY_METRICS = ("Distinct_Categories_per_User", "Novel_Category_Rate")  # n/a without categories


@dataclass(frozen=True)
class Recommendations:
    """Grounded top-1 items of all completions, as integer codes.

    ``item [M]`` is the catalogue row of each completion's recommended item (-1 = unanswered),
    ``owner [M]`` its example index, ``user [N]`` the user code of each example, ``category [I]`` the L1
    category code of each catalogue item (-1 = none), ``history_categories`` the set of L1 category codes
    in each example's history (``[N]`` sets).
    """

    item: np.ndarray  # [M] int
    owner: np.ndarray  # [M] int
    user: np.ndarray  # [N] int
    category: np.ndarray  # [I] int
    history_categories: list[frozenset[int]]  # [N]

    @property
    def n_examples(self) -> int:
        return len(self.user)

    @property
    def n_items(self) -> int:
        return len(self.category)

    @classmethod
    def build(
        cls,
        top1: Sequence[str | None],
        owner: np.ndarray,
        user_ids: Sequence[str],
        catalog_ids: Sequence[str],
        catalog_l1: Sequence[str],
        histories: Sequence[Sequence[str]],
    ) -> Recommendations:
        """Encode string ids: ``top1 [M]`` (None = unanswered), ``user_ids [N]``, catalogue ids and L1 labels ``[I]``,
        ``histories [N]`` (item ids; ids not in the catalogue are ignored)."""
        row = {item_id: r for r, item_id in enumerate(catalog_ids)}
        labels = sorted({c for c in catalog_l1 if c})
        code = {c: j for j, c in enumerate(labels)}
        category = np.array([code.get(c, -1) if c else -1 for c in catalog_l1], dtype=np.int64)
        users = {u: j for j, u in enumerate(dict.fromkeys(user_ids))}
        item = np.array([row.get(t, -1) if t is not None else -1 for t in top1], dtype=np.int64)
        hist = [frozenset(int(category[row[h]]) for h in hs if h in row) - {-1} for hs in histories]
        return cls(item, np.asarray(owner, dtype=np.int64), np.array([users[u] for u in user_ids]), category, hist)


def _coverage(recs: Recommendations, idx: np.ndarray) -> float:
    chosen = np.zeros(recs.n_examples, dtype=bool)
    chosen[idx] = True  # repeats add no new items: a set statistic
    items = recs.item[chosen[recs.owner] & (recs.item >= 0)]
    return np.unique(items).size / recs.n_items


def _gini(recs: Recommendations, idx: np.ndarray) -> float:
    draws = np.bincount(idx, minlength=recs.n_examples).astype(np.float64)  # [N] times each example is drawn
    valid = recs.item >= 0
    counts = np.bincount(recs.item[valid], weights=draws[recs.owner[valid]], minlength=recs.n_items)  # [I]
    return gini(counts)


def _distinct_categories(recs: Recommendations, idx: np.ndarray) -> float:
    chosen = np.zeros(recs.n_examples, dtype=bool)
    chosen[idx] = True
    users = np.unique(recs.user[chosen])
    cats = np.where(recs.item >= 0, recs.category[np.maximum(recs.item, 0)], -1)  # [M]
    keep = chosen[recs.owner] & (cats >= 0)
    n_cats = int(recs.category.max(initial=-1)) + 1
    pairs = np.unique(recs.user[recs.owner[keep]] * max(n_cats, 1) + cats[keep])
    return pairs.size / users.size  # users without a categorised recommendation count as 0


def health_metrics(
    recs: Recommendations,
    catalog_ids: Sequence[str],
    popularity: Mapping[str, float] | None,
    head_fraction: float,
    indices: np.ndarray,
    confidence: float,
) -> dict[str, MetricValue]:
    """All health metrics with bootstrap CIs over the examples (``indices [R, N]``).

    ``Head_Item_Share`` needs ``popularity`` (item id → interaction count) and is left out without it.
    """
    n = recs.n_examples
    out = {  # set statistics: bias-corrected intervals (see statistic_with_ci)
        "Distinct_Categories_per_User": statistic_with_ci(
            lambda i: _distinct_categories(recs, i), n, indices, confidence, bias_correct=True
        ),
        "Catalog_Coverage": statistic_with_ci(lambda i: _coverage(recs, i), n, indices, confidence, bias_correct=True),
        "Popularity_Gini": statistic_with_ci(lambda i: _gini(recs, i), n, indices, confidence, bias_correct=True),
    }
    answered = recs.item >= 0
    cats = np.where(answered, recs.category[np.maximum(recs.item, 0)], -1)
    novel = np.full(len(recs.item), np.nan)  # [M]
    for m in np.flatnonzero(answered & (cats >= 0)):
        novel[m] = float(cats[m] not in recs.history_categories[recs.owner[m]])
    out["Novel_Category_Rate"] = mean_with_ci(per_example_mean(novel, recs.owner, n), indices, confidence)
    if popularity is not None:
        head = head_items(popularity, head_fraction)
        is_head = np.array([item_id in head for item_id in catalog_ids], dtype=np.float64)  # [I]
        share = np.where(answered, is_head[np.maximum(recs.item, 0)], np.nan)  # [M]
        out["Head_Item_Share"] = mean_with_ci(per_example_mean(share, recs.owner, n), indices, confidence)
    if not (recs.category >= 0).any():  # no item has a category: "0 distinct categories" would be a false reading
        for name in CATEGORY_METRICS:
            out[name] = MetricValue(float("nan"), float("nan"), float("nan"), 0, confidence)
    return out


def item_popularity(interactions: Iterable[object]) -> dict[str, int]:
    """Interaction count per item id from logged interactions (anything with an ``item_id``)."""
    counts: Counter[str] = Counter(str(e.item_id) for e in interactions)
    return dict(counts)
