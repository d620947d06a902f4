"""The main job: every stage of the method, in order, on one config.

    python -m experiments.pipeline experiment=quick                  # what `make run` runs
    python -m experiments.pipeline -m +sweep=weighting_strategies experiment=quick

prepare data → build simulator → [alignment reward model, when the reward set uses ``alignment_score``] →
distil (RUPR) → PPL filter → SFT → RL (weighting from config) → evaluate base / SFT / RL → report.md.
Each stage reuses its artifact when the same config already produced it (experiments/stages.py), so a
rerun resumes where the last one stopped.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from pathlib import Path

import hydra
from omegaconf import DictConfig

import rewards
from analysis.run_report import build_run_report
from experiments import stages
from experiments.common import setup
from rlrec.logging import build_logger

log = logging.getLogger("rlrec")


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def main(cfg: DictConfig) -> None:
    config, run_dir = setup(cfg)
    timings: list[dict] = []

    def timed(name, fn, *args, artifact=None):
        start = time.perf_counter()
        result = fn(*args)
        if artifact is None:
            artifact = result if isinstance(result, Path) else stages.data_dir(config) if name == "data" else run_dir / "eval"
        timings.append({"stage": name, "artifact": str(artifact), "seconds": time.perf_counter() - start})
        (run_dir / "stages.json").write_text(json.dumps(timings, indent=1))
        return result

    prepared = timed("data", stages.data, config)
    simulator_dir = timed("simulator", stages.simulator, config)
    if not config.alignment.simulator:  # the alignment stage and the alignment_score reward use this run's simulator
        config = dataclasses.replace(config, alignment=dataclasses.replace(config.alignment, simulator=str(simulator_dir)))
    if stages.needs_alignment_model(config):  # reward sets with alignment_score (e.g. reward=exploration)
        checkpoints = timed("alignment reward model", stages.alignment_models, config, run_dir,
                            artifact=run_dir / "alignment")
        config = stages.with_alignment_models(config, checkpoints)
    reward_set = rewards.build_reward_set(config.reward, rewards.Resources(config, simulator_dir=simulator_dir))
    logger = build_logger(config.logger, run_dir, dataclasses.asdict(config), reward_set.metadata)
    try:
        distill_dir = timed("distill + PPL filter", stages.distill, config, prepared)
        sft_checkpoint = timed("sft", stages.sft, config, distill_dir, logger)
        rl_policy = timed("rl", stages.rl, config, prepared, str(sft_checkpoint), logger, reward_set)
        models = {"base": config.model.policy, "sft": str(sft_checkpoint), "rl": str(rl_policy)}
        timed("evaluate", stages.evaluate, config, prepared, models, simulator_dir, run_dir, logger)
    finally:
        logger.close()
    stages.copy_into(run_dir, {
        "data_card.md": stages.data_dir(config) / "data_card.md",
        "simulator_card.md": simulator_dir / "simulator_card.md",
        "reliability.png": simulator_dir / "reliability.png",
        "distill_report.md": distill_dir / "distill_report.md",
        "ppl_hist.png": distill_dir / "ppl_hist.png",
    })
    report = build_run_report(run_dir, labels=list(models))
    print(report.read_text())
    print(f"\nreport: {report}")


if __name__ == "__main__":
    main()
