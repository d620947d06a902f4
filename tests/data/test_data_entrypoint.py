"""Smoke run of the Hydra entry point on a toy jsonl folder (writes splits and the card to the run dir)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from .test_data_prepare import toy_folder

ROOT = Path(__file__).resolve().parents[2]


def test_prepare_data_entry_point(tmp_path, smollm2_path):
    folder = toy_folder(tmp_path, n_users=10)
    run_dir = tmp_path / "run"
    result = subprocess.run(
        [sys.executable, "-m", "experiments.prepare_data", "data=jsonl", f"data.path={folder}", "data.min_history=2",
         f"hydra.run.dir={run_dir}"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "# Data card: jsonl:data" in result.stdout
    card = json.loads((run_dir / "data_card.json").read_text())
    assert card["prompt_tokens"]["counter"].startswith("tokenizer:")  # the policy tokenizer counted tokens
    assert sum(1 for _ in (run_dir / "splits" / "test.jsonl").open()) == card["splits"]["test"]["examples"] > 0


def test_a_data_error_prints_its_message_without_a_traceback(tmp_path):
    """#14 finding 16: the entry point shows the error naming file, line and fix, exit status 2, no traceback."""
    folder = toy_folder(tmp_path, n_users=3)
    with (folder / "items.jsonl").open("a") as handle:
        handle.write('{"item_id": "x", "title": \n')
    result = subprocess.run(
        [sys.executable, "-m", "experiments.prepare_data", "data=jsonl", f"data.path={folder}",
         f"hydra.run.dir={tmp_path / 'run'}", f"artifacts_dir={tmp_path / 'artifacts'}"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 2, result.stderr[-3000:]
    assert "Traceback" not in result.stderr and "Error executing job" not in result.stderr
    assert result.stderr.startswith("error: 1 problem(s) in the jsonl data")
    assert f"{folder / 'items.jsonl'}, line 13, field '<line>': not valid JSON: the line ends" in result.stderr
