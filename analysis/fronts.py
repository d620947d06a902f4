"""Per-strategy Pareto fronts (pooled over seeds) and their hypervolume with a bootstrap CI over seeds.

Objectives default to the names the runs declare (``summary["objectives"]``, written by evaluation from
``eval.objectives``), else Taiji's pair ``Semantic_Cosine`` and ``CTCVR``. Directions come from the runs'
``higher_is_better`` metadata; an objective without one is an error (pass it explicitly). The reference
point defaults to the mean score of the SFT model rows (``model == "sft"``) — hypervolume then measures
improvement over the warm start — else the nadir of all points pushed out by 10% of each range.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.collect import Runs
from analysis.pareto import hypervolume, hypervolume_ci, pareto_mask
from analysis.tables import default_model, mean_ci

__all__ = ["DEFAULT_OBJECTIVES", "FrontAnalysis", "analyse_fronts"]

DEFAULT_OBJECTIVES = ("Semantic_Cosine", "CTCVR")


@dataclass
class FrontAnalysis:
    objectives: list[str]
    maximize: list[bool]
    reference: np.ndarray  # [K]
    reference_source: str
    model: str
    points: pd.DataFrame  # run, variant, seed, <objectives>, on_variant_front, on_global_front
    # variant, n_seeds, hv, hv_ci_low, hv_ci_high, hv_seed_mean, hv_seed_ci_low, hv_seed_ci_high, front_size
    hypervolume: pd.DataFrame

    def hypervolume_markdown(self) -> str:
        dirs = ", ".join(f"{o} ({'max' if m else 'min'})" for o, m in zip(self.objectives, self.maximize))
        ref = ", ".join(f"{o}={v:.6g}" for o, v in zip(self.objectives, self.reference))
        lines = [
            f"Objectives: {dirs}. Reference point ({self.reference_source}): {ref}.",
            "",
            "| Rank | Variant | Seeds | Hypervolume (pooled front) | 95% CI (bootstrap over seeds) | Mean per-seed HV "
            "| 95% CI (t over seeds) | Front size |",
            "|---:|---|---:|---:|---:|---:|---:|---:|",
        ]
        for rank, (_, r) in enumerate(self.ranked().iterrows(), start=1):
            seed_ci = "n/a" if not np.isfinite(r["hv_seed_ci_low"]) else f"[{r['hv_seed_ci_low']:.6g}, {r['hv_seed_ci_high']:.6g}]"
            lines.append(
                f"| {rank} | {r['variant']} | {r['n_seeds']} | {r['hv']:.6g} | [{r['hv_ci_low']:.6g}, {r['hv_ci_high']:.6g}] "
                f"| {r['hv_seed_mean']:.6g} | {seed_ci} | {r['front_size']} |"
            )
        return "\n".join(lines) + "\n"

    def ranked(self) -> pd.DataFrame:
        """The hypervolume table, best first (pooled hypervolume, then mean per-seed hypervolume)."""
        return self.hypervolume.sort_values(["hv", "hv_seed_mean"], ascending=False, kind="stable")


def _directions(runs: Runs, objectives: Sequence[str], override: Mapping[str, bool] | None) -> list[bool]:
    merged = {**runs.directions, **(override or {})}
    missing = [o for o in objectives if o not in merged]
    if missing:
        raise ValueError(
            f"no direction (higher_is_better) recorded for objective(s) {missing}; "
            "pass them explicitly, e.g. `--maximize NAME` or `--minimize NAME`"
        )
    return [bool(merged[o]) for o in objectives]


def _reference(runs: Runs, objectives: list[str], maximize: list[bool], given: Sequence[float] | None, points: np.ndarray):
    if given is not None:
        if len(given) != len(objectives):
            raise ValueError(f"reference point has {len(given)} values for {len(objectives)} objectives {objectives}")
        return np.asarray(given, dtype=np.float64), "given"
    sft = runs.table[runs.table["model"] == "sft"]
    if not sft.empty and all(o in sft and sft[o].notna().any() for o in objectives):
        return sft[objectives].mean().to_numpy(dtype=np.float64), f"SFT model, mean of {len(sft)} run(s)"
    low, high = np.nanmin(points, axis=0), np.nanmax(points, axis=0)
    # 10% of each objective's range; a zero range (one point) falls back to 10% of its magnitude, or 0.1
    margin = 0.1 * np.where(high > low, high - low, np.where(np.abs(high) > 0, np.abs(high), 1.0))
    nadir = np.where(maximize, low - margin, high + margin)
    return nadir, "nadir of all points - 10% of range (no SFT rows)"


def analyse_fronts(
    runs: Runs,
    objectives: Sequence[str] | None = None,
    model: str | None = None,
    reference: Sequence[float] | None = None,
    directions: Mapping[str, bool] | None = None,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> FrontAnalysis:
    """Fronts and hypervolumes of the ``model`` rows (default ``rl``), one front per variant pooled over seeds."""
    model = model or default_model(runs.table)
    rows = runs.table[runs.table["model"] == model].copy()
    if rows.empty:
        raise ValueError(f"no rows for model label {model!r}; labels present: {sorted(runs.table['model'].unique())}")
    objectives = list(objectives or runs.declared_objectives or DEFAULT_OBJECTIVES)
    absent = [o for o in objectives if o not in rows or rows[o].isna().all()]
    if absent:
        raise ValueError(f"objective(s) {absent} not found in the {model!r} rows; available: {runs.metrics()}")
    maximize = _directions(runs, objectives, directions)
    points = rows[objectives].to_numpy(dtype=np.float64)  # [N, K]
    ref, source = _reference(runs, objectives, maximize, reference, points)
    rows["on_global_front"] = pareto_mask(points, maximize)
    rows["on_variant_front"] = False
    hv_rows = []
    for variant, group in rows.groupby("variant", sort=True):
        pts = group[objectives].to_numpy(dtype=np.float64)
        rows.loc[group.index, "on_variant_front"] = pareto_mask(pts, maximize)
        per_seed = [g[objectives].to_numpy(dtype=np.float64) for _, g in group.groupby("seed", sort=True)]
        hv, low, high = hypervolume_ci(per_seed, ref, maximize, n_resamples, confidence, seed)
        seed_mean, seed_half, _ = mean_ci([hypervolume(p, ref, maximize) for p in per_seed], confidence)
        hv_rows.append(
            {
                "variant": variant,
                "n_seeds": len(per_seed),
                "hv": hv,
                "hv_ci_low": low,
                "hv_ci_high": high,
                "hv_seed_mean": seed_mean,
                "hv_seed_ci_low": seed_mean - seed_half,  # NaN with one seed
                "hv_seed_ci_high": seed_mean + seed_half,
                "front_size": int(pareto_mask(pts, maximize).sum()),
            }
        )
    keep = ["run", "variant", "seed", *objectives, "on_variant_front", "on_global_front"]
    return FrontAnalysis(objectives, maximize, ref, source, model, rows[keep].reset_index(drop=True), pd.DataFrame(hv_rows))
