"""One testbed run: build the tiny policy, score it, train it with the real GRPO trainer, score it again.

Writes ``testbed_result.json`` in the run folder: the pre- and post-RL expected reward vectors, their
hypervolume over (0, 0) relative to the best single front point, their gap below the front, the final
weights, the training time and the per-step reward means (TRL's logs).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from pathlib import Path
from typing import Any

import torch

from rlrec.config import ModelConfig
from rlrec.testbed.config import TestbedConfig
from rlrec.testbed.front import best_single_point, continuous_hypervolume, front_gap, front_hypervolume
from rlrec.testbed.task import PROMPT, REWARD_NAMES, build_policy, expected_rewards, make_rewards, sample_completions

__all__ = ["RESULT_FILE", "run_testbed", "score_point"]

RESULT_FILE = "testbed_result.json"
log = logging.getLogger("rlrec")


def score_point(point: tuple[float, float], config: TestbedConfig) -> dict[str, Any]:
    """A policy's expected reward vector with its hypervolume over (0, 0), relative to the best reachable, and gap."""
    _, best = best_single_point(config.task)
    hv = max(point[0], 0.0) * max(point[1], 0.0)
    return {"point": list(point), "hypervolume": hv, "hv_ratio": hv / best, "front_gap": front_gap(point, config.task)}


def run_testbed(config: TestbedConfig, run_dir: Path, label: str | None = None) -> dict[str, Any]:
    """Train and score one (strategy, seed); returns (and writes to ``run_dir``) the result record."""
    from datasets import Dataset

    from rlrec.logging import RunLoggerCallback, build_logger
    from rlrec.trainers.build import build_trainer

    task, run_dir = config.task, Path(run_dir)
    torch.set_num_threads(task.threads)
    policy = build_policy(run_dir / "policy_init", task, seed=config.seed)
    temperature = 1.0 if config.rl.temperature is None else config.rl.temperature
    model_config = ModelConfig(policy=str(policy), max_new_tokens=task.completion_tokens, temperature=temperature,
                               top_p=1.0 if config.rl.top_p is None else config.rl.top_p)
    s1, s2 = task.scales
    metadata = {"a_share": {"higher_is_better": True, "range": [0.0, s1]},
                "a_thrift": {"higher_is_better": True, "range": [0.0, s2]}}
    run_logger = build_logger(config.logger, run_dir, dataclasses.asdict(config), metadata)
    trainer = build_trainer(
        rl=config.rl, model_config=model_config, weighting=config.weighting, policy=str(policy),
        reward_funcs=make_rewards(task), reward_names=list(REWARD_NAMES),
        train_dataset=Dataset.from_dict({"prompt": [PROMPT] * task.prompts}), output_dir=run_dir / "trainer",
        seed=config.seed, callbacks=[RunLoggerCallback(run_logger)],
    )
    tokenizer = trainer.processing_class
    before = expected_rewards(sample_completions(trainer.model, tokenizer, task, temperature, config.seed + 1), task)
    start = time.perf_counter()
    trainer.train()
    train_s = time.perf_counter() - start
    after = expected_rewards(sample_completions(trainer.model, tokenizer, task, temperature, config.seed + 2), task)
    steps = trainer.state.global_step
    history = [{k: v for k, v in h.items() if k.startswith(("rewards/", "weights/", "step"))}
               for h in trainer.state.log_history if "loss" in h]
    result = {
        "label": label or config.weighting.name,
        "strategy": config.weighting.name,
        "seed": config.seed,
        "task": {"completion_tokens": task.completion_tokens, "exponent": task.exponent, "scales": list(task.scales)},
        "front": {"hypervolume": front_hypervolume(task), "continuous_hypervolume": continuous_hypervolume(task),
                  "best_single_point": list(best_single_point(task)[0]), "best_single_hv": best_single_point(task)[1]},
        "before": score_point(before, config),
        "after": score_point(after, config),
        "weights": {n: float(w) for n, w in zip(trainer.strategy.names, trainer.strategy.weights())},
        "steps": steps,
        "train_s": train_s,
        "s_per_step": train_s / max(steps, 1),
        "history": history,
    }
    (run_dir / RESULT_FILE).write_text(json.dumps(result, indent=2))
    run_logger.summary({"testbed/label": result["label"], "testbed/a_share": after[0], "testbed/a_thrift": after[1],
                        "testbed/hv_ratio": result["after"]["hv_ratio"], "testbed/front_gap": result["after"]["front_gap"]})
    run_logger.close()
    log.info("testbed %s seed %d: point %s -> %s, HV ratio %.3f -> %.3f, %.2f s/step", result["label"], config.seed,
             [round(v, 3) for v in before], [round(v, 3) for v in after], result["before"]["hv_ratio"],
             result["after"]["hv_ratio"], result["s_per_step"])
    return result
