"""Retrieval with the towers (RecGPT §2.3.3) or by embedding alone, and its offline metrics (HR@K, exposure).

Scores of every catalogue item for one user with predicted tags ``T_u`` (all cosines, see :mod:`towers`)::

    ŷ_col(v) = h_u·h_v
    ŷ_sem(v) = max_{t ∈ T_u} h_t·h_v                  (each tag retrieves; a tag's best items win)
    ŷ(v)     = β·ŷ_sem(v) + (1 − β)·ŷ_col(v)           (issue #19's β, on the semantic score)

The seed (§2.3.3) writes the same fusion with its β on the collaborative score: seed β = 1 − β here. A user
without a parseable tag is scored by ŷ_col alone (counted as ``no_tags``). Embedding grounding replaces ``h_t·h_v``
by the cosine of the sentence embeddings of the tag and of ``Item.text()`` (the simulator's grounding index) and
has no collaborative part.

Metrics per test user: ``HR@K`` (the true next item among the top K), ``CatHR@K`` (RecGPT's HR@30: the true item's
finest category among the categories of the top K) and, over all users, the Gini coefficient of item exposure (the
Matthew-effect view: 0 = every catalogue item retrieved equally often, → 1 = a few items take all exposure),
catalogue coverage, the share of exposure going to the 10% most popular items, and distinct categories per list.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from rlrec.data.schema import Catalog
from rlrec.eval.bootstrap import MetricValue, bootstrap_indices, mean_with_ci, statistic_with_ci
from rlrec.eval.metrics import gini
from rlrec.recgpt.towers import TowerVocab, TriTower, pad_histories

__all__ = ["TowerRetriever", "embedding_rankings", "fuse", "gini", "hits", "category_hits", "exposure",
           "retrieval_report"]


def fuse(semantic: torch.Tensor, collaborative: torch.Tensor, beta: float) -> torch.Tensor:
    """``β·semantic + (1 − β)·collaborative`` (any equal shapes)."""
    if not 0.0 <= beta <= 1.0:
        raise ValueError(f"fusion weight beta must be in [0, 1], got {beta}")
    return beta * semantic + (1.0 - beta) * collaborative


class TowerRetriever:
    """Top-K catalogue rows for users from trained towers (see the module docstring)."""

    def __init__(self, model: TriTower, vocab: TowerVocab, catalog: Catalog) -> None:
        self.model, self.vocab, self.catalog = model, vocab, catalog
        self.items = model.item_matrix()  # [I, D]

    @torch.no_grad()
    def scores(self, users: Sequence[str], histories: Sequence[Sequence[str]], tags: Sequence[Sequence[str]] | None,
               beta: float) -> tuple[torch.Tensor, int]:
        """(``[N, I]`` fused scores, number of users scored without tags). ``tags`` None = collaborative only."""
        ids = torch.tensor([self.vocab.users.get(u, 0) for u in users])
        h_u = self.model.users(ids, pad_histories(histories, self.vocab, self.model.cfg.history_len))
        col = h_u @ self.items.T  # [N, I]
        if tags is None or beta == 0.0:
            return col, 0 if tags is not None else len(users)
        out, no_tags = col.clone(), 0
        for n, user_tags in enumerate(tags):
            if not user_tags:
                no_tags += 1
                continue
            h_t = self.model.tags(self.vocab.encode_tags(list(user_tags), self.model.cfg.max_tag_words))  # [M, D]
            sem = (h_t @ self.items.T).max(dim=0).values  # [I]
            out[n] = fuse(sem, col[n], beta)
        return out, no_tags

    def rank(self, users: Sequence[str], histories: Sequence[Sequence[str]], tags: Sequence[Sequence[str]] | None,
             beta: float, k: int) -> tuple[np.ndarray, int]:
        """(``[N, k]`` catalogue rows, best first; users without tags)."""
        scores, no_tags = self.scores(users, histories, tags, beta)
        return torch.topk(scores, k, dim=1).indices.numpy(), no_tags


def embedding_rankings(index, tags: Sequence[Sequence[str]], k: int) -> tuple[np.ndarray, int]:
    """Grounding by embedding alone: ``[N, k]`` rows by max cosine of each user's tags to ``Item.text()`` embeddings
    (an :class:`rlrec.simulator.grounding.ItemIndex`); a user without tags gets ``-1`` rows (a miss)."""
    out = np.full((len(tags), k), -1, dtype=np.int64)
    matrix = torch.from_numpy(index.matrix)  # [I, D]
    no_tags = 0
    for n, user_tags in enumerate(tags):
        if not user_tags:
            no_tags += 1
            continue
        sims = torch.from_numpy(index.encode(list(user_tags))) @ matrix.T  # [M, I]
        out[n] = torch.topk(sims.max(dim=0).values, k).indices.numpy()
    return out, no_tags


# ------------------------------------------------------------------------------------------------ metrics


def hits(rankings: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """``[N]`` 1.0 where the target row is among the ranked rows ``[N, K]``."""
    return (rankings == targets[:, None]).any(axis=1).astype(np.float64)


def category_hits(rankings: np.ndarray, targets: np.ndarray, item_category: np.ndarray) -> np.ndarray:
    """``[N]`` 1.0 where the target's category is among the categories of the ranked rows (RecGPT HR@30);
    ``item_category`` ``[I]`` holds one category id per row (rows ``-1`` = no item)."""
    cats = np.where(rankings >= 0, item_category[np.maximum(rankings, 0)], -1)
    return (cats == item_category[targets][:, None]).any(axis=1).astype(np.float64)


def exposure(rankings: np.ndarray, n_items: int, popular: np.ndarray, item_category: np.ndarray,
             users: np.ndarray | None = None) -> dict[str, float]:
    """Exposure figures over the lists of ``users`` (rows of ``rankings``; default all): Gini, coverage, share of
    exposure going to the ``popular`` rows, mean distinct categories per list."""
    lists = rankings if users is None else rankings[users]
    shown = lists[lists >= 0]
    counts = np.bincount(shown, minlength=n_items)
    distinct = [len({int(item_category[r]) for r in row if r >= 0}) for row in lists]
    # the Gini of the evaluation metrics (Popularity_Gini); no exposure at all counts as equal (0), not NaN
    return {"gini": gini(counts) if shown.size else 0.0, "coverage": float((counts > 0).mean()),
            "head_share": float(np.isin(shown, popular).mean()) if shown.size else 0.0,
            "categories_per_list": float(np.mean(distinct)) if distinct else 0.0}


def retrieval_report(rankings: dict[str, np.ndarray], targets: np.ndarray, item_category: np.ndarray,
                     popularity: np.ndarray, baseline: str, n_resamples: int = 1000, seed: int = 0,
                     confidence: float = 0.95) -> dict[str, dict[str, dict]]:
    """Per method: HR@K, CatHR@K (mean with percentile-bootstrap CI over users), their paired difference to
    ``baseline`` (same resamples), and exposure Gini / coverage / head share / categories per list (with CIs)."""
    n = len(targets)
    idx = bootstrap_indices(n, n_resamples, seed)
    popular = np.argsort(-popularity)[: max(1, len(popularity) // 10)]
    per = {name: {"hr": hits(r, targets), "cat_hr": category_hits(r, targets, item_category)}
           for name, r in rankings.items()}
    out: dict[str, dict[str, dict]] = {}
    for name, r in rankings.items():
        row: dict[str, MetricValue] = {"HR": mean_with_ci(per[name]["hr"], idx, confidence),
                                       "CatHR": mean_with_ci(per[name]["cat_hr"], idx, confidence)}
        if name != baseline and baseline in per:
            row["HR_minus_" + baseline] = mean_with_ci(per[name]["hr"] - per[baseline]["hr"], idx, confidence)
            row["CatHR_minus_" + baseline] = mean_with_ci(per[name]["cat_hr"] - per[baseline]["cat_hr"], idx,
                                                          confidence)
        for key in ("gini", "coverage", "head_share", "categories_per_list"):
            row[key] = statistic_with_ci(
                lambda users, key=key, r=r: exposure(r, len(popularity), popular, item_category, users)[key],
                n, idx[: min(200, n_resamples)], confidence, bias_correct=key in ("gini", "coverage"))
        out[name] = {k: v.to_dict() for k, v in row.items()}
    return out
