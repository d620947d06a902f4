"""Build the offline simulator for a dataset: ESMM CTCVR model, hold-out evaluation vs baselines,
grounding index, interest clusters and collective feedback (rlrec.simulator).

    python -m experiments.build_simulator data=instacart
    python -m experiments.build_simulator data=movielens100k
    python -m experiments.build_simulator data=instacart simulator.epochs=5 simulator.rebuild=true

The artifact goes to ``<artifacts_dir>/simulator/<config hash>/`` (reused when it exists, unless
``simulator.rebuild=true``); its card and reliability plot are copied into the run directory.
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
    path = stages.run("simulator", ctx)  # the pipeline's simulator stage and cache (data stage first)
    stages.export(ctx, "simulator", run_dir, ("simulator_card.md", "reliability.png"))
    (run_dir / "simulator_path.txt").write_text(f"{path.resolve()}\n")
    print((path / "simulator_card.md").read_text(encoding="utf-8"))
    log.info("simulator artifact: %s", path.resolve())


if __name__ == "__main__":
    main()
