"""ORFT warm start (Taiji §2.2.2, Eq. 2) and the Table 3 format metrics, base vs SFT model.

    python -m experiments.sft experiment=quick                        # distils first (resumable), then trains
    python -m experiments.sft sft.train_file=runs/.../sft_data.jsonl  # train on an earlier distill run
    python -m experiments.sft experiment=quick sft=lora               # PEFT LoRA, merged into the checkpoint

Writes ``checkpoint/`` (the model the RL stage starts from), ``sft_log.json``, ``sft_loss.png`` and
``format_metrics.{json,md}`` (held-out test split) into the run dir.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

from experiments import stages
from experiments.common import entry_point
from rlrec.config import Config
from rlrec.logging import build_logger
from rlrec.sft import compare_format, evaluate_format

log = logging.getLogger("rlrec")


@entry_point
def main(config: Config, run_dir: Path) -> None:
    student = config.sft.model or config.model.policy
    ctx = stages.context(config, run_dir, build_logger(config.logger, run_dir, dataclasses.asdict(config)))
    logger = ctx.logger
    data = stages.run("data", ctx)
    # the pipeline's SFT stage and cache: distils first (its own cached stage) unless sft.train_file is set
    checkpoint = stages.run("sft", ctx)
    stages.export(ctx, "sft", run_dir)
    if "distill" in ctx.folders:  # the SFT data it trained on, as the distill entry point writes it
        (run_dir / "distill").mkdir(exist_ok=True)
        stages.export(ctx, "distill", run_dir / "distill")
    test = data.splits["test"][: config.sft.eval_examples]
    prompts = [e.prompt for e in test]
    evals = {"base": evaluate_format(student, prompts, config.sft, config.model),
             "sft": evaluate_format(str(checkpoint), prompts, config.sft, config.model)}
    table = compare_format(evals, run_dir)
    logger.summary({f"format/{model}/{metric}": value for model, metrics in table.items() for metric, value in metrics.items()})
    logger.close()
    print((run_dir / "format_metrics.md").read_text(encoding="utf-8"))
    log.info("SFT checkpoint: %s", checkpoint)


if __name__ == "__main__":
    main()
