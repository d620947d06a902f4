"""PNG plots: Pareto fronts per strategy, reward-weight trajectories, reward curves.

Histories come from each run's ``metrics.jsonl`` (or W&B history): ``weights/<reward>`` (weighting
strategies), ``reward/<name>/mean`` (our reward logging) or TRL's ``rewards/<name>/mean``. Curves are
averaged over the seeds of a variant at each step; the band is the min–max over seeds.
"""

from __future__ import annotations

import re
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.collect import RunRecord
from analysis.fronts import FrontAnalysis

__all__ = ["plot_fronts", "plot_weights", "plot_rewards"]

REWARD_KEY = re.compile(r"^rewards?/(?P<name>.+)/mean$")


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(plt, fig, path: str | Path) -> Path:
    """Lay out, write ``path`` (PNG, 120 dpi) and close ``fig`` (figures left open pile up in long analyses)."""
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_fronts(fronts: FrontAnalysis, path: str | Path) -> Path:
    """One panel per objective pair: every run as a point, each variant's pooled front as a dashed line."""
    plt = _pyplot()
    pairs = list(combinations(range(len(fronts.objectives)), 2))[:6]
    fig, axes = plt.subplots(1, len(pairs), figsize=(6 * len(pairs), 4.8), squeeze=False)
    colors = plt.get_cmap("tab10")
    markers = "osD^vP*X"  # shapes and shrinking sizes keep variants with identical scores visible on top of each other
    for ax, (i, j) in zip(axes[0], pairs):
        xo, yo = fronts.objectives[i], fronts.objectives[j]
        for c, (variant, group) in enumerate(fronts.points.groupby("variant", sort=True)):
            color = colors(c % 10)
            ax.scatter(group[xo], group[yo], color=color, alpha=0.8, marker=markers[c % len(markers)],
                       s=max(110 - 30 * c, 20), facecolors="none" if c % 2 else color,
                       label=f"{variant} (n={len(group)})")
            front = group[group["on_variant_front"]].sort_values(xo)
            if len(fronts.objectives) == 2 and len(front) > 1:
                ax.plot(front[xo], front[yo], "--", color=color, alpha=0.7)
        ax.scatter([fronts.reference[i]], [fronts.reference[j]], marker="x", color="black", s=80, label="reference")
        ax.set_xlabel(f"{xo} ({'↑' if fronts.maximize[i] else '↓'} better)")
        ax.set_ylabel(f"{yo} ({'↑' if fronts.maximize[j] else '↓'} better)")
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7, loc="best")
    fig.suptitle(f"Pareto fronts per strategy ({fronts.model} model)")
    return _save(plt, fig, path)


def _histories(records: list[RunRecord], keys: list[str]) -> pd.DataFrame:
    """Long table: variant, run, step, key, value for the given history keys."""
    frames = []
    for r in records:
        h = r.history
        if h is None or "step" not in h:
            continue
        present = [k for k in keys if k in h]
        if not present:
            continue
        long = h[["step", *present]].melt(id_vars="step", var_name="key", value_name="value").dropna()
        frames.append(long.assign(variant=r.variant, run=r.run_id))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _band(ax, data: pd.DataFrame, label: str, color) -> None:
    per_run = data.groupby(["run", "step"])["value"].last().reset_index()  # one value per run and step
    g = per_run.groupby("step")["value"]
    steps = np.asarray(g.mean().index)
    ax.plot(steps, g.mean().to_numpy(), color=color, label=label)
    if per_run["run"].nunique() > 1:
        ax.fill_between(steps, g.min().to_numpy(), g.max().to_numpy(), color=color, alpha=0.15)


def plot_weights(records: list[RunRecord], path: str | Path) -> Path | None:
    """Weight trajectories ``weights/<reward>``: one panel per variant, one line per reward. None if none logged."""
    keys = sorted({k for r in records if r.history is not None for k in r.history.columns if k.startswith("weights/")})
    data = _histories(records, keys)
    if data.empty:
        return None
    plt = _pyplot()
    variants = sorted(data["variant"].unique())
    fig, axes = plt.subplots(1, len(variants), figsize=(5 * len(variants), 3.8), squeeze=False, sharey=True)
    colors = plt.get_cmap("tab10")
    for ax, variant in zip(axes[0], variants):
        sub = data[data["variant"] == variant]
        for c, key in enumerate(keys):
            if (sub["key"] == key).any():
                _band(ax, sub[sub["key"] == key], key.split("/", 1)[1], colors(c % 10))
        ax.set_title(variant, fontsize=9)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("reward weight")
    axes[0][0].legend(fontsize=8)
    return _save(plt, fig, path)


def plot_rewards(records: list[RunRecord], path: str | Path) -> Path | None:
    """Reward curves: one panel per reward, one line per variant (mean over seeds, min–max band)."""
    keys = sorted({k for r in records if r.history is not None for k in r.history.columns if REWARD_KEY.match(k)})
    data = _histories(records, keys)
    if data.empty:
        return None
    data["reward"] = data["key"].map(lambda k: REWARD_KEY.match(k).group("name"))
    rewards = sorted(data["reward"].unique())
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(rewards), figsize=(5 * len(rewards), 3.8), squeeze=False)
    colors = plt.get_cmap("tab10")
    for ax, reward in zip(axes[0], rewards):
        sub = data[data["reward"] == reward]
        for c, variant in enumerate(sorted(sub["variant"].unique())):
            _band(ax, sub[sub["variant"] == variant], variant, colors(c % 10))
        ax.set_title(f"reward/{reward}/mean", fontsize=9)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    if axes[0][0].get_legend_handles_labels()[0]:  # a single unnamed run has nothing to tell apart
        axes[0][0].legend(fontsize=7)
    return _save(plt, fig, path)
