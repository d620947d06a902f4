"""The RL stage's library call (what experiments/train_rl.py runs) on the tiny model and hand-made examples."""

from __future__ import annotations

import json
import math

import pytest

from rlrec.config import Config, LoraConfig, ModelConfig, RLConfig, WeightingConfig
from rlrec.data import Example
from rlrec.trainers.run import rl_dataset, run_rl


def title_mentioned(completions, target_title, **kwargs) -> list[float]:
    """1 if the completion mentions the target title's first word (reads a dataset column, as real rewards do)."""
    from rlrec.answer import completion_text

    return [float(t.split()[0].lower() in completion_text(c).lower()) for c, t in zip(completions, target_title)]


def char_rate(completions, **kwargs) -> list[float]:
    from rlrec.answer import completion_text

    return [sum(ch.isalpha() for ch in completion_text(c)) / max(len(completion_text(c)), 1) for c in completions]


def _examples(n: int = 4) -> list[Example]:
    titles = ["Organic Bananas", "Whole Milk", "Green Tea", "Rice Cakes"]
    return [
        Example(example_id=f"u{i}#3", user_id=f"u{i}", prompt=f"User u{i} bought bread and jam. Next item?",
                target_item_id=str(i), target_title=titles[i % 4], target_categories=("Food", "Snacks"),
                target_text=f"Item title: {titles[i % 4]}; Category L1: Food; Category L2: Snacks",
                history_item_ids=["7", "8"], target_time=float(i))
        for i in range(n)
    ]


def test_rl_dataset_rows_are_chat_prompts_with_columns():
    ds = rl_dataset(_examples(), max_prompts=3)
    assert len(ds) == 3 and ds[0]["prompt"][0]["role"] == "user" and ds[0]["target_title"] == "Organic Bananas"


def _recording(fn, seen: list):
    """``fn`` that also appends every batch of values it returns to ``seen`` (TRL logs it under fn's name)."""

    def wrapped(**kwargs):
        values = fn(**kwargs)
        seen.append(list(values))
        return values

    wrapped.__name__ = fn.__name__
    return wrapped


def _eq7(values: list[float], eps: float = 1e-3) -> float:
    """Taiji Eq. 7 for one group by hand: σ / (|μ| + ε), σ the unbiased standard deviation."""
    mu = sum(values) / len(values)
    sigma = math.sqrt(sum((v - mu) ** 2 for v in values) / (len(values) - 1))
    return sigma / (abs(mu) + eps)


def test_run_rl_trains_and_writes_the_final_model_and_weights(tiny_lm_path, tmp_path):
    seen_title, seen_chars = [], []
    config = Config(
        model=ModelConfig(policy=str(tiny_lm_path)),
        rl=RLConfig(batch_size=4, max_completion_length=6, max_steps=1, top_p=1.0, save_steps=1000,
                    lora=LoraConfig(enabled=True, r=2, target_modules=["q_proj", "v_proj"])),
        weighting=WeightingConfig(name="popo_light"),
    )
    rewards = [_recording(title_mentioned, seen_title), _recording(char_rate, seen_chars)]
    final = run_rl(config, _examples(), rewards, ["title_mentioned", "char_rate"], [0.5, 0.5],
                   tmp_path / "rl", reward_stats=lambda: {"reward_calls": 1.0})
    assert (final / "config.json").exists() and (final / "weighting_state.json").exists()
    assert not (final / "adapter_config.json").exists()  # LoRA merged into a plain checkpoint
    weights = json.loads((tmp_path / "rl" / "weights.json").read_text())
    assert list(weights) == ["title_mentioned", "char_rate"] and abs(sum(weights.values()) - 1) < 1e-6
    # one step = one rollout of B = 1 prompt x G = 4: POPO-light moved the weights to Eq. 7 of its rewards
    assert len(seen_title) == len(seen_chars) == 1 and len(seen_chars[0]) == 4
    w_tilde = [_eq7(seen_title[0]), _eq7(seen_chars[0])]
    expected = [w / sum(w_tilde) for w in w_tilde]
    assert expected != pytest.approx([0.5, 0.5], abs=1e-3)  # the initial weights would not pass below
    assert list(weights.values()) == pytest.approx(expected, abs=1e-6)
