"""The testbed's closed-form front: hand-computed vertices, hypervolume, best point; no policy gets above it."""

import math

import pytest

from rlrec.testbed.config import TaskConfig
from rlrec.testbed.front import (
    best_single_point,
    continuous_hypervolume,
    front_gap,
    front_hypervolume,
    front_value,
    front_vertices,
)


def test_two_token_front_by_hand():
    task = TaskConfig(completion_tokens=2, exponent=2.0)
    assert front_vertices(task) == [(0.0, 1.0), (0.5, 0.75), (1.0, 0.0)]
    # trapezoids: 0.5 * (1 + 0.75) / 2 + 0.5 * (0.75 + 0) / 2
    assert front_hypervolume(task) == pytest.approx(0.625)
    assert front_value(0.25, task) == pytest.approx(0.875)
    # piece 1: y = 1 - x/2, x*y grows up to x = 0.5; piece 2: y = 1.5 - 1.5x, x*y peaks at x = 0.5 -> 0.375
    (x, y), value = best_single_point(task)
    assert (x, y, value) == pytest.approx((0.5, 0.75, 0.375))
    assert continuous_hypervolume(task) == pytest.approx(2 / 3)


def test_scales_scale_the_front():
    task = TaskConfig(completion_tokens=2, scales=[2.0, 0.5])
    assert front_hypervolume(task) == pytest.approx(0.625 * 2.0 * 0.5)
    assert front_gap((1.0, 0.375), task) == pytest.approx(0.0)


@pytest.mark.parametrize("q", [0.0, 0.1, 0.37, 0.5, 0.8, 1.0])
def test_iid_policies_lie_below_the_front_and_grid_mixtures_on_it(q):
    task = TaskConfig(completion_tokens=8, exponent=2.0)
    t = task.completion_tokens
    pmf = [math.comb(t, j) * q**j * (1 - q) ** (t - j) for j in range(t + 1)]  # Binomial(T, q) a-count
    point = (sum(p * j / t for j, p in enumerate(pmf)), sum(p * (1 - (j / t) ** 2) for j, p in enumerate(pmf)))
    assert front_gap(point, task) >= -1e-12
    # mixing the two grid shares around q reaches the front exactly
    lo = math.floor(q * t) / t
    hi = min(lo + 1 / t, 1.0)
    share = 0.5 * lo + 0.5 * hi
    mixed = (share, 0.5 * (1 - lo**2) + 0.5 * (1 - hi**2))
    assert front_gap(mixed, task) == pytest.approx(0.0, abs=1e-12)
    assert front_hypervolume(task) < continuous_hypervolume(task)
