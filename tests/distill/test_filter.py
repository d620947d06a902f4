import math

import numpy as np
import pytest

from rlrec.distill.filter import keep_mask, plot_histogram, ppl_threshold, retention, validation_indices


def test_median_threshold_and_strict_keep():
    values = [1.0, 2.0, 3.0, 4.0]
    r = ppl_threshold(values)
    assert r == 2.5
    assert keep_mask(values, r).tolist() == [True, True, False, False]
    assert keep_mask([2.5], 2.5).tolist() == [False]  # PPL < R, strictly


def test_percentile_fixed_and_non_finite():
    values = [1.0, 2.0, 3.0, 4.0, 5.0, math.nan, math.inf]
    assert ppl_threshold(values, percentile=25) == 2.0  # non-finite values do not move R
    assert ppl_threshold(values, percentile=0) == 1.0 and not keep_mask(values, 1.0).any()
    assert ppl_threshold(values, fixed=4.6) == 4.6
    assert keep_mask(values, 4.6).tolist() == [True, True, True, True, False, False, False]
    assert keep_mask(values, math.inf).tolist()[-2:] == [False, False]


def test_no_finite_value_asks_for_a_fixed_threshold():
    with pytest.raises(ValueError, match="distill.ppl.threshold"):
        ppl_threshold([math.nan])


def test_validation_subset_is_seeded_and_bounded():
    a, b = validation_indices(100, 10, seed=3), validation_indices(100, 10, seed=3)
    assert (a == b).all() and len(set(a.tolist())) == 10 and a.max() < 100
    assert (validation_indices(5, None, 0) == np.arange(5)).all()
    assert (validation_indices(5, 50, 0) == np.arange(5)).all()


def test_threshold_from_the_validation_subset_only():
    values = [1.0] * 5 + [100.0] * 5
    idx = np.arange(5)  # a validation subset of low PPLs sets a low R
    assert ppl_threshold([values[i] for i in idx]) == 1.0


def test_retention_counts_per_prompt():
    ids = ["a", "a", "a", "b", "b", "b"]
    kept = [True, True, False, False, False, False]
    r = retention(ids, kept, ["a", "b", "c"], [1.0, 2.0, 9.0, 8.0, math.nan, 7.0], threshold=3.0)
    assert (r.scored, r.kept, r.non_finite) == (6, 2, 1)
    assert r.per_prompt == {2: 1, 0: 2}  # a kept 2; b and c (no candidates) kept 0
    d = r.to_dict()
    assert d["retention"] == pytest.approx(1 / 3) and d["prompts_by_kept_count"] == {"0": 2, "2": 1}


def test_histogram_png_is_written(tmp_path):
    path = plot_histogram([1.0, 2.0, 3.0, 50.0, 900.0, math.nan], 2.5, tmp_path / "h.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
