"""The testbed through the real GRPO trainer (tiny settings), its Hydra root config and the sweep preset."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_testbed_config_composes_with_every_weighting_preset():
    from hydra import compose, initialize_config_dir

    import experiments.testbed  # noqa: F401  (stores testbed_schema)
    from experiments.common import to_config

    presets = sorted(p.stem for p in (ROOT / "conf" / "weighting").glob("*.yaml"))
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        for preset in presets:
            config = to_config(compose(config_name="testbed", overrides=[f"weighting={preset}"]))
            assert config.rl.num_generations == 8 and config.task.completion_tokens == 8
        sweep = compose(config_name="testbed", overrides=["+sweep=testbed"], return_hydra_config=True)
        swept = sweep.hydra.sweeper.params.weighting.split(",")
        assert sorted(swept) == presets  # the sweep covers every strategy preset


def test_one_run_through_the_trainer(tmp_path):
    from rlrec.config import RLConfig, WeightingConfig
    from rlrec.testbed import TaskConfig, TestbedConfig
    from rlrec.testbed.run import RESULT_FILE, run_testbed

    config = TestbedConfig(
        task=TaskConfig(completion_tokens=4, layers=2, eval_samples=32, prompts=8),
        rl=RLConfig(num_generations=4, batch_size=8, max_steps=2, learning_rate=1e-2, temperature=1.0, top_p=1.0,
                    lr_scheduler="constant", save_steps=1000),
        weighting=WeightingConfig(name="mo_grpo"),
    )
    result = run_testbed(config, tmp_path)
    assert result == json.loads((tmp_path / RESULT_FILE).read_text())
    assert result["steps"] == 2 and result["label"] == "mo_grpo"
    for key in ("before", "after"):
        share, thrift = result[key]["point"]
        assert 0 <= share <= 1 and 0 <= thrift <= 1
        assert result[key]["front_gap"] > -0.15  # below the front up to sampling noise (32 samples)
    assert len(result["history"]) == 2 and "rewards/a_share/mean" in result["history"][0]


@pytest.mark.slow
def test_multirun_sweep_writes_the_summary(tmp_path):
    sweep_dir = tmp_path / "sweep"
    command = [sys.executable, "-m", "experiments.testbed", "-m", "+sweep=testbed", "weighting=fixed,gdpo", "seed=0",
               "rl.max_steps=1", "task.eval_samples=16", "task.layers=2", f"hydra.sweep.dir={sweep_dir}"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "WANDB_MODE": "disabled"}
    subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True, timeout=600)
    summary = json.loads((sweep_dir / "summary.json").read_text())
    assert summary["runs"] == 2 and {r["label"] for r in summary["strategies"]} == {"fixed", "gdpo"}
    assert (sweep_dir / "summary.md").exists()
