"""Ranking metrics of the enhancer evaluation with a paired bootstrap over users.

AUC (ROC, ties count one half), GAUC (per-user AUC weighted by the user's impressions, over users with both
classes; the usual industrial definition) and log-loss (nats), for CTR (click) and CTCVR (click ∧ conversion).
Every variant is scored on the same resamples of evaluation users (``[R, U]`` indices shared by all variants and
policies), so the CI of a delta is paired; with several ranker seeds a replicate is the mean over seeds.

A resample is expressed as per-user multiplicities ``counts [R+1, U]`` (row 0 = the sample itself, all ones), so
no rows are copied: AUC weights each impression by its user's count (equal to sklearn's ``roc_auc_score`` with
``sample_weight``, vectorised over the replicates), GAUC and log-loss weight per-user statistics.

Dims: ``N`` impressions, ``U`` users, ``R`` replicates, ``K`` ranker seeds.
"""

from __future__ import annotations

import math

import numpy as np

from rlrec.eval.bootstrap import MetricValue, bootstrap_indices, percentile_interval
from rlrec.simulator.evaluation import EPS, auc

__all__ = ["METRICS", "HIGHER_IS_BETTER", "resample_counts", "weighted_auc", "metric_replicates", "score_variants"]

METRICS = ("CTR_AUC", "CTCVR_AUC", "CTR_GAUC", "CTCVR_GAUC", "CTR_LogLoss", "CTCVR_LogLoss")
HIGHER_IS_BETTER = {m: not m.endswith("LogLoss") for m in METRICS}


def resample_counts(n_users: int, replicates: int, seed: int) -> np.ndarray:
    """``[R+1, U]`` multiplicity of each user in the sample (row 0, all ones) and in ``R`` seeded resamples."""
    idx = bootstrap_indices(n_users, replicates, seed)  # [R, U]
    counts = np.stack([np.bincount(row, minlength=n_users) for row in idx]) if replicates else np.zeros((0, n_users))
    return np.vstack([np.ones((1, n_users)), counts]).astype(np.float64)


def weighted_auc(y: np.ndarray, p: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """ROC AUC ``[R]`` of scores ``p [N]`` for labels ``y [N]`` under each row of impression ``weights [R, N]``
    (NaN where a row has no weight on one class). Tied scores form one group and count one half."""
    order = np.argsort(p, kind="stable")
    p_sorted, y_sorted = p[order], y[order].astype(np.float64)
    w = weights[:, order]
    starts = np.flatnonzero(np.r_[True, p_sorted[1:] != p_sorted[:-1]])
    pos = np.add.reduceat(w * y_sorted, starts, axis=1)  # [R, G] positive weight per tie group
    neg = np.add.reduceat(w * (1.0 - y_sorted), starts, axis=1)
    below = np.cumsum(neg, axis=1) - neg  # negative weight strictly below each group
    total_pos, total_neg = pos.sum(1), neg.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (pos * (below + 0.5 * neg)).sum(1) / (total_pos * total_neg)
    return np.where((total_pos > 0) & (total_neg > 0), out, np.nan)


def metric_replicates(click: np.ndarray, ctcvr: np.ndarray, p_ctr: np.ndarray, p_ctcvr: np.ndarray,
                      row_user: np.ndarray, counts: np.ndarray) -> dict[str, np.ndarray]:
    """Each metric of :data:`METRICS` on the sample and every resample, ``[R+1]``.

    click / ctcvr / p_ctr / p_ctcvr / row_user: ``[N]`` (row_user in ``[0, U)``); counts: ``[R+1, U]``.
    """
    n_users = counts.shape[1]
    weights = counts[:, row_user]  # [R+1, N]
    out: dict[str, np.ndarray] = {}
    for name, y, p in (("CTR", click, p_ctr), ("CTCVR", ctcvr, p_ctcvr)):
        out[f"{name}_AUC"] = weighted_auc(y, p, weights)
        per_user_auc = np.full(n_users, np.nan)
        n = np.bincount(row_user, minlength=n_users).astype(np.float64)
        for u in np.flatnonzero(n):
            rows = row_user == u
            per_user_auc[u] = auc(y[rows], p[rows])
        defined = ~np.isnan(per_user_auc)
        mass = counts[:, defined] * n[defined]  # [R+1, U_defined]
        with np.errstate(invalid="ignore", divide="ignore"):
            out[f"{name}_GAUC"] = (mass * per_user_auc[defined]).sum(1) / mass.sum(1)
        q = np.clip(p.astype(np.float64), EPS, 1 - EPS)
        loss = np.bincount(row_user, weights=-(y * np.log(q) + (1 - y) * np.log(1 - q)), minlength=n_users)
        out[f"{name}_LogLoss"] = (counts @ loss) / (counts @ n)
    return out


def score_variants(click: np.ndarray, ctcvr: np.ndarray, predictions: dict[str, list[tuple[np.ndarray, np.ndarray]]],
                   row_user: np.ndarray, counts: np.ndarray, baseline: str, confidence: float
                   ) -> tuple[dict[str, dict[str, MetricValue]], dict[str, dict[str, MetricValue]]]:
    """(metrics, deltas vs ``baseline``) per variant and metric, each a :class:`MetricValue` with a percentile CI.

    ``predictions[variant]`` holds one ``(p_ctr [N], p_ctcvr [N])`` per ranker seed; a replicate is the seed mean.
    ``n`` of a value is the number of evaluation users.
    """
    reps: dict[str, dict[str, np.ndarray]] = {}
    for variant, runs in predictions.items():
        per_seed = [metric_replicates(click, ctcvr, a, b, row_user, counts) for a, b in runs]
        reps[variant] = {m: np.mean([r[m] for r in per_seed], axis=0) for m in METRICS}
    n = counts.shape[1]

    def value(r: np.ndarray) -> MetricValue:
        low, high = percentile_interval(r[1:], confidence) if len(r) > 1 else (math.nan, math.nan)
        return MetricValue(float(r[0]), low, high, n, confidence)

    metrics = {v: {m: value(r) for m, r in per.items()} for v, per in reps.items()}
    deltas = {v: {m: value(reps[v][m] - reps[baseline][m]) for m in METRICS} for v in reps if v != baseline}
    return metrics, deltas
