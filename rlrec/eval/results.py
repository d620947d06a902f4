"""Evaluation results: metric metadata (direction, group), the result record, JSON + markdown files.

Files written by :func:`write_result` into ``<run_dir>/eval/<label>/``:

* ``eval_metrics.json`` — ``{"label", "metrics": {name: {value, ci_low, ci_high, n, confidence,
  higher_is_better, group}}, "counts", "skipped", "settings"}``. Analysis reads directions from here.
* ``eval_metrics.md`` — the same as a Taiji Table 1/3-style markdown table.
* ``completions.jsonl`` — one row per completion (prompt id, text, parse status, grounded item, hits …).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rlrec.eval.bootstrap import MetricValue
from rlrec.logging.base import plain  # the one JSON-safe conversion (NaN/inf -> null, numpy -> numbers)

__all__ = ["MetricInfo", "METRICS", "metric_info", "EvalResult", "write_result", "read_result"]


@dataclass(frozen=True)
class MetricInfo:
    group: str  # row group of the markdown table (Taiji "Metric Type")
    higher_is_better: bool
    description: str
    range: tuple[float, float] | None = None  # declared value range (reward metrics), None = not declared


METRICS: dict[str, MetricInfo] = {
    "Think_Tag_Presence_Rate": MetricInfo("Format Accuracy", True, "completion opens a <think> tag"),
    "Think_Non_Empty_Rate": MetricInfo("Format Accuracy", True, "<think> block is non-empty"),
    "Answer_Non_Empty_Rate": MetricInfo("Format Accuracy", True, "<answer> block is present and non-empty"),
    "Unanswered_Rate": MetricInfo("Format Accuracy", False, "no title or answer text could be parsed at all"),
    "Category_L1_ACC": MetricInfo("Semantic Hit-Rate", True, "predicted L1 category equals the target's"),
    "Category_L2_ACC": MetricInfo("Semantic Hit-Rate", True, "predicted L2 category equals the target's"),
    "Category_L3_ACC": MetricInfo("Semantic Hit-Rate", True, "predicted L3 category equals the target's"),
    "Title_Hit-Rate@50": MetricInfo("Semantic Hit-Rate", True, "target among the top-50 items the answer grounds to"),
    "Title_Hit-Rate@100": MetricInfo("Semantic Hit-Rate", True, "target among the top-100 grounded items"),
    "Semantic_Cosine": MetricInfo("Semantic Hit-Rate", True, "cosine(answer, target item text), Taiji Eq. 3"),
    "CTCVR": MetricInfo("Preference Hit-Rate", True, "simulated pCTCVR(user, grounded top-1 item), raw"),
    "Distinct_Categories_per_User": MetricInfo("Health", True, "distinct L1 categories recommended per user"),
    "Novel_Category_Rate": MetricInfo("Health", True, "recommended L1 category absent from the user's history"),
    "Catalog_Coverage": MetricInfo("Health", True, "distinct recommended items / catalogue size"),
    "Popularity_Gini": MetricInfo("Health", False, "Gini of recommendation counts over items (Matthew effect)"),
    "Head_Item_Share": MetricInfo("Health", False, "share of recommendations that are head (most popular) items"),
}


def metric_info(name: str) -> MetricInfo:
    """Metadata of a metric; ``Category_L<n>_ACC`` and ``Title_Hit-Rate@<k>`` exist for any n / k."""
    if name in METRICS:
        return METRICS[name]
    if name.startswith("Category_L") and name.endswith("_ACC"):
        return MetricInfo("Semantic Hit-Rate", True, f"predicted {name[9:-4]} category equals the target's")
    if name.startswith("Title_Hit-Rate@"):
        return MetricInfo("Semantic Hit-Rate", True, f"target among the top-{name.split('@')[1]} grounded items")
    raise KeyError(f"unknown evaluation metric {name!r}; known: {sorted(METRICS)}")


@dataclass
class EvalResult:
    """Metrics of one model on one split, with everything needed to audit them."""

    label: str  # "base", "sft", "rl", or any name given by eval.label
    metrics: dict[str, MetricValue]
    counts: dict[str, int] = field(default_factory=dict)  # examples, completions, parse statuses, …
    skipped: dict[str, str] = field(default_factory=dict)  # metric → why it was not computed
    settings: dict[str, Any] = field(default_factory=dict)
    rows: list[dict[str, Any]] = field(default_factory=list)  # one per completion
    info: dict[str, MetricInfo] = field(default_factory=dict)  # metadata of metrics not in METRICS (rewards)

    def value(self, name: str) -> float:
        return self.metrics[name].value

    def info_of(self, name: str) -> MetricInfo:
        """Metadata of one of this result's metrics: its own (a reward's registry metadata), else METRICS."""
        return self.info[name] if name in self.info else metric_info(name)

    def summary(self, prefix: str | None = None) -> dict[str, float]:
        """Flat ``{"eval/<label>/<metric>": value}`` for a run summary (W&B or summary.json)."""
        prefix = prefix if prefix is not None else f"eval/{self.label}/"
        return {f"{prefix}{name}": mv.value for name, mv in self.metrics.items()}

    def directions(self) -> dict[str, bool]:
        return {name: self.info_of(name).higher_is_better for name in self.metrics}

    def to_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "metrics": {
                name: {**mv.to_dict(), "higher_is_better": self.info_of(name).higher_is_better,
                       "group": self.info_of(name).group,
                       **({"range": list(self.info[name].range)} if name in self.info and self.info[name].range else {})}
                for name, mv in self.metrics.items()
            },
            "counts": self.counts,
            "skipped": self.skipped,
            "settings": self.settings,
        }

    def to_markdown(self) -> str:
        """Table grouped like Taiji Tables 1 and 3: Metric Type | Metric | value | 95% CI | n."""
        conf = next(iter(self.metrics.values())).confidence if self.metrics else 0.95
        lines = [
            f"## Evaluation: {self.label}",
            "",
            f"| Metric Type | Metric | Value | {conf:.0%} CI | n |",
            "|---|---|---:|---:|---:|",
        ]
        order = list(dict.fromkeys([*(info.group for info in METRICS.values()), *(i.group for i in self.info.values())]))
        by_group = sorted(self.metrics.items(), key=lambda kv: order.index(self.info_of(kv[0]).group))
        previous = None
        for name, mv in by_group:
            group = self.info_of(name).group
            digits = 6 if 0 < abs(mv.value) < 0.01 else 4  # CTCVR ~ 0.0038 keeps its significant digits
            ci = "n/a" if math.isnan(mv.ci_low) else f"[{mv.ci_low:.{digits}f}, {mv.ci_high:.{digits}f}]"
            value = "n/a" if math.isnan(mv.value) else f"{mv.value:.{digits}f}"
            lines.append(f"| {group if group != previous else ''} | {name} | {value} | {ci} | {mv.n} |")
            previous = group
        if self.counts:
            lines += ["", "Counts: " + ", ".join(f"{k}={v}" for k, v in self.counts.items())]
        for name, why in self.skipped.items():
            lines.append(f"- skipped {name}: {why}")
        return "\n".join(lines) + "\n"


def write_result(result: EvalResult, out_dir: str | Path) -> Path:
    """Write ``eval_metrics.json``, ``eval_metrics.md`` and ``completions.jsonl`` into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "eval_metrics.json").write_text(json.dumps(plain(result.to_json()), indent=1))
    (out / "eval_metrics.md").write_text(result.to_markdown())
    with (out / "completions.jsonl").open("w") as f:
        for row in result.rows:
            f.write(json.dumps(plain(row)) + "\n")
    return out


def read_result(path: str | Path) -> EvalResult:
    """Load an ``eval_metrics.json`` (or the folder holding it) back into an :class:`EvalResult` (no rows)."""
    path = Path(path)
    if path.is_dir():
        path = path / "eval_metrics.json"
    data = json.loads(path.read_text())
    nan = float("nan")
    metrics = {
        name: MetricValue(
            *(nan if m[key] is None else m[key] for key in ("value", "ci_low", "ci_high")), int(m["n"]), m["confidence"]
        )
        for name, m in data["metrics"].items()
    }
    info = {}
    for name, m in data["metrics"].items():
        try:
            metric_info(name)
        except KeyError:  # a reward metric: its metadata was written with it
            span = m.get("range")  # an infinite bound was written as null (strict JSON)
            bounds = None
            if span:
                bounds = (-math.inf if span[0] is None else float(span[0]), math.inf if span[1] is None else float(span[1]))
            info[name] = MetricInfo(m.get("group", ""), bool(m.get("higher_is_better", True)), "", bounds)
    return EvalResult(data["label"], metrics, data.get("counts", {}), data.get("skipped", {}), data.get("settings", {}),
                      info=info)
