"""Simulated serving of interest clusters to logged user states, scored by the CTCVR model (seed 003 §4.1).

See :mod:`rlrec.simulator.feedback` for what the samples are aggregated into.
Dims: ``M`` served (user state, cluster) samples, ``P`` pool size, ``k`` clusters.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
from tqdm.auto import tqdm

from rlrec.config import SimulatorConfig
from rlrec.data.schema import InteractionLog
from rlrec.simulator.clusters import UNKNOWN, InterestClusters, last_distinct
from rlrec.simulator.labels import LabelledLog
from rlrec.simulator.scoring import Scorer

__all__ = ["ServedSamples", "cluster_pools", "top_n_mean", "simulate_serving"]


@dataclass
class ServedSamples:
    contexts: list[tuple[int, ...]]  # [M] the user's last K clusters
    nexts: np.ndarray  # [M] served cluster
    users: list[str]  # [M]
    scores: np.ndarray  # [M] engagement: mean pCTCVR of the user's top-n pool items
    organic: np.ndarray  # [M] bool: the cluster the user actually moved to next


def cluster_pools(labels: np.ndarray, popularity: np.ndarray, k: int, size: int) -> np.ndarray:
    """``[k, size]`` catalogue rows: each cluster's most popular items (ties by row), padded with -1."""
    pools = np.full((k, size), -1, dtype=np.int64)
    order = np.lexsort((np.arange(len(labels)), -popularity[: len(labels)]))
    for c in range(k):
        members = order[labels[order] == c][:size]
        pools[c, : len(members)] = members
    return pools


def top_n_mean(values: np.ndarray, valid: np.ndarray, n: int) -> np.ndarray:
    """Mean of the ``n`` largest valid entries per row of ``values`` ``[M, P]``; NaN for a row with none."""
    v = np.where(valid, values, -np.inf)
    top = -np.sort(-v, axis=1)[:, :n]
    finite = np.isfinite(top)
    with np.errstate(invalid="ignore"):
        return np.where(finite, top, 0.0).sum(1) / finite.sum(1)


def simulate_serving(scorer: Scorer, log: InteractionLog, labelled: LabelledLog, clusters: InterestClusters,
                     popularity: np.ndarray, config: SimulatorConfig, show_progress: bool = True,
                     block: int = 2000) -> tuple[ServedSamples, Counter]:
    """Serve the organic next cluster plus random novel clusters to sampled user states; score engagement."""
    rng = np.random.default_rng(config.seed + 7)
    counts: Counter = Counter()
    k = clusters.k
    label_of_row = np.append(clusters.labels, [UNKNOWN, UNKNOWN])  # row I (unknown) and -1 (padding)
    pools = cluster_pools(clusters.labels, popularity, k, config.pool_size)

    num_ctx = len(labelled.ctx_user)
    chosen = np.arange(num_ctx)
    if num_ctx > config.max_feedback_contexts:
        chosen = np.sort(rng.choice(num_ctx, size=config.max_feedback_contexts, replace=False))
        counts["user_states_subsampled_out"] = num_ctx - len(chosen)
    order = np.argsort(labelled.pos_ctx, kind="stable")
    starts = np.searchsorted(labelled.pos_ctx[order], np.arange(num_ctx + 1))

    ctx_idx, ctx_keys, served, organic = [], [], [], []
    for c in chosen.tolist():
        seq = [int(x) for x in label_of_row[labelled.ctx_hist[c]] if x != UNKNOWN]
        key = last_distinct(seq, config.context_len, config.ordered_context)
        if key is None:
            counts["user_states_with_fewer_than_K_clusters"] += 1
            continue
        nxt = Counter(int(x) for x in label_of_row[labelled.pos_item[order[starts[c] : starts[c + 1]]]]
                      if x != UNKNOWN and x not in key)
        first = sorted(nxt.items(), key=lambda kv: (-kv[1], kv[0]))[0][0] if nxt else None
        counts["organic_novel_next" if first is not None else "no_novel_next"] += 1
        others = np.array([x for x in range(k) if x not in key and x != first])
        picks = rng.choice(others, size=min(config.explore_per_context, len(others)), replace=False) if len(others) else []
        for cluster, is_organic in ([(first, True)] if first is not None else []) + [(int(x), False) for x in picks]:
            ctx_idx.append(c)
            ctx_keys.append(key)
            served.append(cluster)
            organic.append(is_organic)
    counts["served_samples"] = len(served)

    # Score every (sample, pool item) pair, one block of samples at a time.
    ctx_arr, served_arr = np.array(ctx_idx, dtype=np.int64), np.array(served, dtype=np.int64)
    scores = np.empty(len(served), dtype=np.float64)
    P = pools.shape[1]
    for s in tqdm(range(0, len(served), block), desc="simulated serving", disable=not show_progress, leave=False):
        ctxs, clus = ctx_arr[s : s + block], served_arr[s : s + block]
        uniq, local = np.unique(ctxs, return_inverse=True)
        users = [labelled.ctx_user[c] for c in uniq.tolist()]
        rows = pools[clus]  # [m, P]
        valid = rows >= 0
        pair_ctx = np.repeat(local, P)[valid.ravel()]
        p_ctr, p_cvr = scorer.predict_contexts(users, labelled.ctx_hist[uniq], [log.profile(u) for u in users],
                                               pair_ctx, rows[valid])
        values = np.zeros(rows.shape, dtype=np.float64)
        values[valid] = p_ctr.astype(np.float64) * p_cvr
        scores[s : s + block] = top_n_mean(values, valid, config.served_items)
    return ServedSamples(ctx_keys, served_arr, [labelled.ctx_user[c] for c in ctx_idx], scores,
                         np.array(organic, dtype=bool)), counts
