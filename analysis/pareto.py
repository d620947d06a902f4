"""Pareto fronts and hypervolume for any number of objectives, each maximised or minimised.

Dimensions: ``N`` points (runs), ``K`` objectives. Directions come from the runs' metadata
(``higher_is_better``); internally everything is converted to minimisation (``y = -x`` where higher is
better), so "a dominates b" means ``a <= b`` everywhere and ``a < b`` somewhere.

Hypervolume is the Lebesgue measure of the region dominated by the points and bounded by a reference
point (here by default the SFT model's scores: the volume of improvement over the warm start). Points
that are not strictly better than the reference in every objective contribute nothing. The exact value
is computed by slicing along the last objective (HSO); fine for the tens of runs a sweep produces.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["to_minimization", "pareto_mask", "hypervolume", "hypervolume_ci"]


def to_minimization(points: np.ndarray, maximize: Sequence[bool]) -> np.ndarray:
    """``points [N, K]`` with maximised objectives negated, so that lower is better everywhere."""
    points = np.atleast_2d(np.asarray(points, dtype=np.float64))
    sign = np.where(np.asarray(maximize, dtype=bool), -1.0, 1.0)  # [K]
    if points.shape[1] != sign.size:
        raise ValueError(f"points have {points.shape[1]} objectives but {sign.size} directions were given")
    return points * sign


def pareto_mask(points: np.ndarray, maximize: Sequence[bool]) -> np.ndarray:
    """``[N]`` bool: True for non-dominated points. Duplicated points are all kept; NaN rows are never on the front."""
    y = to_minimization(points, maximize)  # [N, K]
    valid = ~np.isnan(y).any(axis=1)
    mask = valid.copy()
    for i in np.flatnonzero(valid):
        others = y[valid]
        dominated = np.any(np.all(others <= y[i], axis=1) & np.any(others < y[i], axis=1))
        mask[i] = not dominated
    return mask


def _hv_min(y: np.ndarray, ref: np.ndarray) -> float:
    """Hypervolume of minimisation points ``y [N, K]``, all strictly below ``ref [K]``."""
    if y.shape[0] == 0:
        return 0.0
    if y.shape[1] == 1:
        return float(ref[0] - y[:, 0].min())
    if y.shape[1] == 2:
        order = np.argsort(y[:, 0], kind="stable")
        area, best = 0.0, ref[1]
        for x0, x1 in y[order]:
            if x1 < best:  # improves the second objective: adds a new step of the staircase
                area += (ref[0] - x0) * (best - x1)
                best = x1
        return float(area)
    # Slice along the last objective: between consecutive values z_i < z_{i+1} the cross-section is the
    # (K-1)-dimensional hypervolume of every point with last coordinate <= z_i.
    order = np.argsort(y[:, -1], kind="stable")
    y = y[order]
    bounds = np.append(y[1:, -1], ref[-1])
    volume = 0.0
    for i in range(y.shape[0]):
        depth = bounds[i] - y[i, -1]
        if depth > 0:
            front = y[: i + 1, :-1]
            volume += depth * _hv_min(front[pareto_mask(front, [False] * front.shape[1])], ref[:-1])
    return float(volume)


def hypervolume(points: np.ndarray, reference: Sequence[float], maximize: Sequence[bool]) -> float:
    """Exact hypervolume of ``points [N, K]`` w.r.t. ``reference [K]`` (same units and directions as the points)."""
    y = to_minimization(points, maximize)
    ref = to_minimization(np.asarray(reference, dtype=np.float64)[None, :], maximize)[0]
    if np.isnan(ref).any():
        raise ValueError(f"the hypervolume reference point has NaN entries: {list(reference)}")
    y = y[~np.isnan(y).any(axis=1)]
    y = y[np.all(y < ref, axis=1)]  # only points strictly better than the reference dominate any volume
    if y.shape[0] == 0:
        return 0.0
    y = y[pareto_mask(y, [False] * y.shape[1])]
    return _hv_min(y, ref)


def hypervolume_ci(
    groups: Sequence[np.ndarray],
    reference: Sequence[float],
    maximize: Sequence[bool],
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float, float]:
    """Hypervolume of the pooled front of several seeds, with a percentile-bootstrap CI over seeds.

    ``groups`` holds one ``[n_s, K]`` array of points per seed (usually one point per seed). Each
    replicate draws len(groups) seeds with replacement and recomputes the pooled hypervolume. With few
    seeds (e.g. 3) the interval is coarse: it shows the spread, not a precise coverage guarantee.
    Returns ``(hv, ci_low, ci_high)``.
    """
    groups = [np.atleast_2d(np.asarray(g, dtype=np.float64)) for g in groups]
    if not groups:
        return float("nan"), float("nan"), float("nan")
    point = hypervolume(np.vstack(groups), reference, maximize)
    rng = np.random.default_rng(seed)
    replicates = np.array(
        [
            hypervolume(np.vstack([groups[j] for j in rng.integers(0, len(groups), len(groups))]), reference, maximize)
            for _ in range(n_resamples)
        ]
    )
    alpha = 1.0 - confidence
    low, high = np.quantile(replicates, [alpha / 2, 1 - alpha / 2])
    return point, float(low), float(high)
