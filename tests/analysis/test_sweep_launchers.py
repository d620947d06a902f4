"""conf/hydra presets: the joblib launcher and the Optuna sweeper run for real; SLURM and Ray compose when installed.

The real run uses tests/analysis/sweep_app.py (rlrec's entry_point on the real config tree, a closed-form stand-in
for training whose hypervolume is 0.04·t·(1 − t) in the log position t of the tuned step), so the whole path —
Optuna samples, joblib runs the trials in worker processes, each job returns analysis.objective.run_hypervolume,
Optuna keeps the best, analysis.report ranks the trials — takes seconds instead of training runs.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from hydra import compose, initialize_config_dir
from hydra.errors import HydraException
from omegaconf import OmegaConf

from analysis.objective import run_hypervolume
from analysis.report import build_report
from experiments.common import CONFIG_PATH

ROOT = Path(__file__).resolve().parents[2]
APP = Path(__file__).with_name("sweep_app.py")


def _hydra(overrides: list[str]):
    with initialize_config_dir(config_dir=CONFIG_PATH, version_base="1.3"):
        return compose("config", overrides=overrides, return_hydra_config=True)


def test_parallel_launcher_preset_is_joblib_with_two_processes():
    launcher = _hydra(["hydra/launcher=parallel"]).hydra.launcher
    assert launcher._target_.endswith("JoblibLauncher") and launcher.n_jobs == 2 and launcher.prefer == "processes"


@pytest.mark.parametrize(("preset", "key", "low", "high"), [("tune_popo", "weighting.params.weight_lr", 0.01, 1.0),
                                                             ("tune_popo_light", "weighting.params.eps", 1e-4, 1.0)])
def test_tuning_presets_search_the_strategy_step_on_a_log_scale(preset, key, low, high):
    from hydra_plugins.hydra_optuna_sweeper._impl import create_params_from_overrides
    from optuna.distributions import LogUniformDistribution

    sweeper = _hydra([f"hydra/sweeper={preset}", "seed=3"]).hydra.sweeper
    assert sweeper._target_.endswith("OptunaSweeper") and sweeper.direction == "maximize" and sweeper.sampler.seed == 3
    space, fixed = create_params_from_overrides([f"{k}={v}" for k, v in sweeper.params.items()])
    assert space == {key: LogUniformDistribution(low, high)}
    assert fixed == {"weighting": preset.removeprefix("tune_")}
    # every trial's overrides compose into the typed config with the sampled value
    from experiments.common import to_config

    with initialize_config_dir(config_dir=CONFIG_PATH, version_base="1.3"):
        config = to_config(compose("config", overrides=[f"weighting={fixed['weighting']}", f"{key}={low * 2}"]))
    assert getattr(config.weighting.params, key.rsplit(".", 1)[1]) == pytest.approx(low * 2)


@pytest.mark.parametrize(("preset", "plugin"), [("slurm", "hydra_plugins.hydra_submitit_launcher"),
                                                ("ray_cluster", "hydra_plugins.hydra_ray_launcher")])
def test_cluster_presets_compose_when_their_extra_is_installed(preset, plugin):
    if importlib.util.find_spec(plugin) is None:  # optional extras [slurm] / [ray]: a clear Hydra error without them
        with pytest.raises(HydraException, match="submitit_slurm|ray"):
            _hydra([f"hydra/launcher={preset}"])
        return
    launcher = OmegaConf.to_container(_hydra([f"hydra/launcher={preset}"]).hydra.launcher)
    assert launcher["_target_"].endswith("SlurmLauncher" if preset == "slurm" else "RayLauncher")


@pytest.mark.slow  # three Python processes importing rlrec: ~20 s idle, over a minute on a busy 2-core machine
def test_optuna_tunes_popo_step_over_joblib_workers_against_hypervolume(tmp_path):
    sweep = tmp_path / "sweep"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "WANDB_MODE": "disabled", "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen(
        [sys.executable, str(APP), "-m", "hydra/sweeper=tune_popo", "hydra/launcher=parallel",
         "hydra.sweeper.n_trials=2", "hydra.sweeper.n_jobs=2",  # one batch: 2 trials in 2 workers (~20 s idle)
         f"hydra.sweep.dir={sweep}", "hydra/hydra_logging=disabled"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, out[-3000:] + err[-3000:]
    trials = sorted(p for p in sweep.iterdir() if p.is_dir())
    assert len(trials) == 2
    values, labels = {}, {}
    for trial in trials:
        overrides = yaml.safe_load((trial / ".hydra" / "overrides.yaml").read_text())
        assert "weighting=popo" in overrides
        raw = next(o for o in overrides if o.startswith("weighting.params.weight_lr=")).split("=", 1)[1]
        x = float(raw)
        labels[x] = f"weighting.params.weight_lr={raw}"
        t = (math.log10(x) + 2) / 2  # log position in [0.01, 1]
        assert run_hypervolume(trial) == pytest.approx(0.04 * t * (1 - t))  # what the job returned to Optuna
        values[x] = run_hypervolume(trial)
    pids = {json.loads((t / "summary.json").read_text())["pid"] for t in trials}
    assert len(pids) == 2 and proc.pid not in pids  # two joblib worker processes ran the trials, not the sweeper

    result = yaml.safe_load((sweep / "optimization_results.yaml").read_text())
    best = max(values, key=values.get)
    assert result["best_value"] == pytest.approx(values[best]) and values[best] > 0
    assert result["best_params"]["weighting.params.weight_lr"] == pytest.approx(best)

    report = build_report(str(sweep), out=tmp_path / "report", n_resamples=20)
    ranked = pd.read_csv(tmp_path / "report" / "hypervolume.csv").sort_values("hv", ascending=False)
    assert ranked["variant"].iloc[0] == labels[best]  # the report ranks the trials as Optuna did
    assert "| 1 |" in report.read_text()


@pytest.mark.slow  # starts a local Ray instance: ~1-2 min on 2 cores
def test_ray_launcher_runs_the_jobs_in_ray_workers(tmp_path):
    pytest.importorskip("hydra_plugins.hydra_ray_launcher", reason="optional extra: pip install -e '.[ray]'")
    sweep = tmp_path / "sweep"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "WANDB_MODE": "disabled", "HF_HUB_OFFLINE": "1"}
    env.pop("RAY_ADDRESS", None)  # a local instance, whatever the machine's cluster is
    proc = subprocess.run(
        [sys.executable, str(APP), "-m", "weighting=popo", "weighting.params.weight_lr=0.05,0.2",
         "hydra/launcher=ray_cluster", "hydra.launcher.ray.remote.num_cpus=1", f"hydra.sweep.dir={sweep}"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    trials = sorted(p for p in sweep.iterdir() if p.is_dir())
    assert len(trials) == 2 and all(run_hypervolume(t) > 0 for t in trials)
