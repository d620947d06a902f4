"""Evaluate a checkpoint on the test split: Taiji Table 1/3 metrics, semantic cosine, health, bootstrap CIs.

    python -m experiments.evaluate                                   # the configured policy (model.policy)
    python -m experiments.evaluate eval.checkpoint=runs/.../rl eval.label=rl
    python -m experiments.evaluate eval=sampled eval.max_examples=200 experiment=quick

Writes ``<run_dir>/eval/<label>/{eval_metrics.json, eval_metrics.md, completions.jsonl}`` and the run
summary (``eval/<label>/<metric>``, ``objective/<name>``). Title_Hit-Rate@K, CTCVR and the health metrics
need a simulator artifact (``eval.simulator``, else the newest built for the catalogue: ``python -m
experiments.build_simulator``); without one they are skipped and counted. The evaluation is the pipeline's
cached eval stage: the same checkpoint, config and simulator are evaluated once.
A reward term of ``reward=…`` named in ``eval.objectives`` is scored on the test completions through the
registry and reported as ``objective/<term>`` with its registered direction:

    python -m experiments.evaluate reward=taiji 'eval.objectives=[Semantic_Cosine,CTCVR,semantic_cosine]'
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from experiments import stages
from experiments.common import entry_point
from rlrec.config import Config
from rlrec.logging import build_logger
from rlrec.stages import run_stage


@entry_point
def main(config: Config, run_dir: Path) -> None:
    ctx = stages.context(config, run_dir)
    prepared = stages.run("data", ctx)
    if config.eval.split not in prepared.splits:
        raise ValueError(f"eval.split={config.eval.split!r} is not a split; choose one of {sorted(prepared.splits)}")
    ctx.logger = build_logger(config.logger, run_dir, dataclasses.asdict(config))
    label = config.eval.label
    stage = stages.eval_stage(label, config.eval.checkpoint or config.model.policy, final=True, split=config.eval.split)
    try:
        result = run_stage(stage, ctx, stages.STAGES, label=f"evaluate {label}")
        stages.export(ctx, f"evaluate {label}", run_dir, ("eval",))
    finally:
        ctx.logger.close()
    print(result.to_markdown())
    print(f"run dir: {run_dir}")


if __name__ == "__main__":
    main()
