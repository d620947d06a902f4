"""Pareto fronts and hypervolume (moocore underneath) against hand-computed values (2-D, 3-D) and inclusion–exclusion."""

from __future__ import annotations

from itertools import combinations

import moocore
import numpy as np
import pytest

from analysis.pareto import hypervolume, hypervolume_ci, pareto_mask


def test_front_2d_maximise_both():
    pts = np.array([[1, 5], [2, 4], [2, 2], [3, 1], [0, 0], [2, 4]])
    # (2,2) is dominated by (2,4); (0,0) by everything; the duplicate (2,4) stays on the front
    assert pareto_mask(pts, [True, True]).tolist() == [True, True, False, True, False, True]


def test_front_respects_directions():
    pts = np.array([[1.0, 1.0], [2.0, 0.5], [0.5, 2.0]])
    assert pareto_mask(pts, [False, False]).tolist() == [True, True, True]
    assert pareto_mask(pts, [True, False]).tolist() == [False, True, False]  # max x, min y: (2, 0.5) wins


def test_nan_points_are_never_on_the_front():
    assert pareto_mask(np.array([[np.nan, 9.0], [1.0, 1.0]]), [True, True]).tolist() == [False, True]


def test_hypervolume_2d_staircase_by_hand():
    # minimise both, reference (4, 4): strips y∈[3,4]: 3, y∈[2,3]: 2, y∈[1,2]: 1 → 6
    pts = np.array([[1, 3], [2, 2], [3, 1]])
    assert hypervolume(pts, [4, 4], [False, False]) == pytest.approx(6.0)
    # the same front maximised against reference (0, 0): negate → same geometry
    assert hypervolume(-pts, [-4, -4], [True, True]) == pytest.approx(6.0)


def test_hypervolume_ignores_dominated_and_out_of_reference_points():
    pts = np.array([[1, 3], [2, 2], [3, 1], [3, 3], [5, 0]])  # (3,3) dominated; (5,0) worse than ref in x
    assert hypervolume(pts, [4, 4], [False, False]) == pytest.approx(6.0)
    assert hypervolume(np.array([[4.0, 1.0]]), [4, 4], [False, False]) == 0.0  # on the boundary: no volume


def test_hypervolume_1d_by_hand():
    # one objective: the volume is the length from the best point to the reference
    # minimise, reference 5: best 1.5 → 3.5 (2.0, 4.0 dominated; 6.0 worse than the reference; NaN skipped)
    pts = np.array([[2.0], [1.5], [4.0], [6.0], [np.nan]])
    assert hypervolume(pts, [5.0], [False]) == pytest.approx(3.5)
    # maximise, reference 0.2: best 0.9 → 0.7
    assert hypervolume(np.array([[0.5], [0.9], [0.1]]), [0.2], [True]) == pytest.approx(0.7)
    assert hypervolume(np.array([[0.1]]), [0.2], [True]) == 0.0  # no point better than the reference


def test_hypervolume_3d_by_hand():
    ref = [2, 2, 2]
    assert hypervolume(np.array([[1, 1, 1]]), ref, [False] * 3) == pytest.approx(1.0)
    # boxes [0,2]x[1,2]x[1,2] (2) and [1,2]x[0,2]x[1,2] (2) overlap in [1,2]x[1,2]x[1,2] (1) → 3,
    # plus [1,2]x[1,2]x[0,2] (2) overlapping the union in [1,2]x[1,2]x[1,2] (1) → 4
    pts = np.array([[0, 1, 1], [1, 0, 1], [1, 1, 0]])
    assert hypervolume(pts, ref, [False] * 3) == pytest.approx(4.0)
    # maximisation version of the same set
    assert hypervolume(-pts, [-2, -2, -2], [True] * 3) == pytest.approx(4.0)


def _inclusion_exclusion(y: np.ndarray, ref: np.ndarray) -> float:
    total = 0.0
    for size in range(1, len(y) + 1):
        for subset in combinations(range(len(y)), size):
            corner = y[list(subset)].max(axis=0)
            total += (-1) ** (size + 1) * np.prod(np.clip(ref - corner, 0, None))
    return total


@pytest.mark.parametrize("k", [2, 3, 4, 5])
def test_hypervolume_matches_inclusion_exclusion_on_random_sets(k):
    rng = np.random.default_rng(k)
    for _ in range(20):
        y = rng.random((6, k))
        ref = np.full(k, 1.1)
        assert hypervolume(y, ref, [False] * k) == pytest.approx(_inclusion_exclusion(y, ref), rel=1e-9)


def test_hypervolume_ci_is_degenerate_for_identical_seeds_and_brackets_the_value():
    same = [np.array([[0.6, 0.011]])] * 3
    hv, low, high = hypervolume_ci(same, [0.5, 0.010], [True, True], n_resamples=50)
    assert hv == pytest.approx(1e-4) and low == pytest.approx(1e-4) and high == pytest.approx(1e-4)
    spread = [np.array([[0.7, 0.012]]), np.array([[0.6, 0.013]]), np.array([[0.55, 0.0105]])]
    hv, low, high = hypervolume_ci(spread, [0.5, 0.010], [True, True], n_resamples=200)
    assert low <= hv <= high and low < high


def test_mixed_directions_reference_in_the_objectives_own_units():
    # maximise x, minimise y, reference (0, 4): (1, 3) → 1·1, (2, 1) → 2·3; union = 1·1 + 2·3 − 1·1 = 6
    pts = np.array([[1.0, 3.0], [2.0, 1.0], [0.5, 3.5]])
    assert hypervolume(pts, [0.0, 4.0], [True, False]) == pytest.approx(6.0)
    assert pareto_mask(pts, [True, False]).tolist() == [False, True, False]


def test_hypervolume_and_front_come_from_moocore(monkeypatch):
    calls = []
    real_hv, real_nd = moocore.hypervolume, moocore.is_nondominated
    monkeypatch.setattr(moocore, "hypervolume", lambda *a, **k: calls.append(("hv", k)) or real_hv(*a, **k))
    monkeypatch.setattr(moocore, "is_nondominated", lambda *a, **k: calls.append(("nd", k)) or real_nd(*a, **k))
    assert hypervolume(np.array([[0.6, 0.011]]), [0.5, 0.010], [True, True]) == pytest.approx(1e-4)
    pareto_mask(np.array([[1.0, 2.0]]), [True, True])
    assert [c[0] for c in calls] == ["hv", "nd"]
    assert calls[0][1]["maximise"].tolist() == [True, True] and calls[1][1]["keep_weakly"] is True


def test_reference_of_the_wrong_length_is_a_clear_error():
    with pytest.raises(ValueError, match="reference point has 1 values for 2 objectives"):
        hypervolume(np.array([[1.0, 2.0]]), [0.0], [True, True])
