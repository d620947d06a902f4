"""Collective feedback (seed 003 §4.1): aggregate simulated engagement per (cluster sequence, next cluster).

1. *Simulate serving.* For sampled user states (one per labelled context), the user's last ``K`` distinct
   clusters form the sequence ``S``. Served next clusters: the organic one (the most common cluster of
   what the user actually interacted with next, if it is not in ``S``) and ``explore_per_context`` random
   clusters not in ``S``. The engagement with a served cluster is the mean pCTCVR of the user's top
   ``served_items`` items among the cluster's ``pool_size`` most popular items (a backbone serving the
   best items of the cluster, as in the hierarchical planner).
2. *Aggregate* per ``(S, next)``: mean over users of each user's mean engagement; ``support`` = distinct
   users, ``impressions`` = served user states.
3. *Post-process* (the paper's three steps): drop transitions with support < ``min_support``; normalise
   the skewed scores to [0, 1] (:data:`SCORE_NORMALISERS`, over the kept transitions); round to
   ``round_to``.
4. *Export* pointwise rows (S, next, score) and pairwise rows (S, preferred, rejected, margin): for each
   S, cluster pairs whose rounded scores differ by at least ``pair_min_margin``.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
from scipy.stats import rankdata

from rlrec.registry import Registry

__all__ = [
    "ClusterId", "Transition", "FeedbackPoint", "FeedbackPair", "CollectiveFeedback", "SCORE_NORMALISERS",
    "aggregate", "round_to_interval", "postprocess", "pairwise", "export_feedback", "load_feedback",
]

SCORE_NORMALISERS: Registry[Callable[[np.ndarray], np.ndarray]] = Registry("feedback score normaliser")


def _minmax(x: np.ndarray) -> np.ndarray:
    lo, hi = float(np.min(x)), float(np.max(x))
    return np.full(len(x), 0.5) if hi <= lo else (x - lo) / (hi - lo)


@SCORE_NORMALISERS.register("minmax", description="(x - min) / (max - min); all equal → 0.5")
def minmax(x: np.ndarray) -> np.ndarray:
    return _minmax(np.asarray(x, dtype=np.float64))


@SCORE_NORMALISERS.register("log_minmax", description="min-max of log(x): spreads scores skewed to small values")
def log_minmax(x: np.ndarray) -> np.ndarray:
    return _minmax(np.log(np.maximum(np.asarray(x, dtype=np.float64), 1e-12)))


@SCORE_NORMALISERS.register("rank", description="(average rank - 1) / (n - 1): uniform on [0, 1]; one value → 0.5")
def rank(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return np.full(len(x), 0.5) if len(x) < 2 else (rankdata(x) - 1) / (len(x) - 1)


@dataclass(frozen=True)
class Transition:
    """Aggregated engagement of serving ``next_id`` to users whose cluster sequence is ``context_ids``."""

    context_ids: tuple[int, ...]
    next_id: int
    raw_score: float  # mean over users of the mean simulated pCTCVR
    support: int  # distinct users
    impressions: int  # served user states


ClusterId = int | str  # the simulator numbers clusters 0..k-1; the alignment stages key them as strings


@dataclass(frozen=True)
class FeedbackPoint:
    """A pointwise feedback record: serving cluster ``next_id`` to users whose last K clusters are
    ``context_ids`` earned the normalised engagement ``score``. One line of ``feedback/pointwise.jsonl``; the
    alignment reward model trains on these (seed 003 §4.1)."""

    context_ids: tuple[ClusterId, ...]  # last K clusters, oldest first (or sorted ids when ordered_context is false)
    context_names: tuple[str, ...]
    next_id: ClusterId
    next_name: str
    score: float  # normalised, rounded, in [0, 1]
    raw_score: float | None = None  # aggregated mean pCTCVR before post-processing (None: not known)
    support: int = 0  # distinct users behind the aggregate
    impressions: int = 0  # served user states

    def with_string_ids(self) -> FeedbackPoint:
        """The same record with cluster ids as strings (how the alignment stages key clusters)."""
        return replace(self, context_ids=tuple(map(str, self.context_ids)), next_id=str(self.next_id))


@dataclass(frozen=True)
class FeedbackPair:
    """A pairwise feedback record: for ``context_ids``, ``preferred_id`` earned more engagement than
    ``rejected_id``. One line of ``feedback/pairwise.jsonl`` (Bradley–Terry training rows)."""

    context_ids: tuple[ClusterId, ...]
    context_names: tuple[str, ...]
    preferred_id: ClusterId
    preferred_name: str
    rejected_id: ClusterId
    rejected_name: str
    margin: float = 0.0  # preferred score - rejected score (rounded scores), >= 0
    preferred_score: float | None = None
    rejected_score: float | None = None

    def with_string_ids(self) -> FeedbackPair:
        """The same record with cluster ids as strings (how the alignment stages key clusters)."""
        return replace(self, context_ids=tuple(map(str, self.context_ids)), preferred_id=str(self.preferred_id),
                       rejected_id=str(self.rejected_id))


@dataclass
class CollectiveFeedback:
    pointwise: list[FeedbackPoint]
    pairwise: list[FeedbackPair]
    cluster_names: list[str]
    meta: dict = field(default_factory=dict)


def aggregate(contexts: Sequence[tuple[int, ...]], nexts: Sequence[int], users: Sequence[str],
              scores: np.ndarray) -> list[Transition]:
    """Group served samples ``[M]`` by (context, next): score = mean over users of each user's mean score."""
    per_user: dict[tuple, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for context, nxt, user, score in zip(contexts, nexts, users, np.asarray(scores, dtype=np.float64).tolist()):
        per_user[(tuple(context), int(nxt))][user].append(score)
    out = []
    for (context, nxt), by_user in sorted(per_user.items()):
        user_means = [float(np.mean(v)) for v in by_user.values()]
        out.append(Transition(context, nxt, float(np.mean(user_means)), len(by_user),
                              sum(len(v) for v in by_user.values())))
    return out


def round_to_interval(x: np.ndarray, step: float) -> np.ndarray:
    """Round to the nearest multiple of ``step`` (no-op for step 0), clipped to [0, 1]."""
    x = np.asarray(x, dtype=np.float64)
    if step > 0:
        x = np.round(np.round(x / step) * step, 10)
    return np.clip(x, 0.0, 1.0)


def postprocess(transitions: Sequence[Transition], names: Sequence[str], min_support: int, method: str,
                step: float) -> tuple[list[FeedbackPoint], Counter]:
    """Filter (support >= ``min_support``), normalise (``method``) over the kept ones, round to ``step``."""
    normalise = SCORE_NORMALISERS.get(method)
    kept = [t for t in transitions if t.support >= min_support]
    counts = Counter(transitions=len(transitions), kept=len(kept), dropped_low_support=len(transitions) - len(kept))
    if not kept:
        return [], counts
    scores = round_to_interval(normalise(np.array([t.raw_score for t in kept])), step)
    points = [
        FeedbackPoint(t.context_ids, tuple(names[c] for c in t.context_ids), t.next_id, names[t.next_id],
                      float(s), t.raw_score, t.support, t.impressions)
        for t, s in zip(kept, scores)
    ]
    return points, counts


def pairwise(points: Sequence[FeedbackPoint], min_margin: float, max_pairs: int, seed: int = 0) -> list[FeedbackPair]:
    """Per context, every (a, b) with score(a) − score(b) > 0 and >= ``min_margin``; a seeded sample of at
    most ``max_pairs`` per context. Sorted by context, then margin (largest first), then ids."""
    rng = np.random.default_rng(seed)
    by_context: dict[tuple[int, ...], list[FeedbackPoint]] = defaultdict(list)
    for p in points:
        by_context[p.context_ids].append(p)
    out: list[FeedbackPair] = []
    for context in sorted(by_context):
        group = sorted(by_context[context], key=lambda p: p.next_id)
        pairs = [
            FeedbackPair(context, a.context_names, a.next_id, a.next_name, b.next_id, b.next_name,
                         round(a.score - b.score, 10), a.score, b.score)
            for a in group for b in group
            if a.score - b.score > 1e-9 and a.score - b.score >= min_margin - 1e-9
        ]
        if len(pairs) > max_pairs:
            pairs = [pairs[i] for i in sorted(rng.choice(len(pairs), size=max_pairs, replace=False))]
        out.extend(sorted(pairs, key=lambda p: (-p.margin, p.preferred_id, p.rejected_id)))
    return out


def _write_jsonl(path: Path, rows: Sequence[object]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(asdict(row), ensure_ascii=False) + "\n")


def export_feedback(artifact_dir: Path, feedback: CollectiveFeedback) -> Path:
    """Write ``feedback/pointwise.jsonl``, ``feedback/pairwise.jsonl`` and ``feedback/meta.json``."""
    folder = Path(artifact_dir) / "feedback"
    folder.mkdir(parents=True, exist_ok=True)
    _write_jsonl(folder / "pointwise.jsonl", feedback.pointwise)
    _write_jsonl(folder / "pairwise.jsonl", feedback.pairwise)
    (folder / "meta.json").write_text(json.dumps({**feedback.meta, "cluster_names": feedback.cluster_names}, indent=1))
    return folder


def load_feedback(artifact_dir: str | Path) -> CollectiveFeedback:
    """Read the feedback export of a simulator artifact (see :func:`export_feedback`)."""
    folder = Path(artifact_dir) / "feedback"
    files = [folder / n for n in ("pointwise.jsonl", "pairwise.jsonl", "meta.json")]
    missing = [str(f) for f in files if not f.exists()]
    if missing:
        raise FileNotFoundError(f"simulator artifact {artifact_dir} has no feedback export ({', '.join(missing)} "
                                "missing); rebuild it with `python -m experiments.build_simulator`")

    def rows(path: Path) -> list[dict]:
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]

    def tuples(row: dict) -> dict:
        return {k: tuple(v) if isinstance(v, list) else v for k, v in row.items()}

    meta = json.loads(files[2].read_text())
    return CollectiveFeedback(
        pointwise=[FeedbackPoint(**tuples(r)) for r in rows(files[0])],
        pairwise=[FeedbackPair(**tuples(r)) for r in rows(files[1])],
        cluster_names=list(meta.pop("cluster_names", [])),
        meta=meta,
    )
