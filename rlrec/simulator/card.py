"""``simulator_card.md``: what the simulator is, how it was labelled and trained, how good it is vs baselines."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rlrec.simulator.evaluation import BASELINES, baseline_warnings, margin_verdict
from rlrec.simulator.feedback import FeedbackPair, FeedbackPoint

__all__ = ["write_card"]

MODELS = (("simulator", "ESMM simulator"), ("popularity", "popularity"), ("item_knn", "item-kNN (co-occurrence)"))


def _f(x: float | None, digits: int = 4) -> str:
    return "n/a" if x is None else f"{x:.{digits}f}"


def _metrics_table(metrics: dict) -> list[str]:
    lines = ["| model | CTR AUC | CTR log-loss | CTR ECE | CTCVR AUC | CTCVR log-loss | CTCVR ECE |",
             "|---|---|---|---|---|---|---|"]
    for key, label in MODELS:
        m = metrics[key]
        lines.append(f"| {label} | {_f(m['ctr']['auc'])} | {_f(m['ctr']['log_loss'])} | {_f(m['ctr']['ece'])} | "
                     f"{_f(m['ctcvr']['auc'])} | {_f(m['ctcvr']['log_loss'])} | {_f(m['ctcvr']['ece'])} |")
    return lines


def write_card(out_dir: Path, meta: dict, points: Sequence[FeedbackPoint], pairs: Sequence[FeedbackPair]) -> Path:
    """Render the card from the artifact metadata and the feedback export; returns its path."""
    cfg, metrics, counts, fb = meta["config"], meta["metrics"], meta["counts"], meta["feedback"]
    margin = metrics["margins"]["ctcvr_auc_vs_popularity"]
    knn_margin = metrics["margins"]["ctcvr_auc_vs_item_knn"]
    warnings = [*baseline_warnings(metrics), *meta.get("label_warnings", [])]
    norm = meta["normalization"]
    ho = metrics["holdout"]
    lines = [
        f"# Simulator card — {meta['dataset']}",
        "",
        f"Built {meta['created']}; data hash `{meta['data_hash']}`, catalogue hash `{meta['catalog_hash']}` "
        f"({meta['catalog_size']:,} items), embedder `{meta['embedder_name']}` (fingerprint "
        f"`{meta['embedder_fingerprint']}`), artifact format {meta['format_version']}.",
        "",
        "## Headline",
        "",
        f"CTCVR AUC on the hold-out: **{_f(metrics['simulator']['ctcvr']['auc'])}** vs popularity "
        f"{_f(metrics['popularity']['ctcvr']['auc'])} (margin **{margin['margin']:+.4f}**, 95% user-bootstrap CI "
        f"[{_f(margin['ci95_low'])}, {_f(margin['ci95_high'])}]) and item-kNN {_f(metrics['item_knn']['ctcvr']['auc'])} "
        f"(margin {knn_margin['margin']:+.4f}, CI [{_f(knn_margin['ci95_low'])}, {_f(knn_margin['ci95_high'])}]). "
        + _verdict_line(metrics["margins"]),
        "",
        *[line for w in warnings for line in (f"> **WARNING: {w}**", ">")][:-1],
        *([""] if warnings else []),
        "## Labels",
        "",
        f"Labeler `{meta['labeler']}`. {meta['label_semantics']}",
        "",
        f"Each positive gets {cfg['negative_ratio']} sampled negative impressions in the same context (items the user "
        f"did not act on there), drawn with probability ∝ (training clicks)^{cfg['negative_alpha']} over the items with "
        "training clicks. Hold-out negatives are drawn the same way (another seed), so AUCs measure ranking against "
        "popularity-aware negatives — harder for the popularity baseline than uniform negatives would be.",
        "",
        f"Hold-out: the last {cfg['holdout_fraction']:.0%} of each user's labelled orders/events (chronological).",
        "",
        "| count | value |", "|---|---|",
        *[f"| {k} | {v:,} |" for k, v in sorted(counts.items())],
        *[f"| data loader skipped: {k} | {v:,} |" for k, v in sorted(meta["data_skipped"].items())],
        "",
        "## Model",
        "",
        f"ESMM: shared embeddings (dim {cfg['embedding_dim']}) for user, item, every category level and profile "
        f"fields {meta['model']['profile_fields'] or '(none in this dataset)'}; the mean item embedding of the last "
        f"{cfg['history_len']} interactions; how often the target is among them; CTR and CVR towers "
        f"(MLP {cfg['hidden']}); pCTCVR = pCTR × pCVR. Loss BCE(pCTR, click) + BCE(pCTCVR, click∧conversion) over all "
        f"impressions. {meta['model']['parameters']:,} parameters; {cfg['epochs']} epochs of Adam "
        f"(lr {cfg['learning_rate']}, batch {cfg['batch_size']}); id dropout {cfg['id_dropout']} trains the cold-start "
        "embeddings.",
        "",
        "| epoch | loss | CTR BCE | CTCVR BCE |", "|---|---|---|---|",
        *[f"| {i + 1} | {e['loss']:.4f} | {e['ctr']:.4f} | {e['ctcvr']:.4f} |" for i, e in enumerate(meta["training"])],
        "",
        "## Hold-out evaluation (same run, same impressions)",
        "",
        f"{ho['impressions']:,} impressions of {ho['users']:,} users ({ho['clicks']:,} clicks, "
        f"{ho['click_and_conversion']:,} click∧conversion). ECE over {cfg['ece_bins']} equal-width bins. "
        "Baselines: popularity = the item's training clicks (CTR) or click∧conversions (CTCVR), Platt-scaled; "
        f"item-kNN = summed co-occurrence cosine (top {cfg['knn_neighbors']} neighbours, self included) of the item to "
        "the user's last interactions, Platt-scaled per task.",
        "",
        *_metrics_table(metrics),
        "",
        f"Simulator CVR AUC on clicked hold-out impressions: {_f(metrics['simulator']['cvr_on_clicks']['auc'])} "
        f"(conversion rate {metrics['simulator']['cvr_on_clicks']['positive_rate']:.3f}).",
        "",
        "![reliability](reliability.png)",
        "",
        "## Scoring API and normalisation",
        "",
        "`Simulator.load(path).ctcvr(user_ids, item_ids)` → raw pCTCVR, batched; by default the user is in their "
        "latest logged state; `histories=` (item ids, most recent first) conditions on another history. "
        f"`normalized_ctcvr` = clip((x − lo) / (hi − lo), 0, 1) with lo = {norm['lo']:.6g}, hi = {norm['hi']:.6g}, "
        f"the {norm['quantiles']} quantiles of {norm['source']} (fixed, so a reward means the same in every batch); "
        "`per_batch=True` uses the batch's own min / max instead.",
        "",
        "Unknown ids never crash: a user not in the log gets the cold-start user embedding and an empty history; "
        "an item not in the catalogue gets the cold-start item embedding and unknown categories; users / items "
        "without training impressions get the cold-start embedding with their real history / categories. "
        "`Simulator.unknown_counts` counts each (`unknown_user`, `cold_user`, `unknown_item`, `cold_item`).",
        "",
        "## Candidate pool and grounding index",
        "",
        _pool_line(meta),
        "",
        "## Interest clusters and collective feedback",
        "",
        f"k-means (k = {meta['clusters']['k']}) over the `{meta['embedder_name']}` embeddings of `Item.text()`; "
        "each cluster is named by its most common category values. Sizes: min "
        f"{min(meta['clusters']['sizes'])}, max {max(meta['clusters']['sizes'])}.",
        "",
        f"Simulated serving: for sampled user states (sequence S = last {cfg['context_len']} distinct clusters, "
        f"{'oldest first' if cfg['ordered_context'] else 'as a set'}) the organic next cluster and "
        f"{cfg['explore_per_context']} random novel clusters are served; engagement = mean pCTCVR of the user's top "
        f"{cfg['served_items']} items among the cluster's {cfg['pool_size']} most popular. Aggregated per (S, next) "
        f"over users; post-processing: drop support < {cfg['min_support']} users, normalise with "
        f"`{cfg['score_norm']}`, round to {cfg['round_to']}. Pairs: rounded score gap >= {cfg['pair_min_margin']}, "
        f"at most {cfg['max_pairs_per_context']} per S.",
        "",
        "| feedback count | value |", "|---|---|",
        *[f"| {k} | {v:,} |" for k, v in sorted(fb.items())],
        "",
        "`feedback/pointwise.jsonl` fields: `context_ids` (cluster ids of S), `context_names`, `next_id`, "
        "`next_name`, `score` (normalised + rounded, [0, 1]), `raw_score` (mean pCTCVR), `support` (distinct "
        "users), `impressions` (served user states). `feedback/pairwise.jsonl`: `context_ids`, `context_names`, "
        "`preferred_id`, `preferred_name`, `rejected_id`, `rejected_name`, `margin` (score gap), "
        "`preferred_score`, `rejected_score`. Load with `rlrec.simulator.load_feedback(artifact_dir)`.",
        "",
    ]
    if points:
        top = sorted(points, key=lambda p: (-p.support, -p.score))[:5]
        lines += ["Examples (highest support):", "", "| S | next | score | raw | support |", "|---|---|---|---|---|"]
        lines += [f"| {' → '.join(p.context_names)} | {p.next_name} | {p.score:.2f} | {p.raw_score:.4g} | {p.support} |"
                  for p in top]
        lines.append("")
    lines += ["## Build timings (s)", "", ", ".join(f"{k} {v}" for k, v in meta["timings_s"].items()), ""]
    path = Path(out_dir) / "simulator_card.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _verdict_line(margins: dict) -> str:
    """One sentence per baseline; "beats" only where the margin's 95% CI excludes 0."""
    words = {"beats": "beats {} (the CI excludes 0)", "beaten": "is BEATEN by {} (the CI lies below 0)",
             "tie": "does not beat {} (the CI spans 0)", "no_ci": "has no CI against {} (simulator.bootstrap=0)"}
    parts = [words[margin_verdict(margins[f"ctcvr_auc_vs_{key}"])].format(name) for key, name in BASELINES.items()]
    return f"The simulator {' and '.join(parts)}."


def _pool_line(meta: dict) -> str:
    cfg, size = meta["config"], meta["catalog_size"]
    logged = meta.get("catalog_logged_items", size)
    kind = cfg.get("index_encoder", "embedder")
    encoder = (f"`{meta['embedder_name']}` itself" if kind == "embedder" else
               f"a model2vec static model distilled locally from `{meta['embedder_name']}`")
    seconds = meta.get("timings_s", {}).get("item_index")
    timing = f" (built in {seconds:.1f} s, cold unless its matrix was cached)" if seconds is not None else ""
    return (f"Answers are grounded against {size:,} items, {logged:,} of which occur in the log. The default "
            "`data.catalogue=logged` keeps only the logged items: the simulator has learned nothing about the others, "
            "so their CTCVR would be the cold-start guess. `data.catalogue=full` grounds against the loader's whole "
            f"catalogue instead. The index is encoded by {encoder} (`simulator.index_encoder={kind}`){timing}.")
