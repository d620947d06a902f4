"""The RL stage as one library call: RL-split examples + reward functions → trained policy folder.

Used by ``experiments/train_rl.py`` and the pipeline. The policy starts from ``rl.init_from`` (the SFT
checkpoint) when set, else ``model.policy``. Outputs under ``output_dir``: TRL checkpoints (each with
``weighting_state.json``), ``final/`` (the model, merged when LoRA is used and ``rl.lora.merge``), and
``final/weighting_state.json`` + ``weights.json`` (the final reward weights).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rlrec.config import Config
from rlrec.data import Example

__all__ = ["run_rl", "rl_dataset"]

log = logging.getLogger("rlrec")


def rl_dataset(examples: Sequence[Example], max_prompts: int | None = None):
    """``datasets.Dataset`` of ``Example.to_record()`` rows (chat-message prompts; other columns reach rewards)."""
    from datasets import Dataset

    picked = list(examples)[:max_prompts] if max_prompts is not None else list(examples)
    if not picked:
        raise ValueError("the RL split is empty: check data.split.rl and data.max_users (rlrec.data.prepare_data)")
    return Dataset.from_list([e.to_record() for e in picked])


def run_rl(
    config: Config,
    examples: Sequence[Example],
    reward_funcs: Sequence[Callable],
    reward_names: Sequence[str],
    initial_weights: Sequence[float] | None,
    output_dir: Path,
    reward_stats: Callable[[], dict[str, float]] | None = None,
    callbacks: list[Any] | None = None,
    policy: str | None = None,
) -> Path:
    """Train the policy with GRPO under ``config.weighting``; returns the ``final/`` model folder.

    ``policy``: the model to start from (the pipeline's SFT checkpoint); None = ``rl.init_from`` or ``model.policy``.
    """
    from rlrec.assets import resolve_model_path
    from rlrec.trainers.build import build_trainer

    policy = resolve_model_path(policy or config.rl.init_from or config.model.policy)
    dataset = rl_dataset(examples, config.rl.max_prompts)
    log.info("RL: %d prompts, policy %s, weighting %s, rewards %s", len(dataset), policy, config.weighting.name,
             list(reward_names))
    trainer = build_trainer(
        rl=config.rl,
        model_config=config.model,
        weighting=config.weighting,
        policy=policy,
        reward_funcs=reward_funcs,
        reward_names=reward_names,
        initial_weights=initial_weights,
        train_dataset=dataset,
        output_dir=output_dir,
        seed=config.seed,
        reward_stats=reward_stats,
        callbacks=callbacks,
    )
    trainer.train(resume_from_checkpoint=config.rl.resume_from_checkpoint)

    final = Path(output_dir) / "final"
    model = trainer.model
    if config.rl.lora.enabled and config.rl.lora.merge:
        model = trainer.accelerator.unwrap_model(model).merge_and_unload()
    if trainer.accelerator.is_main_process:
        model.save_pretrained(final)
        trainer.processing_class.save_pretrained(final)
        state = trainer.strategy.state_dict()
        (final / "weighting_state.json").write_text(json.dumps(state, indent=2))
        weights = dict(zip(trainer.strategy.names, trainer.strategy.weights().tolist()))
        (Path(output_dir) / "weights.json").write_text(json.dumps(weights, indent=2))
    trainer.accelerator.wait_for_everyone()
    return final
