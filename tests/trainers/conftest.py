"""Helpers for trainer tests: deterministic rewards of the completion text, a toy prompt set, a trainer factory.

Every trainer here runs TRL's real loop on the 2-layer ``tiny_lm_path`` model with 8-token completions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rlrec.answer import completion_text


def vowel_rate(completions, **kwargs) -> list[float]:
    """Share of vowels among the completion's characters."""
    texts = [completion_text(c) for c in completions]
    return [sum(ch in "aeiouAEIOU" for ch in t) / max(len(t), 1) for t in texts]


def length_score(completions, **kwargs) -> list[float]:
    """min(1, characters / 40)."""
    return [min(1.0, len(completion_text(c)) / 40.0) for c in completions]


def space_rate(completions, **kwargs) -> list[float]:
    """Share of spaces (None for an empty completion: not applicable)."""
    texts = [completion_text(c) for c in completions]
    return [t.count(" ") / len(t) if t else None for t in texts]


def toy_dataset(n: int = 16):
    from datasets import Dataset

    topics = ["apples", "bread", "milk", "tea", "rice", "eggs", "soap", "jam"]
    return Dataset.from_list(
        [{"prompt": [{"role": "user", "content": f"Recommend something to go with {topics[i % 8]} ({i})."}]} for i in range(n)]
    )


def make_trainer(policy: Path, out: Path, weighting: Any, rewards=(vowel_rate, length_score), **rl_overrides):
    """A WeightedGRPOTrainer on CPU: 2 prompts x G = 4 per step, 8-token completions, lr 1e-3."""
    from rlrec.config import ModelConfig, RLConfig
    from rlrec.trainers import build_trainer

    rl_fields = dict(batch_size=8, num_generations=4, max_completion_length=8, learning_rate=1e-3, max_steps=2,
                     temperature=1.0, top_p=1.0, save_steps=1000, lr_scheduler="constant")
    rl_fields.update({k: v for k, v in rl_overrides.items() if k in RLConfig.__dataclass_fields__})
    grpo = {k: v for k, v in rl_overrides.items() if k not in RLConfig.__dataclass_fields__}
    return build_trainer(
        rl=RLConfig(**rl_fields),
        model_config=ModelConfig(),
        weighting=weighting,
        policy=str(policy),
        reward_funcs=list(rewards),
        reward_names=[f.__name__ for f in rewards],
        train_dataset=toy_dataset(),
        output_dir=out,
        use_cpu=True,
        **grpo,
    )


def weight_trajectory(trainer, names) -> list[list[float]]:
    """``weights/<name>`` per logged step, from the trainer's log history."""
    return [[h[f"weights/{n}"] for n in names] for h in trainer.state.log_history if f"weights/{names[0]}" in h]


@pytest.fixture()
def trainer_factory(tiny_lm_path, tmp_path):
    def factory(weighting, **overrides):
        return make_trainer(tiny_lm_path, tmp_path / "out", weighting, **overrides)

    return factory
