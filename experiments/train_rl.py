"""RL stage (Taiji §2.3): GRPO on the RL split with real rewards and a reward-weighting strategy.

    python -m experiments.train_rl                               # fixed weights (Taiji's GRPO baseline)
    python -m experiments.train_rl weighting=popo_light          # Eq. 7
    python -m experiments.train_rl weighting=popo                # Eq. 5-6
    python -m experiments.train_rl weighting=popo weighting.params.grad_params='[lora_]' rl.lora.enabled=true
    python -m experiments.train_rl rl=paper reward=taiji rl.init_from=runs/.../checkpoint
    accelerate launch -m experiments.train_rl weighting=popo      # several GPUs (DDP / DeepSpeed ZeRO-1/2)

Runs the pipeline's RL stage (experiments/stages.py) and shares its cache: the data and simulator stages (and
whatever the rewards require) are reused or run first, and a pipeline run with the same config and start
policy reuses this one's artifact (and the other way round). The policy starts from ``rl.init_from`` or
``model.policy``. Writes ``rl/`` (``final/`` model, ``weights.json``), ``reward_set.json`` and the run logs
(``metrics.jsonl``: TRL's metrics plus ``weights/<reward>``, ``popo/influence/<reward>``, ...) into the run dir.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

from accelerate import PartialState

from experiments import stages
from experiments.common import entry_point
from rlrec.config import Config
from rlrec.logging import build_logger

log = logging.getLogger("rlrec")


@entry_point
def main(config: Config, run_dir: Path) -> None:
    ctx = stages.context(config, run_dir)
    reward_set = stages.reward_set(ctx)
    (run_dir / "reward_set.json").write_text(json.dumps(reward_set.card(), indent=2))
    ctx.logger = build_logger(config.logger, run_dir, dataclasses.asdict(config), reward_set.metadata,
                              main_process=PartialState().is_main_process)
    try:
        final = stages.run("rl", ctx)
        stages.export(ctx, "rl", run_dir, ("rl",))
        weights = json.loads((final.parent / "weights.json").read_text())
        ctx.logger.summary({f"final_weights/{name}": w for name, w in weights.items()})
    finally:
        ctx.logger.close()
    log.info("RL policy: %s; final weights: %s", final, weights)


if __name__ == "__main__":
    main()
