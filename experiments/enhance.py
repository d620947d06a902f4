"""Taiji Stage 4 (§2.4, Table 2): measure each policy as an enhancer of a ranking model.

    python -m experiments.enhance experiment=quick data=instacart
    python -m experiments.enhance experiment=quick data=movielens100k
    python -m experiments.enhance experiment=quick 'enhance.policies=[base]' enhance.users=96

For base / SFT / RL (``enhance.policies``; sft and rl are the pipeline's stage products, reused when built, else
trained first) the output of every enhancer user (users no policy trained on, prompted with the history before their
cut-off) is generated with the eval settings, embedded, product-quantized and used to retrieve the most similar
training user; a ranker is trained without / with PQ features / cross-user sequences / both. Writes
``<run_dir>/enhance/{enhance_report.md, enhance_metrics.json}`` (Table 2 layout, CIs, long-tail segment) and the run
summary (``eval/<policy>/Enhancer_*``, ``enhance/...``, ``objective/Enhancer_CTCVR_AUC`` for the last policy).
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

from experiments import stages
from experiments.common import entry_point
from rlrec.config import Config
from rlrec.enhance.stage import summary_values
from rlrec.logging import build_logger


@entry_point
def main(config: Config, run_dir: Path) -> None:
    start = time.perf_counter()
    ctx = stages.context(config, run_dir)
    stages.run("data", ctx)
    ctx.logger = build_logger(config.logger, run_dir, dataclasses.asdict(config))
    try:
        models = stages.enhance_models(ctx)
        result = stages.enhance(ctx, models)
        ctx.logger.summary(summary_values(result, final=list(models)[-1]))
    finally:
        ctx.logger.close()
    report = run_dir / "enhance" / "enhance_report.md"
    print(report.read_text())
    print(f"report: {report}\nwall time: {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
