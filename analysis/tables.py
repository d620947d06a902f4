"""Ablation tables in the layout of Taiji Tables 3 and 4: mean ± CI over seeds, relative change vs a baseline.

Two variants (e.g. w/o vs w/ RUPR) print as Table 3 (a separate ``Improv.`` column); three or more
(e.g. GRPO / POPO-light / POPO) as Table 4 (the change inside each non-baseline cell).

Rows are metrics (grouped by metric type: Format Accuracy, Semantic Hit-Rate, Preference Hit-Rate,
Health), columns are variants (the swept settings). The CI over seeds is the Student-t interval of the
mean, ``t_{n-1} · s / √n`` (n seeds; none with a single seed). Non-baseline cells carry the relative
change of the mean vs the baseline column, ``(m − m_base) / |m_base|``, with an arrow for its sign —
the arrow shows the direction of the value; whether that is good depends on the metric (``higher_is_better``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from analysis.collect import Runs

__all__ = ["GROUP_ORDER", "AblationTable", "ablation_table", "mean_ci", "format_value"]

GROUP_ORDER = ["Format Accuracy", "Semantic Hit-Rate", "Preference Hit-Rate", "Health", ""]


def mean_ci(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float, int]:
    """(mean, t-interval half-width, n) of the finite values; half-width NaN when n < 2."""
    x = np.asarray([v for v in values if v is not None and np.isfinite(v)], dtype=np.float64)
    n = x.size
    if n == 0:
        return math.nan, math.nan, 0
    if n == 1:
        return float(x[0]), math.nan, 1
    half = stats.t.ppf(0.5 + confidence / 2, n - 1) * x.std(ddof=1) / math.sqrt(n)
    return float(x.mean()), float(half), n


def decimals(value: float) -> int:
    """4 decimals, or 6 for small magnitudes (CTCVR ~ 0.0038, as Taiji prints it)."""
    return 6 if value is not None and np.isfinite(value) and 0 < abs(value) < 0.01 else 4


def format_value(value: float, digits: int | None = None) -> str:
    if value is None or not np.isfinite(value):
        return "n/a"
    return f"{value:.{decimals(value) if digits is None else digits}f}"


@dataclass
class AblationTable:
    long: pd.DataFrame  # metric_type, metric, variant, mean, ci_half_width, n_seeds, rel_change_pct, is_baseline
    baseline: str
    model: str
    confidence: float
    # (metric, variant) → the paired difference to the baseline is significant (analysis.paired, Holm-corrected);
    # empty = no paired test was made. Marked cells carry a "*", tested ones without it are not significant.
    significance: dict[tuple[str, str], bool] = field(default_factory=dict)

    def to_markdown(self, title: str | None = None) -> str:
        """Two variants: Taiji Table 3 layout (baseline | variant | Improv.); more: Table 4 layout (the change
        vs the baseline inside each variant's cell)."""
        variants = list(dict.fromkeys(self.long["variant"]))
        pairwise = len(variants) == 2
        n_by_variant = self.long.groupby("variant", sort=False)["n_seeds"].max().to_dict()
        head = ["Metric Type", "Metric"] + [f"{v}{' (baseline)' if v == self.baseline else ''} n={n_by_variant[v]}" for v in variants]
        head += ["Improv."] if pairwise else []
        lines = [f"### {title}" if title else f"### Ablation ({self.model} model, mean ± {self.confidence:.0%} CI over seeds)", ""]
        lines += ["| " + " | ".join(head) + " |", "|---|---|" + "---:|" * (len(head) - 2)]
        previous = None
        for (group, metric), rows in self.long.groupby(["metric_type", "metric"], sort=False):
            cells, change = [], ""
            for variant in variants:
                row = rows[rows["variant"] == variant]
                if row.empty:
                    cells.append("")
                    continue
                r = row.iloc[0]
                digits = decimals(r["mean"])  # the CI is printed to the precision of its mean
                cell = format_value(r["mean"], digits)
                if np.isfinite(r["ci_half_width"]):
                    cell += f" ± {format_value(r['ci_half_width'], digits)}"
                if not r["is_baseline"] and np.isfinite(r["rel_change_pct"]):
                    change = f"{r['rel_change_pct']:+.2f}%"
                    if not pairwise:
                        cell += f" ({'↑' if r['rel_change_pct'] >= 0 else '↓'} {abs(r['rel_change_pct']):.2f}%)"
                if self.significance.get((metric, variant)):
                    cell += " *"
                    change += " *" if pairwise else ""
                cells.append(cell)
            cells += [change] if pairwise else []
            lines.append(f"| {group if group != previous else ''} | {metric} | " + " | ".join(cells) + " |")
            previous = group
        if self.significance:
            lines += ["", f"\\* paired difference to {self.baseline} significant at {self.confidence:.0%} (bootstrap over test "
                      "examples and seeds, Holm-corrected); an unmarked change of a tested metric is not significant."]
        return "\n".join(lines) + "\n"

    def to_csv(self, path: str | Path) -> Path:
        path = Path(path)
        self.long.to_csv(path, index=False)
        return path


def ablation_table(
    runs: Runs,
    metrics: Sequence[str] | None = None,
    model: str | None = None,
    baseline: str | None = None,
    confidence: float = 0.95,
) -> AblationTable:
    """Table for the rows of ``model`` (a model label: rl, sft, …; default: the only/last label present).

    ``metrics`` default: every metric column, ordered by metric type. ``baseline`` default: the first
    variant in sorted order.
    """
    table = runs.table
    model = model or default_model(table)
    rows = table[table["model"] == model]
    if rows.empty:
        raise ValueError(f"no rows for model label {model!r}; labels present: {sorted(table['model'].unique())}")
    variants = sorted(rows["variant"].unique())
    baseline = baseline if baseline is not None else variants[0]
    if baseline not in variants:
        raise ValueError(f"baseline variant {baseline!r} not among the variants: {variants}")
    variants = [baseline] + [v for v in variants if v != baseline]
    metrics = list(metrics) if metrics else [m for m in runs.metrics() if rows[m].notna().any()]
    order = {g: i for i, g in enumerate(GROUP_ORDER)}
    # Metric type first, then the order the evaluation wrote the metrics in (Table 1 order), then as given.
    written = {m: i for i, m in enumerate(runs.groups)}
    position = {m: i for i, m in enumerate(metrics)}
    metrics = sorted(
        metrics, key=lambda m: (order.get(runs.groups.get(m, ""), len(order)), written.get(m, len(written)), position[m])
    )
    records = []
    for metric in metrics:
        if metric not in rows:
            raise ValueError(f"metric {metric!r} is not in the runs; available: {runs.metrics()}")
        base_mean = mean_ci(rows.loc[rows["variant"] == baseline, metric].tolist(), confidence)[0]
        for variant in variants:
            mean, half, n = mean_ci(rows.loc[rows["variant"] == variant, metric].tolist(), confidence)
            rel = (mean - base_mean) / abs(base_mean) * 100 if np.isfinite(base_mean) and base_mean != 0 else math.nan
            records.append(
                {
                    "metric_type": runs.groups.get(metric, ""),
                    "metric": metric,
                    "variant": variant,
                    "mean": mean,
                    "ci_half_width": half,
                    "n_seeds": n,
                    "rel_change_pct": math.nan if variant == baseline else rel,
                    "is_baseline": variant == baseline,
                }
            )
    return AblationTable(pd.DataFrame(records), baseline, model, confidence)


def default_model(table: pd.DataFrame) -> str:
    """The model label analysed by default: ``rl`` if present, else ``final``, else the most frequent label."""
    labels = table["model"].value_counts()
    for preferred in ("rl", "final"):
        if preferred in labels:
            return preferred
    return str(labels.index[0])
