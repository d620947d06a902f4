"""Smoke runs of the Hydra entry points on the tiny model and a few real Instacart users."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_entry(module: str, tmp_path: Path, tiny: Path, *overrides: str) -> Path:
    run_dir = tmp_path / "run"
    args = [
        f"model.policy={tiny}", f"distill.teacher.model={tiny}", "data.max_users=20", "data.history_len=5",
        "data.prompt_token_budget=200", "distill.max_examples=3", "distill.num_candidates=2",
        "distill.teacher.max_new_tokens=12", "distill.min_cot_chars=5", f"artifacts_dir={tmp_path / 'artifacts'}",
        f"hydra.run.dir={run_dir}", *overrides,
    ]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "WANDB_MODE": "disabled", "TOKENIZERS_PARALLELISM": "false"}
    out = subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return run_dir


@pytest.mark.slow  # subprocesses that import torch/transformers and load data: ~20-60 s each on a loaded machine
@pytest.mark.parametrize("rupr", ["true", "false"])
def test_distill_entry_point(tmp_path, tiny_lm_path, rupr):
    run_dir = run_entry("experiments.distill", tmp_path, tiny_lm_path, f"distill.rupr={rupr}")
    stats = json.loads((run_dir / "distill_stats.json").read_text())
    assert stats["examples"] == 3 and stats["generation"]["generated"] == 6
    assert stats["mode"] == ("rupr" if rupr == "true" else "direct")
    assert (run_dir / "sft_data.jsonl").exists() and (run_dir / "distill_report.md").exists()
