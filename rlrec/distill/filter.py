"""PPL rejection sampling (Taiji §2.2.1): the threshold R, the keep rule PPL < R, retention stats, histogram.

R is a percentile (the paper: the median) of PPL over a seeded validation subset of the candidates, or a
fixed value. Non-finite PPLs (NaN, inf) never pass and are counted.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


def validation_indices(n: int, size: int | None, seed: int) -> np.ndarray:
    """Indices of the validation subset: ``size`` of ``range(n)`` drawn without replacement (all when None
    or size >= n)."""
    if size is None or size >= n:
        return np.arange(n)
    if size < 1:
        raise ValueError(f"distill.ppl.validation_size must be >= 1 or null, got {size}")
    return np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))


def ppl_threshold(values: Sequence[float], percentile: float = 50.0, fixed: float | None = None) -> float:
    """R: ``fixed`` when given, else the ``percentile`` (linear interpolation) of the finite ``values``."""
    if fixed is not None:
        return float(fixed)
    finite = np.asarray([v for v in values if math.isfinite(v)], dtype=float)
    if finite.size == 0:
        raise ValueError("cannot set the PPL threshold: no candidate has a finite PPL (set distill.ppl.threshold)")
    return float(np.percentile(finite, percentile))


def keep_mask(values: Sequence[float], threshold: float) -> np.ndarray:
    """``PPL < R`` elementwise (strict, as in the paper); NaN and inf are rejected. [N] bool."""
    arr = np.asarray(values, dtype=float)
    return np.isfinite(arr) & (arr < threshold)


@dataclass
class Retention:
    """What the filter kept, overall and per prompt (Taiji: 0..k retained reasoning paths per prompt)."""

    threshold: float | None
    scored: int
    kept: int
    non_finite: int
    per_prompt: Counter = field(default_factory=Counter)  # kept count (0..k) -> number of prompts

    @property
    def rate(self) -> float:
        return self.kept / self.scored if self.scored else 0.0

    def to_dict(self) -> dict:
        return {
            "threshold": self.threshold,
            "scored": self.scored,
            "kept": self.kept,
            "retention": self.rate,
            "non_finite": self.non_finite,
            "prompts_by_kept_count": {str(k): v for k, v in sorted(self.per_prompt.items())},
        }


def retention(example_ids: Sequence[str], kept: Sequence[bool], all_examples: Sequence[str], values: Sequence[float],
              threshold: float | None) -> Retention:
    """Counts for ``kept`` candidates of ``example_ids`` (one entry per scored candidate); prompts in
    ``all_examples`` with no scored candidate count as 0 kept."""
    per_example = Counter({e: 0 for e in all_examples})
    for e, k in zip(example_ids, kept):
        per_example[e] += int(k)
    non_finite = sum(1 for v in values if not math.isfinite(v))
    return Retention(threshold, len(kept), int(sum(kept)), non_finite, Counter(per_example.values()))


def plot_histogram(values: Sequence[float], threshold: float | None, path: Path, title: str = "PPL of the true answer") -> Path:
    """PNG histogram of the finite PPLs with R marked; log-spaced bins when they span > 2 decades."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    finite = np.asarray([v for v in values if math.isfinite(v)], dtype=float)
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    if finite.size:
        lo, hi = float(finite.min()), float(finite.max())
        if lo > 0 and hi / lo > 100:
            bins = np.geomspace(lo, hi, 40)
            ax.set_xscale("log")
        else:
            bins = 40
        ax.hist(finite, bins=bins, color="#4c72b0", alpha=0.85)
    if threshold is not None:
        kept = int((finite < threshold).sum())
        ax.axvline(threshold, color="#c44e52", linestyle="--", linewidth=2, label=f"R = {threshold:.3g} (kept {kept}/{finite.size})")
        ax.legend()
    ax.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.set_xlabel("PPL (Eq. 1)")
    ax.set_ylabel("candidates")
    ax.set_title(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
