"""Learning curves of the alignment reward model (seed 003 Figure 3): training loss, and F1@K / NDCG@K on the
held-out cluster sequences against the random-ranking baseline, one column per training mode."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from rlrec.alignment.training import RewardModelResult


def plot_learning_curves(
    results: Sequence[RewardModelResult], path: str | Path, baselines: Mapping[str, Mapping[str, float]] | None = None
) -> Path:
    """Save a PNG with, per mode, the training loss (top) and F1@K / NDCG@K vs step (bottom); the selected
    (best-F1) checkpoint is marked. ``baselines``: name → {"f1", "ndcg"} drawn as dotted lines (e.g. the
    context-blind cluster prior)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, len(results), figsize=(5.5 * len(results), 7), squeeze=False)
    for col, res in enumerate(results):
        k = int(res.history[0]["k"]) if res.history else 0
        ax = axes[0][col]
        ax.plot([e["step"] for e in res.train_log], [e["loss"] for e in res.train_log], color="tab:gray")
        ax.set_title(f"{res.mode}: training loss")
        ax.set_xlabel("step")
        ax = axes[1][col]
        steps = [r["step"] for r in res.history]
        for metric, color in (("f1", "tab:blue"), ("ndcg", "tab:orange")):
            label = f"{'F1' if metric == 'f1' else 'NDCG'}@{k}"
            ax.plot(steps, [r[metric] for r in res.history], marker="o", color=color, label=label)
            ax.plot(steps, [r[f"random_{metric}"] for r in res.history], ls="--", color=color, alpha=0.6,
                    label=f"{label} random")
            for name, values in (baselines or {}).items():
                ax.axhline(values[metric], ls=":", color=color, alpha=0.8, label=f"{label} {name}")
        if res.best:
            ax.axvline(res.best["step"], color="tab:green", ls=":", label=f"selected (step {int(res.best['step'])})")
        ax.set_title(f"{res.mode}: held-out ranking ({res.history[0]['groups']:.0f} sequences)" if res.history else res.mode)
        ax.set_xlabel("step")
        ax.legend(fontsize=8)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
