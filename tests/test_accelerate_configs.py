"""conf/accelerate: every launcher file loads with accelerate's own parser and is consistent with the trainer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from accelerate.commands.config.config_args import load_config_from_file
from accelerate.utils import DistributedType

ROOT = Path(__file__).resolve().parent.parent
FILES = sorted((ROOT / "conf" / "accelerate").glob("*.yaml"))


def test_the_four_launch_modes_exist():
    names = {p.stem for p in FILES}
    assert {"single_gpu", "multi_gpu", "zero2", "zero3"} <= names


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_accelerate_parses_the_file(path):
    config = load_config_from_file(str(path))
    assert config.distributed_type in (DistributedType.NO, DistributedType.MULTI_GPU, DistributedType.DEEPSPEED)


@pytest.mark.parametrize("path", [p for p in FILES if p.stem.startswith("zero")], ids=lambda p: p.stem)
def test_deepspeed_files_leave_batching_to_the_trainer(path):
    ds = yaml.safe_load(path.read_text())["deepspeed_config"]
    # accelerate copies these into the DeepSpeed config; a fixed value would contradict rl.grad_accum
    assert "gradient_accumulation_steps" not in ds and "gradient_clipping" not in ds
    stage = int(path.stem[4])
    if "deepspeed_config_file" in ds:
        blob = json.loads((ROOT / ds["deepspeed_config_file"]).read_text())
        assert blob["zero_optimization"]["stage"] == stage
        assert blob["gradient_accumulation_steps"] == "auto" and blob["train_micro_batch_size_per_gpu"] == "auto"
        # accelerate refuses mixed_precision next to a DeepSpeed JSON file
        assert "mixed_precision" not in yaml.safe_load(path.read_text())
    else:
        assert ds["zero_stage"] == stage
