"""The main job: every stage of the method, in order, on one config.

    python -m experiments.pipeline experiment=quick      # what `make run` runs

Each stage reuses its artifact when the same config already produced it (see experiments/stages.py).
"""

from __future__ import annotations

import logging

import hydra
from omegaconf import DictConfig
from rich.console import Console
from rich.table import Table

from experiments import stages
from experiments.common import setup

log = logging.getLogger("rlrec")


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def main(cfg: DictConfig) -> None:
    config, run_dir = setup(cfg)

    prepared = stages.data(config)
    answers = stages.demo(config, prepared.splits["test"], run_dir)

    console = Console()
    table = Table(title=f"base policy on {len(answers)} {config.data.name} test users")
    for column in ("example", "parse status", "predicted title", "true next item"):
        table.add_column(column, overflow="fold")
    for a in answers:
        table.add_row(a.example_id, a.status, a.title or "—", a.target)
    console.print(table)
    console.print(f"run dir: {run_dir}")


if __name__ == "__main__":
    main()
