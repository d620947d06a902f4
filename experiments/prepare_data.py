"""Prepare a dataset: user-disjoint SFT / RL / test splits of Taiji prompts, plus the data card.

    python -m experiments.prepare_data data=instacart
    python -m experiments.prepare_data data=movielens100k
    python -m experiments.prepare_data data=jsonl data.path=/path/to/folder
    python -m experiments.prepare_data experiment=quick

Writes ``splits/{sft,rl,test}.jsonl``, ``data_card.{md,json}`` and ``history_length_hist.png`` into the
run directory. Prompt tokens are counted with the policy model's tokenizer (``model.policy``).
"""

from __future__ import annotations

import logging
from pathlib import Path

from experiments import stages
from experiments.common import entry_point
from rlrec.config import Config

log = logging.getLogger("rlrec")


@entry_point
def main(config: Config, run_dir: Path) -> None:
    ctx = stages.context(config, run_dir)
    stages.run("data", ctx)  # the pipeline's data stage and cache
    stages.export(ctx, "data", run_dir)
    print((run_dir / "data_card.md").read_text(encoding="utf-8"))
    log.info("splits and data card written to %s", run_dir)


if __name__ == "__main__":
    main()
