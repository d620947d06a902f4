"""Percentile-bootstrap confidence intervals over test examples.

Every evaluation metric is a statistic of the N test examples. One set of seeded resampling indices
``[R, N]`` is drawn per evaluation and shared by all metrics (paired resamples: the CIs of two metrics
come from the same bootstrap replicates), and each metric's CI is the (α/2, 1-α/2) percentile of its
statistic over the R replicates (Efron's percentile bootstrap).

Per-example values may be NaN where a metric is undefined for that example (e.g. Category_L3_ACC for a
target without an L3 category); means then run over the defined examples only, and ``n`` counts them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["MetricValue", "bootstrap_indices", "percentile_interval", "mean_with_ci", "statistic_with_ci"]


@dataclass(frozen=True)
class MetricValue:
    """A metric's point estimate on the full test set and its bootstrap CI.

    ``n`` is the number of examples the metric is defined on; ``ci_low``/``ci_high`` are NaN when the
    metric could not be computed (n = 0).
    """

    value: float
    ci_low: float
    ci_high: float
    n: int
    confidence: float = 0.95

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)

    def format(self, digits: int = 4) -> str:
        """``0.1234 [0.1100, 0.1350]``."""
        if math.isnan(self.value):
            return "n/a"
        return f"{self.value:.{digits}f} [{self.ci_low:.{digits}f}, {self.ci_high:.{digits}f}]"


def bootstrap_indices(n: int, n_resamples: int, seed: int) -> np.ndarray:
    """Resampling indices ``[R, N]``: each row draws N examples with replacement (seeded, reproducible)."""
    if n <= 0:
        return np.zeros((n_resamples, 0), dtype=np.int64)
    return np.random.default_rng(seed).integers(0, n, size=(n_resamples, n))


def percentile_interval(replicates: np.ndarray, confidence: float = 0.95) -> tuple[float, float]:
    """Percentile interval of bootstrap replicates ``[R]`` (NaN replicates ignored)."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    finite = replicates[~np.isnan(replicates)]
    if finite.size == 0:
        return math.nan, math.nan
    alpha = 1.0 - confidence
    low, high = np.quantile(finite, [alpha / 2.0, 1.0 - alpha / 2.0])
    return float(low), float(high)


def mean_with_ci(values: np.ndarray, indices: np.ndarray, confidence: float = 0.95) -> MetricValue:
    """Mean of per-example ``values [N]`` (NaN = undefined, skipped) with a percentile-bootstrap CI.

    ``indices [R, N]`` come from :func:`bootstrap_indices`. Vectorised: replicate means are
    ``nansum(values[idx]) / count(defined)`` row by row, no Python loop over R.
    """
    values = np.asarray(values, dtype=np.float64)
    defined = ~np.isnan(values)
    n = int(defined.sum())
    if n == 0:
        return MetricValue(math.nan, math.nan, math.nan, 0, confidence)
    filled = np.where(defined, values, 0.0)
    sums = filled[indices].sum(axis=1)  # [R]
    counts = defined[indices].sum(axis=1)  # [R]
    with np.errstate(invalid="ignore", divide="ignore"):
        replicates = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    low, high = percentile_interval(replicates, confidence)
    return MetricValue(float(filled.sum() / n), low, high, n, confidence)


def statistic_with_ci(
    statistic: Callable[[np.ndarray], float],
    n: int,
    indices: np.ndarray,
    confidence: float = 0.95,
    bias_correct: bool = False,
) -> MetricValue:
    """Any statistic of the test set given as a function of example indices, with a bootstrap CI.

    ``statistic(idx)`` receives example indices ``[N]`` (``arange(N)`` for the point estimate, one row of
    ``indices`` per replicate; repeats mean an example is drawn several times) and returns a float.
    Used for corpus-level metrics such as catalogue coverage or the Gini coefficient of exposure.

    ``bias_correct``: set statistics (distinct items, Gini of counts) are biased under resampling with
    replacement — a replicate holds only ~63% distinct examples, so its coverage is lower and its counts
    more concentrated than the sample's. The percentile interval is then shifted by the bootstrap bias
    estimate ``θ̂ − mean(θ*)``, so it is centred on the sample statistic with the replicates' spread.
    """
    if n == 0:
        return MetricValue(math.nan, math.nan, math.nan, 0, confidence)
    point = float(statistic(np.arange(n)))
    replicates = np.array([statistic(row) for row in indices], dtype=np.float64)
    low, high = percentile_interval(replicates, confidence)
    if bias_correct and np.isfinite(point) and np.isfinite(replicates).any():
        shift = point - float(np.nanmean(replicates))
        low, high = low + shift, high + shift
    return MetricValue(point, low, high, n, confidence)
