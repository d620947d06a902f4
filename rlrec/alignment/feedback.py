"""Collective feedback → reward-model examples and held-out ranking groups (seed 003 §4.1, §5.2).

The simulator exports aggregated, post-processed feedback (normalised, support-filtered, rounded) per
(cluster sequence, next cluster) transition as :class:`~rlrec.simulator.feedback.FeedbackPoint` /
:class:`~rlrec.simulator.feedback.FeedbackPair` records (cluster ids as strings here). This module turns it into

* pointwise rows ``{"text", "label"}`` (label = the normalised score in [0, 1]),
* pairwise rows ``{"chosen", "rejected", "margin"}`` (Bradley–Terry),
* :class:`~rlrec.alignment.ranking.RankingGroup` s for the offline F1@K / NDCG@K evaluation,

after splitting *cluster sequences* (contexts) into train and held-out, so no held-out context is ever
trained on, in either mode.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from rlrec.alignment.ranking import RankingGroup
from rlrec.alignment.text import alignment_input
from rlrec.simulator.feedback import FeedbackPair, FeedbackPoint


@dataclass
class FeedbackSplit:
    """Feedback split by context into train and held-out parts, plus the held-out ranking groups."""

    train_points: list[FeedbackPoint]
    eval_points: list[FeedbackPoint]
    train_pairs: list[FeedbackPair]
    eval_pairs: list[FeedbackPair]
    groups: list[RankingGroup]
    skipped: Counter = field(default_factory=Counter)  # reason → count (reported, never silent)

    def summary(self) -> dict[str, int]:
        return {
            "train_points": len(self.train_points),
            "eval_points": len(self.eval_points),
            "train_pairs": len(self.train_pairs),
            "eval_pairs": len(self.eval_pairs),
            "eval_groups": len(self.groups),
            **{f"skipped_{k}": v for k, v in self.skipped.items()},
        }


def pointwise_rows(points: Iterable[FeedbackPoint]) -> list[dict[str, object]]:
    """``{"text": alignment_input(context, next), "label": score}`` per transition."""
    rows = []
    for p in points:
        if not 0.0 <= p.score <= 1.0:
            raise ValueError(
                f"feedback score {p.score} for {p.context_names} → {p.next_name!r} is outside [0, 1]: the pointwise "
                "loss needs normalised scores (the simulator's feedback export normalises them; check its settings)"
            )
        rows.append({"text": alignment_input(p.context_names, p.next_name), "label": float(p.score)})
    return rows


def pairwise_rows(pairs: Iterable[FeedbackPair]) -> list[dict[str, object]]:
    """``{"chosen", "rejected", "margin"}`` texts per preference pair (TRL ``RewardTrainer`` columns)."""
    return [
        {
            "chosen": alignment_input(p.context_names, p.preferred_name),
            "rejected": alignment_input(p.context_names, p.rejected_name),
            "margin": float(p.margin),
        }
        for p in pairs
    ]


def ranking_groups(points: Iterable[FeedbackPoint], k: int) -> tuple[list[RankingGroup], Counter]:
    """One group per context with more than ``k`` candidate next clusters (with <= k every ranking is perfect
    at K, so such contexts are skipped and counted)."""
    by_context: dict[tuple[str, ...], list[FeedbackPoint]] = defaultdict(list)
    for p in points:
        by_context[p.context_ids].append(p)
    groups, skipped = [], Counter()
    for context_ids in sorted(by_context):
        rows = sorted(by_context[context_ids], key=lambda p: p.next_id)
        if len(rows) <= k:
            skipped["context_with_at_most_k_candidates"] += 1
            continue
        groups.append(
            RankingGroup(
                context=rows[0].context_names,
                candidates=tuple(p.next_name for p in rows),
                true_scores=np.array([p.score for p in rows], dtype=float),
                context_ids=context_ids,
                candidate_ids=tuple(p.next_id for p in rows),
            )
        )
    return groups, skipped


def split_feedback(
    points: Sequence[FeedbackPoint],
    pairs: Sequence[FeedbackPair],
    k: int,
    eval_fraction: float,
    seed: int = 0,
    max_eval_groups: int | None = None,
) -> FeedbackSplit:
    """Hold out a seeded ``eval_fraction`` of the contexts that can be ranked (more than ``k`` candidates);
    every other context trains. Pairs follow their context."""
    if not 0.0 < eval_fraction < 1.0:
        raise ValueError(f"alignment.reward_model.eval_fraction must be in (0, 1), got {eval_fraction}")
    candidates_per_context = Counter(p.context_ids for p in points)
    rankable = sorted(c for c, n in candidates_per_context.items() if n > k)
    if not rankable:
        raise ValueError(
            f"no cluster sequence in the feedback has more than K={k} candidate next clusters, so nothing can be "
            "ranked offline: lower alignment.served_k or rebuild the simulator feedback with more support"
        )
    rng = np.random.default_rng(seed)
    n_eval = max(1, int(round(eval_fraction * len(rankable))))
    if max_eval_groups is not None:
        n_eval = min(n_eval, max_eval_groups)
    held_out = {rankable[i] for i in rng.permutation(len(rankable))[:n_eval]}
    eval_points = [p for p in points if p.context_ids in held_out]
    groups, skipped = ranking_groups(eval_points, k)
    return FeedbackSplit(
        train_points=[p for p in points if p.context_ids not in held_out],
        eval_points=eval_points,
        train_pairs=[p for p in pairs if p.context_ids not in held_out],
        eval_pairs=[p for p in pairs if p.context_ids in held_out],
        groups=groups,
        skipped=skipped,
    )


def cluster_prior_scores(train_points: Sequence[FeedbackPoint], groups: Sequence[RankingGroup]) -> list[np.ndarray]:
    """A context-blind baseline: each candidate scored by its mean training feedback score over all contexts
    (the global mean for a cluster never seen in training). [N_g] per group. What an alignment model scores
    beyond this, it learned from the user's context."""
    by_cluster: dict[str, list[float]] = defaultdict(list)
    for p in train_points:
        by_cluster[p.next_id].append(p.score)
    fallback = float(np.mean([p.score for p in train_points])) if train_points else 0.0
    prior = {c: float(np.mean(v)) for c, v in by_cluster.items()}
    return [np.array([prior.get(c, fallback) for c in g.candidate_ids]) for g in groups]
