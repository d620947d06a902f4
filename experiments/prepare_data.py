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

import hydra
from omegaconf import DictConfig

from experiments.common import setup
from rlrec.assets import load_tokenizer
from rlrec.data import prepare_data

log = logging.getLogger("rlrec")


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def main(cfg: DictConfig) -> None:
    config, run_dir = setup(cfg)
    tokenizer = load_tokenizer(config.model.policy)
    prepare_data(config.data, run_dir, tokenizer)
    print((run_dir / "data_card.md").read_text(encoding="utf-8"))
    log.info("splits and data card written to %s", run_dir)


if __name__ == "__main__":
    main()
