"""A tiny entry point on rlrec's real config tree, for testing launchers and the Optuna sweeper in seconds.

It is ``experiments.common.entry_point`` (compose conf/config.yaml, validate into the typed Config, return the
job's value) with a closed-form stand-in for training: the strategy's step parameter x (POPO's
``weight_lr``, POPO-light's ``eps``) sets t = (log10 x − log10 lo) / (log10 hi − log10 lo) ∈ [0, 1] and the "RL
model" scores (0.5 + 0.2 t, 0.5 + 0.2 (1 − t)) on (Semantic_Cosine, CTCVR) against an SFT model at (0.5, 0.5):
hypervolume 0.04 t (1 − t), largest (0.01) at the middle of the log range. The run dir gets the files the
pipeline writes (summary.json, eval/<label>/eval_metrics.json), so the job's return value is the real
analysis.objective.run_hypervolume and analysis.report reads the sweep.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

from analysis.objective import run_hypervolume
from experiments.common import entry_point
from rlrec.config import Config

RANGES = {"popo": ("weight_lr", 0.01, 1.0), "popo_light": ("eps", 1.0e-4, 1.0)}  # the presets' search intervals


def scores(config: Config) -> tuple[float, float]:
    name, lo, hi = RANGES[config.weighting.name]
    x = float(getattr(config.weighting.params, name))
    t = min(1.0, max(0.0, (math.log10(x) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))))
    return 0.5 + 0.2 * t, 0.5 + 0.2 * (1.0 - t)


@entry_point
def main(config: Config, run_dir: Path) -> float:
    run_dir.mkdir(parents=True, exist_ok=True)
    cos, ctcvr = scores(config)
    summary = {"eval/sft/Semantic_Cosine": 0.5, "eval/sft/CTCVR": 0.5, "eval/rl/Semantic_Cosine": cos,
               "eval/rl/CTCVR": ctcvr, "objectives": ["Semantic_Cosine", "CTCVR"],
               "higher_is_better": {"Semantic_Cosine": True, "CTCVR": True}, "pid": os.getpid()}
    (run_dir / "summary.json").write_text(json.dumps(summary))
    (run_dir / "config.yaml").write_text(json.dumps({"seed": config.seed, "weighting": {"name": config.weighting.name}}))
    return run_hypervolume(run_dir)


if __name__ == "__main__":
    main()
