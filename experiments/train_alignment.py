"""Seed 003: train the alignment reward model (pointwise and pairwise) on the simulator's collective feedback,
evaluate it offline (F1@K / NDCG@K vs a random ranking), select checkpoints by F1@K, and train the novelty
model (light SFT on novel cluster transitions).

    python -m experiments.train_alignment                          # both modes + novelty model
    python -m experiments.train_alignment alignment.reward_model.modes=[pointwise]
    python -m experiments.train_alignment alignment.reward_model.lora.enabled=true alignment.reward_model.backbone=<lm>

Writes ``alignment_report.md``, ``alignment_metrics.json`` and ``reward_model_curves.png`` into the run dir;
the checkpoints (``<artifacts_dir>/alignment_rm/<hash>/<mode>/best``, a plain num_labels=1
sequence-classification folder the ``alignment_score`` reward loads, and
``<artifacts_dir>/alignment_novelty/<hash>/checkpoint``) are reused by ``experiments.best_of_n``.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

from experiments import stages
from experiments.common import entry_point
from rlrec.alignment.stages import train_alignment
from rlrec.config import Config
from rlrec.logging import RunLoggerCallback, build_logger

log = logging.getLogger("rlrec")


@entry_point
def main(config: Config, run_dir: Path) -> None:
    logger = build_logger(config.logger, run_dir, dataclasses.asdict(config))
    simulator = stages.run("simulator", stages.context(config, run_dir))  # the pipeline's simulator stage and cache
    metrics = train_alignment(config, run_dir, logger, [RunLoggerCallback(logger, prefix="alignment/train/")],
                              simulator_dir=simulator)
    logger.summary({f"alignment/{mode}/selected_{k}": v for mode, r in metrics["reward_model"].items()
                    for k, v in r["selected"].items() if isinstance(v, (int, float))})
    logger.close()
    print((run_dir / "alignment_report.md").read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
