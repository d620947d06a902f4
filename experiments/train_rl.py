"""RL stage (Taiji §2.3): GRPO on the RL split with real rewards and a reward-weighting strategy.

    python -m experiments.train_rl                               # fixed weights (Taiji's GRPO baseline)
    python -m experiments.train_rl weighting=popo_light          # Eq. 7
    python -m experiments.train_rl weighting=popo                # Eq. 5-6
    python -m experiments.train_rl weighting=popo weighting.grad_params='[lora_]' rl.lora.enabled=true
    python -m experiments.train_rl rl=paper reward=taiji rl.init_from=runs/.../checkpoint
    accelerate launch -m experiments.train_rl weighting=popo      # several GPUs (DDP / DeepSpeed ZeRO-1/2)

Writes ``rl/`` (checkpoints, ``final/`` model, ``weights.json``), ``reward_set.json`` and the run logs
(``metrics.jsonl``: TRL's metrics plus ``weights/<reward>``, ``popo/influence/<reward>``, ...) into the run dir.
"""

from __future__ import annotations

import dataclasses
import json
import logging

import hydra
from accelerate import PartialState
from omegaconf import DictConfig

import rewards
from experiments.common import setup
from rlrec.assets import load_tokenizer
from rlrec.data import prepare_data
from rlrec.logging import RunLoggerCallback, build_logger
from rlrec.trainers.run import run_rl

log = logging.getLogger("rlrec")


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def main(cfg: DictConfig) -> None:
    config, run_dir = setup(cfg)
    policy = config.rl.init_from or config.model.policy
    data = prepare_data(config.data, run_dir / "data", load_tokenizer(policy))
    reward_set = rewards.build_reward_set(config.reward, rewards.Resources(config))
    (run_dir / "reward_set.json").write_text(json.dumps(reward_set.card(), indent=2))
    logger = build_logger(config.logger, run_dir, dataclasses.asdict(config), reward_set.metadata,
                          main_process=PartialState().is_main_process)
    final = run_rl(
        config,
        data.splits["rl"],
        reward_set.functions,
        reward_set.names,
        reward_set.initial_weights,
        run_dir / "rl",
        reward_stats=reward_set.pop_stats,
        callbacks=[RunLoggerCallback(logger)],
    )
    weights = json.loads((run_dir / "rl" / "weights.json").read_text())
    logger.summary({f"final_weights/{name}": w for name, w in weights.items()})
    logger.close()
    log.info("RL policy: %s; final weights: %s", final, weights)


if __name__ == "__main__":
    main()
