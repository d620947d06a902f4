"""The data card: what was loaded, skipped, built and split — as JSON, markdown and a histogram PNG."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from rlrec.config import DataConfig
from rlrec.data.examples import BuildReport, Example, category_levels
from rlrec.data.schema import InteractionLog

HISTOGRAM_PNG = "history_length_hist.png"


def _stats(values: Sequence[float]) -> dict[str, float]:
    if not len(values):
        return {"mean": 0.0, "median": 0.0, "max": 0.0}
    arr = np.asarray(values, dtype=float)
    return {"mean": round(float(arr.mean()), 2), "median": float(np.median(arr)), "max": float(arr.max())}


def reorder_fraction(log: InteractionLog) -> float | None:
    """Share of interactions flagged ``reordered`` (Instacart); ``None`` when the log has no such flag."""
    flags = [e.attributes["reordered"] for e in log.interactions() if "reordered" in e.attributes]
    return round(float(np.mean(flags)), 4) if flags else None


def compression_stats(report: BuildReport, budget: int | None) -> dict[str, Any]:
    """Token reduction of the RecGPT compression on the same history windows (all examples)."""
    plain = np.asarray(report.history_tokens, dtype=float)
    packed = np.asarray(report.history_tokens_compressed, dtype=float)
    compact = np.asarray(report.history_tokens_compact, dtype=float)
    if not plain.size or plain.sum() == 0:
        return {"examples": int(plain.size)}
    ratio = packed[plain > 0] / plain[plain > 0]
    stats: dict[str, Any] = {
        "examples": int(plain.size),
        "history_tokens_uncompressed": int(plain.sum()),
        "history_tokens_compressed": int(packed.sum()),
        "reduction": round(1.0 - float(packed.sum() / plain.sum()), 4),
        "median_example_reduction": round(1.0 - float(np.median(ratio)), 4),
        # Decomposition: label-free per-event lines vs Taiji lines, then aggregation vs those lines.
        "history_tokens_compact_per_event": int(compact.sum()),
        "reduction_from_aggregation": round(1.0 - float(packed.sum() / max(compact.sum(), 1.0)), 4),
    }
    if budget is not None:
        stats["fits_budget_uncompressed"] = round(float(np.mean(np.asarray(report.prompt_tokens_full) <= budget)), 4)
        stats["fits_budget_compressed"] = round(
            float(np.mean(np.asarray(report.prompt_tokens_full_compressed) <= budget)), 4)
    return stats


def make_card(log: InteractionLog, cfg: DataConfig, splits: dict[str, list[Example]], report: BuildReport,
              token_counter: str, load_seconds: float, build_seconds: float) -> dict[str, Any]:
    every = [e for examples in splits.values() for e in examples]
    return {
        "dataset": log.name,
        "description": log.description,
        "config": asdict(cfg),
        "seconds": {"load": round(load_seconds, 3), "build": round(build_seconds, 3)},
        "log": {
            "users": len(log.histories),
            "items": len(log.catalog),
            "interactions": log.num_interactions,
            "category_depth": log.catalog.depth,
            "category_levels": category_levels(cfg, log.catalog),  # shown in prompts and answers
            "catalog_hash": log.catalog.content_hash(),
            "timed": log.timed,  # False: no timestamps, events ordered by seq / line order
            "skipped_rows": dict(log.skipped),
            "duplicate_interactions": {"count": log.duplicates, "policy": cfg.duplicates},
            "reorder_fraction": reorder_fraction(log),
        },
        "targets": {
            "rejected_candidates": dict(report.rejected_targets),
            "users_without_target": report.users_without_target,
        },
        "splits": {
            name: {
                "examples": len(examples),
                "users": len({e.user_id for e in examples}),
                "repeat_target_fraction": round(float(np.mean([e.repeat_target for e in examples])), 4) if examples else None,
            }
            for name, examples in splits.items()
        },
        "history_length": {
            "available": _stats([e.history_available for e in every]),
            "shown": _stats([len(e.history_item_ids) for e in every]),
            "histogram_png": HISTOGRAM_PNG,
        },
        "prompt_tokens": {"counter": token_counter, "budget": cfg.prompt_token_budget,
                          **_stats([e.prompt_tokens for e in every])},
        "truncation": {
            "examples_truncated": report.examples_truncated,
            "history_lines_dropped": report.lines_dropped,
            "over_budget_without_history": report.over_budget_without_history,
        },
        "compression": {"used_in_prompts": cfg.compress_history,
                        **compression_stats(report, cfg.prompt_token_budget)},
    }


def plot_history_lengths(examples: Sequence[Example], path: Path, history_len: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bins = np.arange(0, max(history_len, 1) + 2) - 0.5
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.hist([e.history_available for e in examples], bins=bins, alpha=0.6, label="available (history_len window)")
    ax.hist([len(e.history_item_ids) for e in examples], bins=bins, alpha=0.6, label="shown (after token budget)")
    ax.set_xlabel("history interactions per example")
    ax.set_ylabel("examples")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def card_markdown(card: dict[str, Any]) -> str:
    lg, tr, comp, pt = card["log"], card["truncation"], card["compression"], card["prompt_tokens"]
    lines = [
        f"# Data card: {card['dataset']}", "", card["description"], "",
        f"- users {lg['users']:,}, items {lg['items']:,}, interactions {lg['interactions']:,} "
        f"(category depth {lg['category_depth']}, catalogue hash `{lg['catalog_hash']}`)",
        f"- loaded in {card['seconds']['load']:.2f} s, examples built in {card['seconds']['build']:.2f} s",
        f"- reorder fraction: {lg['reorder_fraction'] if lg['reorder_fraction'] is not None else 'n/a'}",
        *_data_notes(card),
        "", "## Splits (user-disjoint)", "", "| split | examples | users | target bought/rated before |", "|---|---|---|---|",
    ]
    for name, s in card["splits"].items():
        lines.append(f"| {name} | {s['examples']:,} | {s['users']:,} | {s['repeat_target_fraction']} |")
    lines += ["", "## Skipped", "", "| what | reason | count |", "|---|---|---|"]
    lines += [f"| rows | {r} | {n:,} |" for r, n in lg["skipped_rows"].items()] or ["| rows | (none) | 0 |"]
    lines += [f"| candidate targets | {r} | {n:,} |" for r, n in card["targets"]["rejected_candidates"].items()]
    lines.append(f"| users | no eligible target | {card['targets']['users_without_target']:,} |")
    ha = card["history_length"]
    lines += [
        "", "## History and prompt length", "",
        f"- history interactions per example: available mean {ha['available']['mean']}, shown mean "
        f"{ha['shown']['mean']} (histogram: `{ha['histogram_png']}`)",
        f"- prompt tokens ({pt['counter']}): mean {pt['mean']}, max {pt['max']:.0f}, budget {pt['budget']}",
        f"- token budget: {tr['examples_truncated']:,} examples truncated, {tr['history_lines_dropped']:,} oldest "
        f"history lines dropped, {tr['over_budget_without_history']:,} over budget even without history",
        "", "## RecGPT §2.1.1 compression (measured on the same history windows)", "",
    ]
    if "reduction" in comp:
        lines.append(f"- history tokens {comp['history_tokens_uncompressed']:,} → {comp['history_tokens_compressed']:,}: "
                     f"reduction {comp['reduction']:.1%} (median per example {comp['median_example_reduction']:.1%})")
        lines.append(f"- of which aggregation: one label-free line per event would take "
                     f"{comp['history_tokens_compact_per_event']:,} tokens; the RecGPT grouping saves "
                     f"{comp['reduction_from_aggregation']:.1%} over that")
        if "fits_budget_uncompressed" in comp:
            lines.append(f"- full window fits the budget: {comp['fits_budget_uncompressed']:.1%} uncompressed, "
                         f"{comp['fits_budget_compressed']:.1%} compressed")
    lines.append(f"- compression used in these prompts: {comp['used_in_prompts']}")
    return "\n".join(lines) + "\n"


def _data_notes(card: dict[str, Any]) -> list[str]:
    """Card lines for what the data lacks (timestamps, categories) and its duplicate rows."""
    lg, notes = card["log"], []
    duplicates = lg.get("duplicate_interactions", {"count": 0})
    if duplicates["count"]:
        notes.append(f"- duplicate interactions (same user, item, time, behaviour, rating, label, group): "
                     f"{duplicates['count']:,}, {'dropped' if duplicates['policy'] == 'drop' else 'kept'} "
                     f"(data.duplicates={duplicates['policy']})")
    if not lg.get("timed", True):
        notes.append("- **no timestamps**: events are ordered by `seq` (default: line order), each event is its own "
                     "moment, prompts say the data has no time, and compressed histories group events by position "
                     "(\"positions 1-10\") instead of age")
    if lg["category_depth"] == 0:
        notes.append("- **no categories**: prompts and answers carry item titles only (category levels 0); "
                     "Category_L<n>_ACC, Distinct_Categories_per_User and Novel_Category_Rate are reported as n/a")
    elif lg.get("category_levels", lg["category_depth"]) != lg["category_depth"]:
        notes.append(f"- categories shown: L1..L{lg['category_levels']} of depth {lg['category_depth']} "
                     "(data.category_levels)")
    return notes


def write_card(card: dict[str, Any], examples: Sequence[Example], out_dir: Path, history_len: int) -> None:
    """``data_card.json``, ``data_card.md`` and the history-length histogram PNG into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    plot_history_lengths(examples, out_dir / HISTOGRAM_PNG, history_len)
    (out_dir / "data_card.json").write_text(json.dumps(card, indent=2, default=str), encoding="utf-8")
    (out_dir / "data_card.md").write_text(card_markdown(card), encoding="utf-8")
