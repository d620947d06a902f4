"""WeightedGRPOTrainer on the tiny model: POPO inside TRL's loop, logs, POPO-light saturation, resume."""

from __future__ import annotations

import json
import math
import zlib

import pytest
import torch

from rlrec.config import WeightingConfig
from rlrec.trainers.grpo import WEIGHTING_STATE_FILE
from rlrec.trainers.types import ROW_INDEX_KEY
from rlrec.weighting import combined_advantages

from .conftest import length_score, make_trainer, vowel_rate, weight_trajectory

NAMES = ["vowel_rate", "length_score"]


def test_popo_updates_weights_inside_trls_step(trainer_factory):
    """TRL's advantage == ours for the old weights; after the Gram update the same step uses the new weights."""
    trainer = trainer_factory(WeightingConfig(name="popo", params={"mu": 1e-3, "eta": 1e-3}), max_steps=2)
    seen = {"trl": [], "before": [], "after": []}
    generate, popo_step = trainer._generate_and_score_completions, trainer._popo_step

    def recording_generate(inputs):
        out = generate(inputs)
        rollout = trainer._popo_rollout.rows(out[ROW_INDEX_KEY])  # the rows TRL's advantages are for, in order
        seen["trl"].append((out["advantages"].clone(), rollout.deviation, rollout.covariance))
        return out

    def recording_step(logps, update):
        seen["before"].append(trainer.strategy.weights())
        popo_step(logps=logps, update=update)
        w = trainer.strategy.weights()
        seen["after"].append(w)
        expected = combined_advantages(update.rollout.deviation, update.rollout.covariance, w)
        torch.testing.assert_close(update.batch["advantages"], expected)  # what TRL's loss reads next

    trainer._generate_and_score_completions, trainer._popo_step = recording_generate, recording_step
    trainer.train()

    assert len(seen["after"]) == 2  # one update per optimizer step
    for (trl_adv, deviation, covariance), before in zip(seen["trl"], seen["before"]):
        torch.testing.assert_close(combined_advantages(deviation, covariance, before), trl_adv, atol=2e-5, rtol=1e-4)
    assert not torch.allclose(seen["after"][-1], torch.tensor([0.5, 0.5]))
    logged = [h for h in trainer.state.log_history if "popo/influence/vowel_rate" in h]
    assert len(logged) == 2
    for key in ["weights/vowel_rate", "weights/length_score", "popo/influence/length_score",
                "popo/grad_norm/vowel_rate", "popo/grad_cosine/vowel_rate__length_score", "reward", "loss",
                "monitor/format_valid_rate", "monitor/top10_token_share", "monitor/distinct_1", "monitor/distinct_2"]:
        assert key in logged[0], key
    assert 0.0 <= logged[0]["monitor/format_valid_rate"] <= 1.0
    assert weight_trajectory(trainer, NAMES)[-1] == pytest.approx(seen["after"][-1].tolist(), abs=1e-6)


def _text_hash(text: str) -> float:
    return (zlib.crc32(text.encode()) % 1000) / 999.0


def saturating(completions, trainer_state=None, **kwargs) -> list[float]:
    """1 - 0.3^step * h(text): a deterministic reward whose within-group spread collapses step by step."""
    from rlrec.answer import completion_text

    shrink = 0.3 ** trainer_state.global_step
    return [1.0 - shrink * _text_hash(completion_text(c)) for c in completions]


def test_popo_light_weight_falls_when_a_reward_saturates(trainer_factory):
    trainer = trainer_factory(WeightingConfig(name="popo_light"), rewards=(saturating, vowel_rate), max_steps=3)
    trainer.train()
    trajectory = [w[0] for w in weight_trajectory(trainer, ["saturating", "vowel_rate"])]
    assert len(trajectory) == 3
    assert trajectory[0] > 0.2  # informative at first
    assert trajectory[2] < trajectory[1] < trajectory[0]
    assert trajectory[2] < trajectory[0] / 3


@pytest.mark.slow
def test_resume_reproduces_the_uninterrupted_weight_trajectory(tiny_lm_path, tmp_path):
    config = WeightingConfig(name="popo", params={"mu": 1e-3, "eta": 1e-3})
    full = make_trainer(tiny_lm_path, tmp_path / "full", config, max_steps=3, save_steps=2)
    full.train()
    expected = weight_trajectory(full, NAMES)
    assert len(expected) == 3 and expected[0] != expected[2]
    checkpoint = tmp_path / "full" / "checkpoint-2"
    state = json.loads((checkpoint / WEIGHTING_STATE_FILE).read_text())
    assert state["updates"] == 2 and state["weights"] == pytest.approx(expected[1], abs=1e-6)

    resumed = make_trainer(tiny_lm_path, tmp_path / "resumed", config, max_steps=3, save_steps=2)
    resumed.train(resume_from_checkpoint=str(checkpoint))
    resumed_trajectory = weight_trajectory(resumed, NAMES)  # steps 1-2 come back with the checkpoint's log history
    assert len(resumed_trajectory) == 3
    for got, want in zip(resumed_trajectory, expected):
        assert got == pytest.approx(want, abs=1e-6)
    assert resumed.strategy.updates == 3


def test_strategy_for_other_rewards_is_rejected(tiny_lm_path, tmp_path):
    from rlrec.weighting import build_strategy

    strategy = build_strategy(WeightingConfig(name="fixed"), ["length_score", "vowel_rate"])
    with pytest.raises(ValueError, match="same reward set"):
        make_trainer(tiny_lm_path, tmp_path, strategy, rewards=(vowel_rate, length_score))


@pytest.mark.slow
def test_popo_on_lora_adapters_only(trainer_factory):
    """PEFT LoRA policy, per-reward gradients over the adapters (weighting.params.grad_params=[lora_])."""
    from rlrec.config import LoraConfig

    trainer = trainer_factory(
        WeightingConfig(name="popo", params={"mu": 1e-3, "eta": 1e-3, "grad_params": ["lora_"]}), max_steps=1,
        lora=LoraConfig(enabled=True, r=2, target_modules=["q_proj", "v_proj"]),
    )
    trainer.train()
    assert trainer._popo_params and all(p.requires_grad for p in trainer._popo_params)
    names = {n for n, p in trainer.model.named_parameters() if any(p is q for q in trainer._popo_params)}
    assert names and all("lora_" in n for n in names)
    logged = [h for h in trainer.state.log_history if "popo/grad_norm/vowel_rate" in h]
    assert logged and logged[0]["popo/grad_norm/vowel_rate"] > 0


def one_infinite(completions, **kwargs) -> list[float]:
    """A plain TRL callable (not a rewards.Reward) that returns +inf for the first completion of the batch."""
    return [math.inf] + [0.0] * (len(completions) - 1)


def test_an_infinite_reward_does_not_zero_every_advantage(trainer_factory, caplog):
    """Issue 14 #2: +inf from one reward used to make TRL's batch std NaN and every advantage 0 (loss 0, grad 0).
    It is excluded like None: the other reward still drives the advantages, and a warning names the reward."""
    trainer = trainer_factory(WeightingConfig(name="fixed"), rewards=(one_infinite, vowel_rate), max_steps=1,
                              scale_rewards="batch")
    seen = []
    generate = trainer._generate_and_score_completions

    def recording_generate(inputs):
        out = generate(inputs)
        seen.append(out["advantages"].clone())
        return out

    trainer._generate_and_score_completions = recording_generate
    with caplog.at_level("WARNING", logger="rlrec"):
        trainer.train()
    assert seen and torch.isfinite(seen[0]).all() and seen[0].abs().sum() > 0
    assert "one_infinite: 1" in caplog.text
    assert any(h.get("rewards/nonfinite/one_infinite") == 1.0 for h in trainer.state.log_history)


def test_resuming_with_another_strategy_names_the_checkpoint_and_the_fix(tiny_lm_path, tmp_path):
    """Issue 14 #5 through TRL's resume: weighting=fixed from a POPO checkpoint (it used to train on with POPO's
    weights) and weighting=popo from a fixed one (it used to die with KeyError: 'log_weights') both stop before
    the first step, naming the checkpoint, the strategy that wrote it and how to go on."""
    import shutil

    first = make_trainer(tiny_lm_path, tmp_path / "fixed", WeightingConfig(name="fixed"), max_steps=1, save_steps=1)
    first.train()
    fixed_ckpt = tmp_path / "fixed" / "checkpoint-1"
    popo_ckpt = tmp_path / "popo" / "checkpoint-1"
    shutil.copytree(fixed_ckpt, popo_ckpt)
    popo_state = {"names": NAMES, "weights": [0.606, 0.394], "updates": 1, "log_weights": [-0.5009, -0.9314]}
    (popo_ckpt / WEIGHTING_STATE_FILE).write_text(json.dumps(popo_state))  # as written before states named their strategy
    cases = [(WeightingConfig(name="fixed"), popo_ckpt, "popo"),
             (WeightingConfig(name="popo", params={"mu": 1e-3}), fixed_ckpt, "fixed")]
    for config, checkpoint, writer in cases:
        resumed = make_trainer(tiny_lm_path, tmp_path / f"resumed-{config.name}", config, max_steps=2)
        with pytest.raises(ValueError, match=rf"cannot resume from {checkpoint}: weighting state is for strategy "
                                             rf"'{writer}'.*resume with weighting={writer}.*start afresh"):
            resumed.train(resume_from_checkpoint=str(checkpoint))
        assert resumed.state.global_step == 1  # the checkpoint's: no step trained with the wrong weights
