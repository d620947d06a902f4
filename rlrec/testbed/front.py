"""The testbed's closed-form Pareto front, its hypervolume and a policy point's distance to it.

With ``x ∈ {0, 1/T, …, 1}`` the share of ``a`` tokens in a completion and the rewards ``r1 = s1·x``,
``r2 = s2·(1 - x^p)`` (p ≥ 1), a policy's expected reward vector is ``(s1·m, s2·(1 - E[x^p]))`` with
``m = E[x]``. Since ``t ↦ t^p`` is convex, ``E[x^p]`` over distributions on the grid with mean m is at least
``φ(m)``, the linear interpolation of ``t^p`` between the grid points around m (the lower convex envelope of
``t^p`` on the grid), with equality for the policy that mixes those two shares. So the set of reachable
expected reward vectors is bounded by, and reaches, the front

    F(m) = s2 · (1 - φ(m)),   m ∈ [0, 1]   (vertices (s1·j/T, s2·(1 - (j/T)^p)), j = 0..T, straight between)

which is decreasing, so every point of it is Pareto-optimal. As T → ∞ it tends to ``1 - m^p``, whose
hypervolume over the reference (0, 0) is ``s1·s2·p/(p + 1)`` (2/3 for p = 2).
"""

from __future__ import annotations

import math

from rlrec.testbed.config import TaskConfig

__all__ = ["front_vertices", "front_value", "front_gap", "front_hypervolume", "continuous_hypervolume",
           "best_single_point"]


def front_vertices(task: TaskConfig) -> list[tuple[float, float]]:
    """The T + 1 vertices ``(s1·j/T, s2·(1 - (j/T)^p))`` of the front, in increasing ``a_share``."""
    s1, s2 = task.scales
    t, p = task.completion_tokens, task.exponent
    return [(s1 * j / t, s2 * (1.0 - (j / t) ** p)) for j in range(t + 1)]


def front_value(share: float, task: TaskConfig) -> float:
    """``F``: the largest expected ``a_thrift`` any policy reaches with expected ``a_share`` = ``share``."""
    vertices = front_vertices(task)
    s1 = task.scales[0]
    share = min(max(share, 0.0), s1)
    for (x0, y0), (x1, y1) in zip(vertices, vertices[1:]):
        if share <= x1:
            return y0 + (y1 - y0) * (share - x0) / (x1 - x0)
    return vertices[-1][1]


def front_gap(point: tuple[float, float], task: TaskConfig) -> float:
    """How far ``point`` = (E a_share, E a_thrift) lies below the front, in ``a_thrift`` units (>= 0 up to noise)."""
    return front_value(point[0], task) - point[1]


def front_hypervolume(task: TaskConfig) -> float:
    """Exact hypervolume of the front over the reference (0, 0): the area under the piecewise-linear ``F``."""
    vertices = front_vertices(task)
    return sum((x1 - x0) * (y0 + y1) / 2.0 for (x0, y0), (x1, y1) in zip(vertices, vertices[1:]))


def continuous_hypervolume(task: TaskConfig) -> float:
    """The T → ∞ limit ``s1·s2·p/(p + 1)`` (the discrete front's is below it by the chords' sag)."""
    s1, s2 = task.scales
    return s1 * s2 * task.exponent / (task.exponent + 1.0)


def best_single_point(task: TaskConfig) -> tuple[tuple[float, float], float]:
    """The front point with the largest hypervolume over (0, 0) — the most one policy can reach — and that value.

    On each straight piece the product ``r1·r2`` is a concave quadratic in ``r1``; its maximum is at the vertex of
    the parabola, clipped to the piece.
    """
    best, best_value = (0.0, 0.0), -math.inf
    vertices = front_vertices(task)
    for (x0, y0), (x1, y1) in zip(vertices, vertices[1:]):
        slope = (y1 - y0) / (x1 - x0)
        intercept = y0 - slope * x0  # y = intercept + slope·x on this piece; x·y is maximal at -intercept / (2 slope)
        x = min(max(-intercept / (2.0 * slope), x0), x1) if slope < 0 else x1
        y = intercept + slope * x
        if x * y > best_value:
            best, best_value = (x, y), x * y
    return best, best_value
