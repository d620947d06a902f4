"""The enhancer report: Taiji Table 2's layout with offline AUC deltas in place of online ADVV / revenue, the full
metric tables with CIs, and the diagnostics (leakage screen, PQ error, neighbour similarity, cohort)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rlrec.enhance.metrics import METRICS

__all__ = ["table2", "write_report"]

SEGMENTS = {"all": "overall", "long_tail": "long-tail"}
COLUMNS = {"+PQ": "Intra-User Features Enhancement", "+cross-user": "Cross-User Sequences Enhancement",
           "+both": "Overall"}


def _delta(mv: Any) -> str:
    if mv is None or mv.value != mv.value:
        return "n/a"
    mark = "**" if (mv.ci_low > 0 or mv.ci_high < 0) else ""
    return f"{mark}{mv.value:+.4f}{mark} [{mv.ci_low:+.4f}, {mv.ci_high:+.4f}]"


def table2(result: Any) -> str:
    """Rows: policy x setting (overall, long-tail); per enhancement column: ΔCTR AUC and ΔCTCVR AUC vs the baseline
    ranker, with paired 95% bootstrap CIs over users (bold: the CI excludes 0)."""
    head = ["Method", "Setting"]
    for column in COLUMNS.values():
        head += [f"{column} ΔCTR AUC", f"{column} ΔCTCVR AUC"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    policies = list(result.deltas["all"])
    for policy in policies:
        for segment, setting in SEGMENTS.items():
            per = result.deltas.get(segment, {}).get(policy)
            cells = [policy, setting]
            for variant in COLUMNS:
                for metric in ("CTR_AUC", "CTCVR_AUC"):
                    cells.append(_delta(per[variant][metric]) if per else "n/a (no users)")
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _metrics_table(result: Any, segment: str) -> str:
    head = ["policy", "variant", *METRICS]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for policy, per_variant in result.metrics.get(segment, {}).items():
        for variant, per_metric in per_variant.items():
            lines.append("| " + " | ".join([policy, variant, *(per_metric[m].format(4) for m in METRICS)]) + " |")
    return "\n".join(lines)


def write_report(result: Any, path: Path, seconds: dict[str, float]) -> Path:
    """``enhance_report.md``: Table 2 layout, full tables per segment, diagnostics, cohort, timings."""
    c = result.cohort
    parts = [
        f"# Taiji Stage 4: the LLM as an enhancer of a ranking model ({c.get('dataset', '')})",
        "",
        "Offline analogue of Taiji Table 2 (§2.4): each policy's `<think>…</think><answer>…</answer>` output, generated "
        "from the history before the user's cut-off, is embedded, product-quantized into sparse ids (intra-user "
        "features) and used to retrieve the most similar training user, whose recent events before the cut-off become "
        "an extra behaviour sequence (cross-user sequences). The ranker (ESMM towers over DIN-style target attention) "
        "is trained on the training users' rows with and without each enhancement, same rows, negatives and seeds; "
        "the cells are AUC deltas vs that baseline on the evaluation users, with paired bootstrap "
        f"{int(round(100 * next(iter(next(iter(result.metrics['all'].values())).values()))['CTR_AUC'].confidence))}% "
        "CIs over users (bold: the CI excludes 0). Long-tail: evaluation users with at most "
        f"{c['long_tail_max_history']:g} events before the cut-off (the training users' "
        "`enhance.long_tail_quantile`).",
        "",
        table2(result),
        "",
    ]
    for segment, name in SEGMENTS.items():
        if result.metrics.get(segment):
            parts += [f"## All metrics, {name} ({c['eval_users'] if segment == 'all' else c['long_tail_users']} "
                      "evaluation users)", "", _metrics_table(result, segment), ""]
    parts += ["## Diagnostics", "",
              "| policy | answers naming a future item (leak screen) | PQ rel. error train / eval | distinct codes | "
              "top-1 neighbour cosine | cross-user sequence length |", "|---|---|---|---|---|---|"]
    for policy, s in result.policy_stats.items():
        parts.append(f"| {policy} | {s['future_answer_rate']:.1%} | {s['pq_relative_error_train']:.3f} / "
                     f"{s['pq_relative_error_eval']:.3f} | {s['pq_distinct_codes']:.0f} | "
                     f"{s['neighbour_cosine_mean']:.3f} | {s['cross_sequence_len_mean']:.1f} |")
    parts += ["", "## Cohort", "",
              f"- users: {c['users']} ({c['train_users']} ranker-training, {c['eval_users']} evaluation, of which "
              f"{c['eval_users_from_test_split']} from the data split's test users and the rest from outside the "
              "prepared sample; no user of the sft / rl splits)",
              f"- impressions: {c['train_impressions']} training, {c['eval_impressions']} evaluation "
              f"({c['eval_clicks']} clicks, {c['eval_ctcvr_positives']} click ∧ conversion)",
              f"- users not drawable: {c['skipped_users']}",
              f"- neighbour events also before the querying user's cut-off time (shared clock): {c['shared_clock']}"]
    if seconds:
        parts += ["", "## Wall time (s)", "", *(f"- {k}: {v:.0f}" for k, v in seconds.items())]
    path.write_text("\n".join(parts) + "\n", encoding="utf-8")
    return path
