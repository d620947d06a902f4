"""Build a simulator artifact: labels → ESMM training → hold-out evaluation with baselines → normalisation
statistics → grounding index → interest clusters → collective feedback → artifact files + card."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rlrec.config import SimulatorConfig
from rlrec.data.schema import InteractionLog
from rlrec.simulator.artifact import FORMAT_VERSION, META_FILE
from rlrec.simulator.card import write_card
from rlrec.simulator.clusters import InterestClusters
from rlrec.simulator.encoders import index_encoder, index_encoder_name, torch_threads
from rlrec.simulator.evaluation import baseline_warnings, evaluate_holdout, margin_verdict, reliability_plot
from rlrec.simulator.features import FeatureSpace
from rlrec.simulator.feedback import CollectiveFeedback, aggregate, export_feedback, pairwise, postprocess
from rlrec.simulator.grounding import ItemIndex, embedder_fingerprint
from rlrec.simulator.labels import HOLDOUT, PAD, TRAIN, impressions, label_log
from rlrec.simulator.scoring import Scorer
from rlrec.simulator.serving import simulate_serving
from rlrec.simulator.train import context_tensors, train_esmm

__all__ = ["build_simulator", "log_hash", "latest_histories", "torch_threads"]

logger = logging.getLogger(__name__)


def log_hash(data: InteractionLog) -> str:
    """sha256 (16 hex) over every interaction (user, item, time, seq, rating, group), users sorted."""
    h = hashlib.sha256()
    for user in data.users:
        for e in data.histories[user]:
            h.update(f"{user}\x1f{e.item_id}\x1f{e.time!r}\x1f{e.seq}\x1f{e.rating!r}\x1f{e.group}\x1e".encode())
    return h.hexdigest()[:16]


def latest_histories(data: InteractionLog, history_len: int) -> tuple[list[str], np.ndarray]:
    """Every user with their last ``history_len`` catalogue rows, oldest first, padded left: (users, ``[S, L]``)."""
    row = {item_id: i for i, item_id in enumerate(data.catalog.ids)}
    users = data.users
    hist = np.full((len(users), history_len), PAD, dtype=np.int64)
    for s, user in enumerate(users):
        rows = [row[e.item_id] for e in data.histories[user] if e.item_id in row][-history_len:]
        if rows:
            hist[s, -len(rows) :] = rows
    return users, hist


def _json_safe(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        return None if not np.isfinite(obj) else float(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


def build_simulator(config: SimulatorConfig, log: InteractionLog, out_dir: Path, embedder: Any, embedder_name: str,
                    show_progress: bool = True) -> Path:
    """Train, evaluate and write a simulator artifact for ``log`` into ``out_dir``; returns ``out_dir``.

    ``embedder``: a sentence-transformers-like object (``encode(texts, batch_size=, normalize_embeddings=, ...)``);
    ``embedder_name``: its config name (``model.embedder``), which keys the item-embedding cache.
    Runs with ``config.torch_threads`` torch threads.
    """
    with torch_threads(config.torch_threads):
        return _build(config, log, Path(out_dir), embedder, embedder_name, show_progress)


def _build(config: SimulatorConfig, log: InteractionLog, out_dir: Path, embedder: Any, embedder_name: str,
           show_progress: bool) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = round(now - clock, 2)
        clock = now

    catalog = log.catalog
    num_rows = len(catalog)
    labelled = label_log(log, config)
    features = FeatureSpace.build(log, labelled)
    popularity = np.bincount(labelled.pos_item[labelled.positives(TRAIN)], minlength=num_rows).astype(np.float64)
    weights = np.where(popularity > 0, popularity ** config.negative_alpha, 0.0)  # negatives: train items only
    train, dropped_train = impressions(labelled, TRAIN, weights, config.negative_ratio,
                                       np.random.default_rng(config.seed))
    holdout, dropped_holdout = impressions(labelled, HOLDOUT, weights, config.negative_ratio,
                                           np.random.default_rng(config.seed + 1))
    counts = Counter(labelled.counts)
    counts.update({"train_impressions": len(train), "holdout_impressions": len(holdout),
                   "negatives_dropped_after_redraws": dropped_train + dropped_holdout,
                   "known_users": len(features.user_ids), "known_items": features.num_items - 2,
                   "catalogue_items": num_rows})
    lap("labels")

    result = train_esmm(config, features, context_tensors(features, log, labelled), labelled, train, show_progress)
    lap("train")

    users, hist = latest_histories(log, config.history_len)
    scorer = Scorer(result.model, features, users, hist, features.profile_index([log.profile(u) for u in users]))
    metrics, curves = evaluate_holdout(scorer, log, labelled, train, holdout, config)
    sim_auc, pop_auc = metrics["simulator"]["ctcvr"]["auc"], metrics["popularity"]["ctcvr"]["auc"]
    # "beats" = the margin's CI excludes 0 (a point estimate 0.001 above is no win)
    metrics["beats_popularity_ctcvr_auc"] = margin_verdict(metrics["margins"]["ctcvr_auc_vs_popularity"]) == "beats"
    for warning in baseline_warnings(metrics):
        logger.warning("WARNING (%s simulator): %s", log.name, warning)
    reliability_plot(curves, config.ece_bins, out_dir / "reliability.png",
                     f"{log.name}: hold-out reliability ({metrics['holdout']['impressions']:,} impressions)")
    lap("evaluate")

    p_ctr, p_cvr = scorer.predict_contexts(labelled.ctx_user, labelled.ctx_hist,
                                           [log.profile(u) for u in labelled.ctx_user], train.ctx, train.item)
    lo, hi = np.quantile(p_ctr * p_cvr, config.norm_quantiles)
    normalization = {"lo": float(lo), "hi": float(hi), "quantiles": list(config.norm_quantiles),
                     "source": f"pCTCVR of the {len(train):,} training impressions (positives + sampled negatives)"}
    lap("normalization")

    encoder = index_encoder(embedder, embedder_name, config.index_encoder, config.encode_threads)
    lap("index_encoder")
    index = ItemIndex.build(catalog, encoder, config.cache_dir, index_encoder_name(embedder_name, config.index_encoder),
                            config.encode_batch_size, config.encode_precision, show_progress, config.encode_threads)
    lap("item_index")
    clusters = InterestClusters.fit(index.matrix, catalog, config.num_clusters, config.seed)
    lap("clusters")

    samples, serve_counts = simulate_serving(scorer, log, labelled, clusters, popularity, config, show_progress)
    transitions = aggregate(samples.contexts, samples.nexts, samples.users, samples.scores)
    points, post_counts = postprocess(transitions, clusters.names, config.min_support, config.score_norm,
                                      config.round_to)
    pairs = pairwise(points, config.pair_min_margin, config.max_pairs_per_context, config.seed)
    feedback_counts = {**serve_counts, **post_counts, "pointwise": len(points), "pairwise": len(pairs),
                       "contexts": len({p.context_ids for p in points})}
    export_feedback(out_dir, CollectiveFeedback(points, pairs, clusters.names, {
        "context_len": config.context_len, "ordered_context": config.ordered_context,
        "score_norm": config.score_norm, "round_to": config.round_to, "min_support": config.min_support,
        "pair_min_margin": config.pair_min_margin, "counts": feedback_counts}))
    lap("feedback")

    torch.save(result.model.state_dict(), out_dir / "model.pt")
    features.save(out_dir)
    np.savez_compressed(out_dir / "state.npz", users=np.array(users, dtype=str), hist=hist,
                        profile=scorer.state_profile[:-1])
    clusters.save(out_dir)
    meta = _json_safe({
        "format_version": FORMAT_VERSION,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "dataset": log.name,
        "data_hash": log_hash(log),
        "catalog_hash": catalog.content_hash(),
        "catalog_size": num_rows,
        "catalog_logged_items": len({e.item_id for events in log.histories.values() for e in events}),
        "embedder_name": embedder_name,
        "embedder_fingerprint": embedder_fingerprint(embedder),
        "labeler": labelled.labeler,
        "label_semantics": labelled.semantics,
        "label_warnings": labelled.warnings,
        "config": dataclasses.asdict(config),
        "model": {"num_users": features.num_users, "num_items": features.num_items,
                  "category_sizes": features.category_sizes, "profile_sizes": features.profile_sizes,
                  "profile_fields": features.profile_fields, "dim": config.embedding_dim, "hidden": list(config.hidden),
                  "parameters": sum(p.numel() for p in result.model.parameters())},
        "training": result.epoch_losses,
        "metrics": metrics,
        "normalization": normalization,
        "counts": dict(counts),
        "data_skipped": dict(log.skipped),
        "clusters": {"k": clusters.k, "names": clusters.names, "sizes": clusters.sizes.tolist()},
        "feedback": feedback_counts,
        "timings_s": timings,
    })
    (out_dir / META_FILE).write_text(json.dumps(meta, indent=1))
    write_card(out_dir, meta, points, pairs)
    logger.info("simulator artifact written to %s (CTCVR AUC %.4f vs popularity %.4f)", out_dir, sim_auc, pop_auc)
    return out_dir
