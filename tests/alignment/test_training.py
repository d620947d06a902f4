"""Both reward-model modes on the tiny LM: the trainers' losses are the pure losses, training lowers them,
the best-F1 checkpoint is a plain num_labels=1 sequence-classification folder."""

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from rlrec.alignment.feedback import pairwise_rows, pointwise_rows, split_feedback
from rlrec.alignment.losses import pairwise_loss, pointwise_loss
from rlrec.alignment.reward_model import load_reward_model, score, score_texts
from rlrec.alignment.training import RM_MODES, train_reward_model
from rlrec.config import LoraConfig, RewardModelConfig


@pytest.fixture()
def rm_config(tiny_lm_path) -> RewardModelConfig:
    return RewardModelConfig(
        backbone=str(tiny_lm_path), max_steps=12, learning_rate=2e-3, batch_size=4, eval_every=5,
        eval_fraction=0.5, random_draws=5, logging_steps=1, warmup_ratio=0.0, train_layers=None,
    )


def test_load_reward_model_has_one_output_and_a_pad_id(tiny_lm_path):
    model, tokenizer = load_reward_model(str(tiny_lm_path))
    assert model.config.num_labels == 1 and model.config.pad_token_id == tokenizer.pad_token_id
    texts = ["Recent interest clusters: a | b\nNext interest cluster: c", "x"]
    scores = score_texts(model, tokenizer, texts, batch_size=1)
    # right padding must not change a score: batch of 2 == one at a time
    np.testing.assert_allclose(score_texts(model, tokenizer, texts, batch_size=2), scores, atol=1e-5)
    assert scores.shape == (2,)


def test_trainer_losses_equal_the_pure_losses(tmp_path, tiny_lm_path, toy_points, toy_pairs, rm_config):
    split = split_feedback(toy_points, toy_pairs, k=2, eval_fraction=0.5, seed=0)
    model, tokenizer = load_reward_model(str(tiny_lm_path))
    args = dict(output_dir=str(tmp_path), max_steps=1, report_to=[], save_strategy="no", per_device_train_batch_size=4,
                bf16=False, activation_checkpointing=False)

    trainer = RM_MODES.get("pointwise")(model, tokenizer, split, rm_config, args, [])
    batch = trainer.data_collator([trainer.train_dataset[i] for i in range(3)])
    rows = pointwise_rows(split.train_points[:3])
    with torch.no_grad():
        got = trainer.compute_loss(model, dict(batch)).item()
        logits = torch.tensor(score_texts(model, tokenizer, [r["text"] for r in rows]))
    assert got == pytest.approx(pointwise_loss(logits, torch.tensor([r["label"] for r in rows])).item(), rel=1e-4)

    trainer = RM_MODES.get("pairwise")(model, tokenizer, split, replace(rm_config, use_margin=True), args, [])
    batch = trainer.data_collator([trainer.train_dataset[i] for i in range(3)])
    rows = pairwise_rows(split.train_pairs[:3])
    with torch.no_grad():
        got = trainer.compute_loss(model, dict(batch)).item()
        chosen = torch.tensor(score_texts(model, tokenizer, [r["chosen"] for r in rows]))
        rejected = torch.tensor(score_texts(model, tokenizer, [r["rejected"] for r in rows]))
    expected = pairwise_loss(chosen, rejected, torch.tensor([r["margin"] for r in rows])).item()
    assert got == pytest.approx(expected, rel=1e-4)


@pytest.mark.parametrize("mode", ["pointwise", "pairwise"])
def test_train_reward_model_selects_and_saves_best_f1(mode, tmp_path, toy_points, toy_pairs, rm_config):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    split = split_feedback(toy_points, toy_pairs, k=2, eval_fraction=0.5, seed=0)
    result = train_reward_model(mode, split, rm_config, k=2, out_dir=tmp_path, seed=0)

    assert [row["step"] for row in result.history] == [0, 5, 10, 12]
    assert result.best["f1"] == max(row["f1"] for row in result.history)
    tied = [r["step"] for r in result.history if abs(r["f1"] - result.best["f1"]) <= 1e-9]
    assert result.best["step"] == min(tied)  # ties (up to float noise) go to the earliest checkpoint
    losses = [e["loss"] for e in result.train_log]
    assert len(losses) == 12 and np.mean(losses[-3:]) < np.mean(losses[:3])
    saved = json.loads((tmp_path / "eval_history.json").read_text())
    assert saved["mode"] == mode and saved["best"] == result.best

    # the selected checkpoint reloads as a plain reward model and reproduces its recorded F1
    model = AutoModelForSequenceClassification.from_pretrained(result.best_dir)
    tokenizer = AutoTokenizer.from_pretrained(result.best_dir)
    assert model.config.num_labels == 1
    group = split.groups[0]
    scores = score(model, tokenizer, [group.context] * len(group.candidates), group.candidates)
    assert scores.shape == (len(group.candidates),) and np.isfinite(scores).all()


def test_lora_reward_model_saves_merged(tmp_path, toy_points, toy_pairs, rm_config):
    from transformers import AutoModelForSequenceClassification

    config = replace(rm_config, max_steps=3, eval_every=100, lora=LoraConfig(enabled=True))
    split = split_feedback(toy_points, toy_pairs, k=2, eval_fraction=0.5, seed=0)
    result = train_reward_model("pointwise", split, config, k=2, out_dir=tmp_path, seed=0)
    assert not (result.best_dir / "adapter_config.json").exists()
    model = AutoModelForSequenceClassification.from_pretrained(result.best_dir)
    assert not any("lora" in name for name, _ in model.named_parameters())


def test_unknown_mode_says_what_exists(tmp_path, toy_points, toy_pairs, rm_config):
    split = split_feedback(toy_points, toy_pairs, k=2, eval_fraction=0.5, seed=0)
    with pytest.raises(KeyError, match="pairwise"):
        train_reward_model("pairwize", split, rm_config, k=2, out_dir=tmp_path)


def test_train_layers_freezes_everything_below_the_top_blocks(tiny_lm_path):
    model, _ = load_reward_model(str(tiny_lm_path), RewardModelConfig(backbone=str(tiny_lm_path), train_layers=1))
    trainable = {name for name, p in model.named_parameters() if p.requires_grad}
    assert trainable and all(n.startswith(("model.layers.1.", "model.norm.", "score.")) for n in trainable)
    assert any(n.startswith("score.") for n in trainable)
    with pytest.raises(ValueError, match="alternatives"):
        RewardModelConfig(train_layers=1, lora=LoraConfig(enabled=True))
    with pytest.raises(ValueError, match="has 2 blocks"):
        load_reward_model(str(tiny_lm_path), RewardModelConfig(backbone=str(tiny_lm_path), train_layers=3))
