"""Pareto fronts and hypervolume for any number of objectives, each maximised or minimised — from moocore.

Dimensions: ``N`` points (runs), ``K`` objectives. Directions come from the runs' metadata
(``higher_is_better``) and are handed to moocore as its ``maximise`` flags; moocore itself works in
minimisation (``y = -x`` where higher is better), so "a dominates b" means ``a <= b`` everywhere and
``a < b`` somewhere after that sign flip. The reference point is given in the objectives' own units and
directions (for a maximised objective it lies *below* the points).

Hypervolume is the Lebesgue measure of the region dominated by the points and bounded by the reference
point (here by default the SFT model's scores: the volume of improvement over the warm start). Points that
are not strictly better than the reference in every objective contribute nothing. moocore
(https://multi-objective.github.io/moocore/python/, C core) computes it exactly: O(n log n) in 2-D and 3-D,
HV4D+ in 4-D, inclusion–exclusion / recursive above.
"""

from __future__ import annotations

from collections.abc import Sequence

import moocore
import numpy as np

__all__ = ["to_minimization", "pareto_mask", "hypervolume", "hypervolume_ci"]


def _directions(points: np.ndarray, maximize: Sequence[bool]) -> np.ndarray:
    flags = np.asarray(maximize, dtype=bool)  # [K]
    if points.shape[1] != flags.size:
        raise ValueError(f"points have {points.shape[1]} objectives but {flags.size} directions were given")
    return flags


def to_minimization(points: np.ndarray, maximize: Sequence[bool]) -> np.ndarray:
    """``points [N, K]`` with maximised objectives negated, so that lower is better everywhere (moocore's convention)."""
    points = np.atleast_2d(np.asarray(points, dtype=np.float64))
    return points * np.where(_directions(points, maximize), -1.0, 1.0)


def pareto_mask(points: np.ndarray, maximize: Sequence[bool]) -> np.ndarray:
    """``[N]`` bool: True for non-dominated points. Duplicated points are all kept; NaN rows are never on the front."""
    points = np.atleast_2d(np.asarray(points, dtype=np.float64))
    flags = _directions(points, maximize)
    valid = ~np.isnan(points).any(axis=1)
    mask = np.zeros(points.shape[0], dtype=bool)
    if valid.any():
        # keep_weakly: two runs with identical scores are both on the front (moocore would keep only the first)
        mask[valid] = moocore.is_nondominated(points[valid], maximise=flags, keep_weakly=True)
    return mask


def hypervolume(points: np.ndarray, reference: Sequence[float], maximize: Sequence[bool]) -> float:
    """Exact hypervolume of ``points [N, K]`` w.r.t. ``reference [K]`` (same units and directions as the points)."""
    points = np.atleast_2d(np.asarray(points, dtype=np.float64))
    flags = _directions(points, maximize)
    ref = np.asarray(reference, dtype=np.float64)
    if ref.shape != (flags.size,):
        raise ValueError(f"the hypervolume reference point has {ref.size} values for {flags.size} objectives")
    if np.isnan(ref).any():
        raise ValueError(f"the hypervolume reference point has NaN entries: {list(reference)}")
    points = points[~np.isnan(points).any(axis=1)]
    # only points strictly better than the reference dominate any volume (moocore would count none of the others
    # either; dropping them first also spares it an empty or degenerate input)
    better = np.where(flags, points > ref, points < ref).all(axis=1)
    points = points[better]
    if points.shape[0] == 0:
        return 0.0
    return float(moocore.hypervolume(points, ref=ref, maximise=flags))


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
