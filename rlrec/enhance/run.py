"""One enhancer evaluation: cohort + each policy's outputs → PQ codes and similar-user sequences → four rankers each
(baseline, +PQ, +cross-user, +both) → metrics with paired bootstrap CIs, overall and on the long-tail segment.

What is fitted sees the ranker-training users only: the PQ codebooks, the similar-user index (so a neighbour is
always a training user) and the ranker's weights; the item / category / profile vocabularies come from the
simulator labels' TRAIN contexts, which precede every user's cut-off. :func:`fitted_state` exposes what was fitted,
so a test can check that nothing after the cut-off, and nothing of the evaluation users, changes it.

Dims: ``U`` cohort users, ``N`` impressions, ``D`` embedding dim, ``M`` sub-codes, ``S`` cross-user sequence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from rlrec.config import EnhanceConfig
from rlrec.data.schema import InteractionLog
from rlrec.enhance.cohort import Cohort
from rlrec.enhance.features import (
    EnhancerLeakError,
    ProductCodes,
    SimilarUsers,
    fit_pq,
    fit_similar_users,
    future_answer_rate,
    neighbour_sequences,
)
from rlrec.enhance.metrics import METRICS, resample_counts, score_variants
from rlrec.enhance.ranker import EnhancedRanker, RankerInputs, predict, train_ranker
from rlrec.eval.bootstrap import MetricValue
from rlrec.simulator.features import FeatureSpace

__all__ = ["VARIANTS", "BASELINE", "PolicyFeatures", "policy_features", "EnhanceResult", "run_variants",
           "evaluate_policies", "fitted_state", "long_tail_users"]

BASELINE = "baseline"
VARIANTS = {BASELINE: (False, False), "+PQ": (True, False), "+cross-user": (False, True), "+both": (True, True)}


@dataclass
class PolicyFeatures:
    """One policy's enhancement features for the cohort."""

    codes: np.ndarray  # [U, M] PQ sub-code ids
    neighbours: np.ndarray  # [U, k] cohort user of each retrieved neighbour
    cosine: np.ndarray  # [U, k] their cosine
    cross: np.ndarray  # [U, S] catalogue rows of the neighbours' recent events (-1 padded left)
    pq: ProductCodes
    index: SimilarUsers
    stats: dict[str, float] = field(default_factory=dict)


def _histories(log: InteractionLog, cohort: Cohort) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per cohort user, the catalogue rows and times of the events before the cut-off."""
    row = {item_id: i for i, item_id in enumerate(log.catalog.ids)}
    rows, times = [], []
    for user, cut in zip(cohort.users, cohort.cut_index):
        events = [e for e in log.histories[user][:cut] if e.item_id in row]
        rows.append(np.array([row[e.item_id] for e in events], dtype=np.int64))
        times.append(np.array([e.time for e in events], dtype=np.float64))
    return rows, times


def policy_features(log: InteractionLog, cohort: Cohort, embeddings: np.ndarray, cfg: EnhanceConfig,
                    shared_clock: bool) -> PolicyFeatures:
    """PQ codes (codebooks fitted on the training users) and cross-user sequences (neighbours among training users)."""
    train = np.flatnonzero(cohort.train)
    pq = fit_pq(embeddings[train], cfg.pq_subquantizers, cfg.pq_nbits, seed=cfg.seed)
    codes = pq.encode(embeddings)
    index = fit_similar_users(embeddings[train], train)
    neighbours, cosine = index.search(embeddings, np.arange(len(cohort.users)), cfg.neighbors)
    rows, times = _histories(log, cohort)
    cross = neighbour_sequences(neighbours, rows, cohort.cut_time, times, cfg.neighbor_events, shared_clock)
    err = ((embeddings - pq.decode(codes)) ** 2).sum(1)
    norm = (embeddings ** 2).sum(1)
    stats = {"pq_relative_error_train": float(err[cohort.train].sum() / norm[cohort.train].sum()),
             "pq_relative_error_eval": float(err[~cohort.train].sum() / norm[~cohort.train].sum()),
             "pq_distinct_codes": float(len({tuple(c) for c in codes})),
             "neighbour_cosine_mean": float(np.nanmean(cosine[:, 0])),
             "cross_sequence_len_mean": float((cross >= 0).sum(1).mean())}
    return PolicyFeatures(codes, neighbours, cosine, cross, pq, index, stats)


def _inputs(cohort: Cohort, space: FeatureSpace, log: InteractionLog, rows: np.ndarray,
            features: PolicyFeatures | None, pq: bool, cross: bool) -> RankerInputs:
    user = cohort.row_user[rows]
    profiles = space.profile_index([log.profile(u) for u in cohort.users])  # [U, F]
    t = torch.from_numpy
    return RankerInputs(
        item=t(space.item_index[cohort.item[rows]]),
        categories=t(space.item_categories[cohort.item[rows]]),
        profile=t(profiles[user]),
        own=t(space.item_index[cohort.ctx_hist[cohort.ctx[rows]]]),
        cross=t(space.item_index[features.cross[user]]) if cross else None,
        codes=t(features.codes[user]) if pq else None,
    )


def run_variants(log: InteractionLog, cohort: Cohort, space: FeatureSpace, features: PolicyFeatures | None,
                 cfg: EnhanceConfig, variants: Sequence[str]) -> tuple[dict[str, list], dict[str, list]]:
    """Train each variant once per ranker seed on the training users' rows; (predictions on the evaluation rows
    per variant: one ``(p_ctr, p_ctcvr)`` per seed, the trained models per variant)."""
    threads = torch.get_num_threads()
    if cfg.torch_threads is not None:
        torch.set_num_threads(cfg.torch_threads)
    try:
        return _run_variants(log, cohort, space, features, cfg, variants)
    finally:
        torch.set_num_threads(threads)


def _run_variants(log: InteractionLog, cohort: Cohort, space: FeatureSpace, features: PolicyFeatures | None,
                  cfg: EnhanceConfig, variants: Sequence[str]) -> tuple[dict[str, list], dict[str, list]]:
    train_rows = np.flatnonzero(cohort.train[cohort.row_user])
    eval_rows = np.flatnonzero(~cohort.train[cohort.row_user])
    predictions: dict[str, list] = {}
    models: dict[str, list] = {}
    for variant in variants:
        pq, cross = VARIANTS[variant]
        x_train = _inputs(cohort, space, log, train_rows, features, pq, cross)
        x_eval = _inputs(cohort, space, log, eval_rows, features, pq, cross)
        predictions[variant], models[variant] = [], []
        for seed in cfg.seeds:
            torch.manual_seed(seed)
            model = EnhancedRanker(space.num_items, space.category_sizes, space.profile_sizes, cfg.embedding_dim,
                                   cfg.hidden, cfg.attention_hidden,
                                   codebook=(features.pq.subquantizers, features.pq.codebook_size) if pq else None,
                                   cross=cross)
            train_ranker(model, x_train, cohort.click[train_rows], cohort.conv[train_rows], epochs=cfg.epochs,
                         batch_size=cfg.batch_size, learning_rate=cfg.learning_rate, weight_decay=cfg.weight_decay,
                         seed=seed)
            predictions[variant].append(predict(model, x_eval))
            models[variant].append(model)
    return predictions, models


def fitted_state(features: PolicyFeatures, models: dict[str, list]) -> dict[str, np.ndarray]:
    """Everything fitted, as arrays: the PQ codebooks, the indexed vectors and every ranker parameter."""
    import faiss

    state = {"pq_centroids": features.pq.centroids(),
             "index_vectors": faiss.rev_swig_ptr(features.index.index.get_xb(), features.index.index.ntotal
                                                 * features.index.index.d).copy()}
    for variant, runs in models.items():
        for k, model in enumerate(runs):
            state.update({f"{variant}/{k}/{n}": p.detach().numpy().copy() for n, p in model.state_dict().items()})
    return state


def long_tail_users(cohort: Cohort, quantile: float) -> tuple[np.ndarray, float]:
    """(``[U]`` bool: evaluation users whose pre-cut-off history is at most the ``quantile`` of the training users',
    the threshold in events) — Taiji Table 2's "users with sparse interaction histories"."""
    lengths = cohort.history_length()
    threshold = float(np.quantile(lengths[cohort.train], quantile))
    return (~cohort.train) & (lengths <= threshold), threshold


@dataclass
class EnhanceResult:
    """Per segment (``all``, ``long_tail``) and policy: metrics and deltas vs the baseline, per variant."""

    metrics: dict[str, dict[str, dict[str, dict[str, MetricValue]]]]  # segment -> policy -> variant -> metric
    deltas: dict[str, dict[str, dict[str, dict[str, MetricValue]]]]
    policy_stats: dict[str, dict[str, float]]
    cohort: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        conv = (lambda tree: {s: {p: {v: {m: mv.to_dict() for m, mv in per.items()} for v, per in pv.items()}  # noqa: E731
                                  for p, pv in sp.items()} for s, sp in tree.items()})
        return {"metrics": conv(self.metrics), "deltas": conv(self.deltas), "policy_stats": self.policy_stats,
                "cohort": self.cohort, "metric_names": list(METRICS)}


def evaluate_policies(log: InteractionLog, cohort: Cohort, space: FeatureSpace, outputs: dict[str, list[str]],
                      embeddings: dict[str, np.ndarray], cfg: EnhanceConfig, shared_clock: bool,
                      future_titles: Sequence[set[str]]) -> EnhanceResult:
    """The whole comparison for each policy label of ``outputs`` (texts ``[U]``) / ``embeddings`` (``[U, D]``).

    Raises :class:`EnhancerLeakError` when a policy's answers name the users' future more often than
    ``cfg.max_future_answer_rate``."""
    rates = {label: future_answer_rate(texts, future_titles)[0] for label, texts in outputs.items()}
    for label, rate in rates.items():  # the leakage screen, before anything is trained
        if rate > cfg.max_future_answer_rate:
            raise EnhancerLeakError(
                f"enhance: {rate:.0%} of the {label} policy's answers name an item the user first meets at or after the "
                f"cut-off (enhance.max_future_answer_rate={cfg.max_future_answer_rate}): the policy saw these users' "
                "future (trained on them?) or its prompts reach past the cut-off; check the checkpoint and the cohort")
    eval_users = np.flatnonzero(~cohort.train)
    tail, threshold = long_tail_users(cohort, cfg.long_tail_quantile)
    segments = {"all": eval_users, "long_tail": np.flatnonzero(tail)}
    base_predictions, _ = run_variants(log, cohort, space, None, cfg, [BASELINE])  # no LLM input: shared by policies
    eval_rows = np.flatnonzero(~cohort.train[cohort.row_user])
    row_user = cohort.row_user[eval_rows]
    click, ctcvr = cohort.click[eval_rows], cohort.click[eval_rows] * cohort.conv[eval_rows]
    metrics: dict = {s: {} for s in segments}
    deltas: dict = {s: {} for s in segments}
    stats: dict[str, dict[str, float]] = {}
    for label in outputs:
        features = policy_features(log, cohort, embeddings[label], cfg, shared_clock)
        predictions, _ = run_variants(log, cohort, space, features, cfg, [v for v in VARIANTS if v != BASELINE])
        predictions = {BASELINE: base_predictions[BASELINE], **predictions}
        stats[label] = {**features.stats, "future_answer_rate": rates[label]}
        for segment, users in segments.items():
            if not len(users):
                continue
            local = np.full(len(cohort.users), -1, dtype=np.int64)
            local[users] = np.arange(len(users))
            keep = local[row_user] >= 0
            counts = resample_counts(len(users), cfg.bootstrap_samples, cfg.seed + (segment == "long_tail"))
            preds = {v: [(a[keep], b[keep]) for a, b in runs] for v, runs in predictions.items()}
            metrics[segment][label], deltas[segment][label] = score_variants(
                click[keep], ctcvr[keep], preds, local[row_user[keep]], counts, BASELINE, cfg.confidence)
    info = {"users": len(cohort.users), "train_users": int(cohort.train.sum()), "eval_users": len(eval_users),
            "long_tail_users": int(tail.sum()), "long_tail_max_history": threshold,
            "eval_users_from_test_split": int(cohort.from_test_split[eval_users].sum()),
            "train_impressions": int(cohort.train[cohort.row_user].sum()), "eval_impressions": len(eval_rows),
            "eval_clicks": int(click.sum()), "eval_ctcvr_positives": int(ctcvr.sum()), "skipped_users": cohort.skipped,
            "shared_clock": shared_clock}
    return EnhanceResult(metrics, deltas, stats, info)
