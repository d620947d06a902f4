"""The trainer hook: a strategy's ``advantages()`` replaces TRL's advantages in the real GRPO step (tiny LM)."""

import pytest
import torch

from rlrec.weighting import WeightingStrategy

ROWS = 8  # 2 prompts x G = 4


class Constant(WeightingStrategy):
    """Returns known advantages (row i -> i - 3.5) so the test can find them in TRL's micro-batches."""

    def advantages(self, rewards, num_generations):
        assert rewards.shape == (ROWS, 2) and num_generations == 4
        return torch.arange(ROWS, dtype=torch.float32) - 3.5


def first(completions, **kwargs):
    return [float(len(c)) for c in completions]


def second(completions, **kwargs):
    return [float(c.count(" ")) for c in completions]


@pytest.mark.parametrize("strategy_cls", [Constant])
def test_strategy_advantages_reach_the_loss(tiny_lm_path, tmp_path, strategy_cls):
    from datasets import Dataset

    from rlrec.config import ModelConfig, RLConfig
    from rlrec.trainers import build_trainer

    trainer = build_trainer(
        rl=RLConfig(batch_size=ROWS, num_generations=4, max_completion_length=4, max_steps=1, save_steps=1000,
                    learning_rate=1e-3, temperature=1.0, top_p=1.0),
        model_config=ModelConfig(), weighting=strategy_cls(["first", "second"]), policy=str(tiny_lm_path),
        reward_funcs=[first, second], reward_names=["first", "second"],
        train_dataset=Dataset.from_list([{"prompt": f"Say {i}"} for i in range(4)]), output_dir=tmp_path, use_cpu=True,
    )
    seen = []
    loss = type(trainer).compute_loss

    def spy(self, model, inputs, *args, **kwargs):
        seen.extend(inputs["advantages"].tolist())
        return loss(self, model, inputs, *args, **kwargs)

    trainer.compute_loss = spy.__get__(trainer)
    trainer.train()
    assert sorted(seen) == pytest.approx([i - 3.5 for i in range(ROWS)])  # TRL shuffles rows; values are ours
