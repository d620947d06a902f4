"""The main job: every stage of the method, in order, on one config.

    python -m experiments.pipeline experiment=quick                  # what `make run` runs
    python -m experiments.pipeline -m +sweep=weighting_strategies experiment=quick

data → simulator → [the stages the rewards require, e.g. alignment reward models] → distil (RUPR) + PPL
filter → SFT → RL (weighting from config) → evaluate base / SFT / RL → report.md. The stages are declared in
experiments/stages.py and run by rlrec.stages: each reuses its artifact when the same config already produced
it, so a rerun resumes where the last one stopped; ``stages.json`` in the run dir times every stage.
Returns the hypervolume the RL model adds over the SFT model (analysis.objective), the value an Optuna sweep
(``hydra/sweeper=tune_popo``) maximises.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

from analysis.objective import run_hypervolume
from analysis.run_report import build_run_report
from experiments import stages
from experiments.common import entry_point
from rlrec.config import Config
from rlrec.logging import build_logger

log = logging.getLogger("rlrec")


@entry_point
def main(config: Config, run_dir: Path) -> float:
    ctx = stages.context(config, run_dir)
    reward_set = stages.reward_set(ctx)  # data, simulator and whatever the rewards require (alignment models, …)
    ctx.logger = build_logger(config.logger, run_dir, dataclasses.asdict(config), reward_set.metadata)
    try:
        stages.run("distill", ctx)  # RUPR + PPL filter: the SFT data
        sft_checkpoint = stages.run("sft", ctx)
        rl_policy = stages.run("rl", ctx)
        models = {"base": config.model.policy, "sft": str(sft_checkpoint), "rl": str(rl_policy)}
        stages.evaluate(ctx, models)
    finally:
        ctx.logger.close()
    # the cards and plots the report links to, copied into the run dir
    stages.export(ctx, "data", run_dir, ("data_card.md",))
    stages.export(ctx, "simulator", run_dir, ("simulator_card.md", "reliability.png"))
    stages.export(ctx, "distill", run_dir, ("distill_report.md", "ppl_hist.png"))
    report = build_run_report(run_dir, labels=list(models))
    print(report.read_text())
    print(f"\nreport: {report}")
    try:
        hv = run_hypervolume(run_dir)  # the job's return value: what a tuning sweeper maximises
    except ValueError as err:  # e.g. an objective the evaluation could not compute: the run itself is fine
        log.warning("%s; the job returns NaN (an Optuna trial then counts as failed)", err)
        return float("nan")
    print(f"hypervolume of rl over sft on {config.eval.objectives}: {hv:.6g}")
    return hv


if __name__ == "__main__":
    main()
