"""Smoke run of `python -m experiments.evaluate` on a tiny model and a small MovieLens sample (no simulator)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow  # a subprocess that loads data, the tokenizer and MiniLM: ~20 s idle, > 1 min on a loaded machine
def test_evaluate_entry_point_writes_results_and_summary(tiny_lm_path, tmp_path):
    run_dir = tmp_path / "run"
    cmd = [
        sys.executable, "-m", "experiments.evaluate",
        "data=movielens100k", "data.max_users=20", "data.prompt_token_budget=256",
        f"eval.checkpoint={tiny_lm_path}", "eval.label=tiny", "eval.max_examples=3", "eval.max_new_tokens=4",
        "eval.bootstrap_samples=20", f"artifacts_dir={tmp_path / 'artifacts'}", f"hydra.run.dir={run_dir}",
    ]
    env = {**os.environ, "WANDB_MODE": "disabled", "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    metrics = json.loads((run_dir / "eval" / "tiny" / "eval_metrics.json").read_text())
    assert metrics["counts"]["examples"] == 3 and "CTCVR" in metrics["skipped"]
    summary = json.loads((run_dir / "summary.json").read_text())
    assert "eval/tiny/Category_L1_ACC" in summary and summary["objectives"] == ["Semantic_Cosine", "CTCVR"]
    assert (run_dir / "config.yaml").exists() and "## Evaluation: tiny" in done.stdout


@pytest.mark.slow  # as above
def test_a_reward_term_named_in_eval_objectives_is_reported_as_an_objective(tiny_lm_path, tmp_path):
    """No edit to evaluation code: the reward term ``format`` becomes ``objective/format`` with its direction."""
    run_dir = tmp_path / "run"
    cmd = [
        sys.executable, "-m", "experiments.evaluate",
        "data=movielens100k", "data.max_users=20", "data.prompt_token_budget=256", "reward=taiji_format",
        "eval.objectives=[Semantic_Cosine,CTCVR,format]",
        f"eval.checkpoint={tiny_lm_path}", "eval.label=tiny", "eval.max_examples=3", "eval.max_new_tokens=4",
        "eval.bootstrap_samples=20", f"artifacts_dir={tmp_path / 'artifacts'}", f"hydra.run.dir={run_dir}",
    ]
    env = {**os.environ, "WANDB_MODE": "disabled", "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["objectives"] == ["Semantic_Cosine", "CTCVR", "format"]
    assert summary["objective/format"] == summary["eval/tiny/format"] and 0.0 <= summary["objective/format"] <= 1.0
    assert summary["higher_is_better"]["format"] is True and summary["metric_groups"]["format"] == "Reward"
    metrics = json.loads((run_dir / "eval" / "tiny" / "eval_metrics.json").read_text())
    assert metrics["metrics"]["format"]["range"] == [0.0, 1.0] and "ctcvr" not in metrics["metrics"]  # not named
