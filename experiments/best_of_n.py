"""Seed 003 §4.2: best-of-n inference scaling. For each evaluation user's last-K cluster sequence, sample
n = m x k clusters from the novelty model at high temperature, keep the alignment model's top k, and compare
with plain sampling of k (and a random-k-of-n control) on novelty rate, simulated engagement and UEUC.

    python -m experiments.train_alignment                 # first: trains the models this run looks up
    python -m experiments.best_of_n
    python -m experiments.best_of_n alignment.best_of_n.mode=pairwise alignment.best_of_n.oversample=10

Writes ``best_of_n_report.md``, ``best_of_n.json`` and one precomputed transition table per arm
(``transition_table_<arm>.json``) into the run dir.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

from experiments.common import entry_point
from rlrec.alignment.stages import run_best_of_n
from rlrec.config import Config
from rlrec.logging import build_logger

log = logging.getLogger("rlrec")


@entry_point
def main(config: Config, run_dir: Path) -> None:
    logger = build_logger(config.logger, run_dir, dataclasses.asdict(config))
    out = run_best_of_n(config, run_dir)
    logger.summary({f"best_of_n/{arm}/{k}": v for arm, m in out["arms"].items() for k, v in m.items()})
    logger.close()
    print((run_dir / "best_of_n_report.md").read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
