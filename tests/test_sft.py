"""ORFT on the tiny model: completion-only loss, full and LoRA checkpoints, and the Table 3 format rates."""

import json

import pytest
import torch

from rlrec.answer import format_completion
from rlrec.config import LoraConfig, SFTConfig
from rlrec.sft import (
    FormatEval,
    build_trainer,
    compare_format,
    count_too_long,
    format_metrics,
    load_sft_records,
    train_sft,
    trl_args,
)


def test_format_metrics_by_hand():
    completions = [
        "<think>a</think><answer>Item title: X</answer>",  # tag, think, answer
        "<think></think><answer>Item title: Y</answer>",  # tag, empty think, answer
        "<think>b</think>",  # tag, think, no answer
        "Item title: Z",  # nothing tagged
    ]
    m = format_metrics(completions)
    assert m["Think_Tag_Presence_Rate"] == 0.75
    assert m["Think_Non_Empty_Rate"] == 0.5
    assert m["Answer_Non_Empty_Rate"] == 0.5
    assert m["Parse_OK_Rate"] == 0.5 and m["n"] == 4
    assert format_metrics([])["Think_Tag_Presence_Rate"] == 0.0


def _records(n=4):
    return [
        {"prompt": [{"role": "user", "content": f"User {i} bought milk and eggs. Predict the next item."}],
         "completion": [{"role": "assistant", "content": format_completion(f"dairy habit {i}", "Whole Milk", ("Dairy Eggs",))}]}
        for i in range(n)
    ]


def _cfg(**kw) -> SFTConfig:
    return SFTConfig(**{"epochs": 1, "learning_rate": 1e-3, "batch_size": 2, "max_length": 256, "logging_steps": 1,
                        "warmup_ratio": 0.0, **kw})


def test_trl_args_use_completion_only_loss(tmp_path):
    args = trl_args(_cfg(), tmp_path, seed=3)
    assert args.completion_only_loss is True and args.save_strategy == "no" and args.seed == 3
    assert args.num_train_epochs == 1 and args.bf16 is False and args.gradient_checkpointing is False


def test_loss_covers_the_completion_only(tmp_path, tiny_lm_path, tokenizer):
    trainer = build_trainer(_records(1), str(tiny_lm_path), _cfg(), tmp_path)
    row = trainer.train_dataset[0]
    ids, labels = row["input_ids"], row["labels"]  # TRL folds the completion mask into labels (-100 = no loss)
    trained = tokenizer.decode([t for t, label in zip(ids, labels) if label != -100])
    ignored = tokenizer.decode([t for t, label in zip(ids, labels) if label == -100])
    assert trained.startswith("<think>dairy habit 0</think><answer>Item title: Whole Milk")
    assert "Predict the next item" in ignored and "Predict" not in trained


def test_full_finetune_saves_a_loadable_checkpoint_and_lowers_the_loss(tmp_path, tiny_lm_path):
    from transformers import AutoModelForCausalLM

    ckpt = train_sft(_records(4), str(tiny_lm_path), _cfg(epochs=3), tmp_path)
    model = AutoModelForCausalLM.from_pretrained(ckpt)
    base = AutoModelForCausalLM.from_pretrained(tiny_lm_path)
    assert any(not torch.equal(a, b) for a, b in zip(model.state_dict().values(), base.state_dict().values()))
    history = json.loads((tmp_path / "sft_log.json").read_text())["history"]
    losses = [h["loss"] for h in history if "loss" in h]
    assert len(losses) >= 2 and losses[-1] < losses[0]
    assert (tmp_path / "sft_loss.png").exists() and (ckpt / "tokenizer_config.json").exists()


def test_too_long_samples_are_counted(tokenizer):
    records = _records(2)
    text = tokenizer.apply_chat_template(records[0]["prompt"] + records[0]["completion"], tokenize=False)
    n = len(tokenizer(text, add_special_tokens=False)["input_ids"])  # both records have the same length
    assert count_too_long(records, tokenizer, None) == 0
    assert count_too_long(records, tokenizer, n - 1) == 2 and count_too_long(records, tokenizer, n + 50) == 0


def test_lora_checkpoint_is_merged_into_a_plain_model(tmp_path, tiny_lm_path):
    from transformers import AutoModelForCausalLM

    ckpt = train_sft(_records(2), str(tiny_lm_path), _cfg(lora=LoraConfig(enabled=True, r=4, alpha=8)), tmp_path)
    model = AutoModelForCausalLM.from_pretrained(ckpt)
    base = AutoModelForCausalLM.from_pretrained(tiny_lm_path)
    assert set(model.state_dict()) == set(base.state_dict())  # no lora_A / lora_B left
    assert not (ckpt / "adapter_config.json").exists()


def test_load_records_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="experiments.distill"):
        load_sft_records(tmp_path / "missing.jsonl")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    with pytest.raises(ValueError, match="no SFT samples"):
        load_sft_records(empty)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "x"}\n')
    with pytest.raises(ValueError, match="bad.jsonl:1"):
        load_sft_records(bad)


def test_compare_format_writes_json_and_markdown(tmp_path):
    evals = {"base": FormatEval("b", format_metrics(["no tags"]), ["no tags"]),
             "sft": FormatEval("s", format_metrics(["<think>x</think><answer>Item title: T</answer>"]), ["<think>x</think><answer>Item title: T</answer>"])}
    table = compare_format(evals, tmp_path)
    assert table["sft"]["Think_Tag_Presence_Rate"] == 1.0 and table["base"]["Think_Tag_Presence_Rate"] == 0.0
    assert "| Think_Tag_Presence_Rate | 0.0000 | 1.0000 |" in (tmp_path / "format_metrics.md").read_text()
    assert len((tmp_path / "format_completions.jsonl").read_text().splitlines()) == 2


@pytest.mark.slow  # a subprocess that distils, trains and generates twice: ~40 s on a loaded 2-core machine
def test_sft_entry_point_distils_trains_and_reports(tmp_path, tiny_lm_path):
    """`python -m experiments.sft` on the tiny model: distil (RUPR) → PPL filter → SFT → format metrics."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    run_dir = tmp_path / "run"
    args = [
        f"model.policy={tiny_lm_path}", f"distill.teacher.model={tiny_lm_path}", "data.max_users=20",
        "data.history_len=5", "data.prompt_token_budget=200", "distill.max_examples=3", "distill.num_candidates=2",
        "distill.teacher.max_new_tokens=12", "distill.min_cot_chars=5", "sft.epochs=1", "sft.batch_size=2",
        "sft.eval_examples=2", "sft.eval_max_new_tokens=6", f"artifacts_dir={tmp_path / 'artifacts'}",
        f"hydra.run.dir={run_dir}",
    ]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "WANDB_MODE": "disabled", "TOKENIZERS_PARALLELISM": "false"}
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-m", "experiments.sft", *args], cwd=root, env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    metrics = json.loads((run_dir / "format_metrics.json").read_text())["metrics"]
    assert set(metrics) == {"base", "sft"} and metrics["sft"]["n"] == 2
    assert (run_dir / "checkpoint" / "config.json").exists() and (run_dir / "distill" / "sft_data.jsonl").exists()
