"""Sweep summary: per-strategy mean / t-interval, and the seeds' front hypervolume (moocore) over the true one."""

import json

import pytest

from rlrec.testbed.config import TaskConfig, TestbedConfig
from rlrec.testbed.front import front_hypervolume
from rlrec.testbed.report import mean_ci, summarize, write_summary
from rlrec.testbed.run import RESULT_FILE, score_point


def test_mean_ci_by_hand():
    mean, half = mean_ci([1.0, 2.0, 3.0])
    assert mean == 2.0 and half == pytest.approx(4.302653 * 1.0 / 3**0.5, rel=1e-5)  # t(0.975, 2) * sd / sqrt(n)


def test_summary_of_two_strategies(tmp_path):
    config = TestbedConfig(task=TaskConfig(completion_tokens=2))
    front = {"hypervolume": front_hypervolume(config.task), "continuous_hypervolume": 2 / 3,
             "best_single_point": [0.5, 0.75], "best_single_hv": 0.375}
    runs = {("a", 0): (0.5, 0.75), ("a", 1): (0.25, 0.8), ("b", 0): (0.9, 0.1)}
    for (label, seed), point in runs.items():
        folder = tmp_path / f"weighting={label},seed={seed}"
        folder.mkdir()
        record = {"label": label, "strategy": label, "seed": seed, "task": {}, "front": front,
                  "before": score_point((0.1, 0.9), config), "after": score_point(point, config), "s_per_step": 1.0}
        (folder / RESULT_FILE).write_text(json.dumps(record))
    summary = summarize(tmp_path)
    a, b = summary["strategies"]  # sorted by mean HV ratio
    assert a["label"] == "a" and a["hv_ratio"] == pytest.approx((0.375 / 0.375 + 0.2 / 0.375) / 2)
    # union of (0.5, 0.75) and (0.25, 0.8): 0.5 * 0.75 + 0.25 * 0.05 = 0.3875; true front 0.625
    assert a["front_hv_ratio"] == pytest.approx(0.3875 / 0.625)
    assert a["front_gap"] == pytest.approx((0.0 + (0.875 - 0.8)) / 2)
    assert b["hv_ratio"] == pytest.approx(0.09 / 0.375)
    # all three: 0.3875 + (0.9 - 0.5) * 0.1
    assert summary["all_strategies_front_hv_ratio"] == pytest.approx(0.4275 / 0.625)
    write_summary(summary, tmp_path)
    assert "| a | 2 |" in (tmp_path / "summary.md").read_text()
