"""Run loggers: local files, fan-out, null logger, W&B offline mode, and the Trainer callback adapter."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import yaml

from rlrec.config import LoggerConfig
from rlrec.logging import LocalRunLogger, MultiLogger, NullLogger, RunLogger, build_logger
from rlrec.logging.callback import RunLoggerCallback
from rlrec.logging.wandb_logger import resolve_mode

META = {"semantic_cosine": {"higher_is_better": True, "range": (-1.0, 1.0)}, "ctcvr": {"higher_is_better": True}}


class Recorder:
    def __init__(self):
        self.logged, self.summaries, self.closed = [], [], False

    def log(self, metrics, step):
        self.logged.append((dict(metrics), step))

    def summary(self, values):
        self.summaries.append(dict(values))

    def close(self):
        self.closed = True


def test_local_logger_writes_config_metrics_summary_and_reward_metadata(tmp_path):
    logger = LocalRunLogger(tmp_path, {"data": {"name": "toy", "levels": (1, 2)}, "seed": 3}, META)
    logger.log({"reward/ctcvr/mean": torch.tensor(0.25), "weights/ctcvr": np.float32(0.5), "bad": float("nan")}, step=1)
    logger.log({"reward/ctcvr/mean": 0.5}, step=2)
    logger.summary({"objective/CTCVR": 0.01, "higher_is_better": {"CTCVR": True}})
    logger.close()
    assert yaml.safe_load((tmp_path / "config.yaml").read_text()) == {"data": {"name": "toy", "levels": [1, 2]}, "seed": 3}
    lines = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert lines == [{"step": 1, "reward/ctcvr/mean": 0.25, "weights/ctcvr": 0.5, "bad": None}, {"step": 2, "reward/ctcvr/mean": 0.5}]
    summary = json.loads((tmp_path / "summary.json").read_text())
    # directions from the reward metadata and from the later summary call are merged, not overwritten
    assert summary["higher_is_better"] == {"semantic_cosine": True, "ctcvr": True, "CTCVR": True}
    assert summary["objective/CTCVR"] == 0.01
    assert json.loads((tmp_path / "reward_metadata.json").read_text())["semantic_cosine"]["range"] == [-1.0, 1.0]


def test_local_logger_resumes_by_appending(tmp_path):
    first = LocalRunLogger(tmp_path)
    first.log({"x": 1}, 1)
    first.summary({"a": 1})
    first.close()
    second = LocalRunLogger(tmp_path)
    second.log({"x": 2}, 2)
    second.summary({"b": 2})
    second.close()
    assert len((tmp_path / "metrics.jsonl").read_text().splitlines()) == 2
    assert json.loads((tmp_path / "summary.json").read_text()) == {"a": 1, "b": 2}


def test_multi_logger_fans_out_and_closes_all_even_after_a_failure():
    a, b = Recorder(), Recorder()

    class Broken(Recorder):
        def close(self):
            raise RuntimeError("disk full")

    multi = MultiLogger([a, Broken(), b])
    multi.log({"x": 1.0}, 5)
    multi.summary({"y": 2})
    with pytest.raises(RuntimeError, match="disk full"):
        multi.close()
    assert a.logged == [({"x": 1.0}, 5)] and b.summaries == [{"y": 2}] and a.closed and b.closed


def test_build_logger_always_includes_the_local_run_dir(tmp_path):
    logger = build_logger(LoggerConfig(backends=[]), tmp_path, {"seed": 0}, META)
    assert isinstance(logger, RunLogger)
    logger.log({"x": 1}, 0)
    logger.close()
    assert (tmp_path / "config.yaml").exists() and (tmp_path / "metrics.jsonl").exists()
    assert isinstance(build_logger(LoggerConfig(), tmp_path / "other", main_process=False), NullLogger)
    with pytest.raises(KeyError, match="did you mean|Did you mean"):
        build_logger(LoggerConfig(backends=["wandbb"]), tmp_path / "x")


def test_wandb_mode_resolution():
    assert resolve_mode("offline", {}) == "offline"
    assert resolve_mode("online", {}) == "offline"  # no key: fall back, never fail
    assert resolve_mode("online", {"WANDB_API_KEY": "k"}) == "online"
    assert resolve_mode("online", {"WANDB_API_KEY": "k", "WANDB_MODE": "disabled"}) == "disabled"
    with pytest.raises(ValueError, match="logger.mode"):
        resolve_mode("cloud", {})


def test_wandb_logger_offline_records_config_group_metrics_and_summary(tmp_path, monkeypatch):
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    config = LoggerConfig(backends=["local", "wandb"], group="sweep-1", tags=["t"])
    logger = build_logger(config, tmp_path, {"seed": 1}, META)
    wandb_logger = logger.loggers[1]
    assert wandb_logger.mode == "offline" and wandb_logger.run.group == "sweep-1"
    assert wandb_logger.run.config["reward_metadata"]["ctcvr"]["higher_is_better"] is True
    logger.log({"weights/ctcvr": 0.4}, step=1)
    logger.summary({"objective/CTCVR": 0.02, "higher_is_better": {"CTCVR": True}})
    assert wandb_logger.run.summary["objective/CTCVR"] == 0.02
    assert dict(wandb_logger.run.summary["higher_is_better"]) == {"semantic_cosine": True, "ctcvr": True, "CTCVR": True}
    logger.close()
    assert list((tmp_path / "wandb").glob("offline-run-*"))


def test_trainer_callback_forwards_numeric_logs_on_the_main_process_only():
    rec = Recorder()
    callback = RunLoggerCallback(rec, prefix="rl/")
    state = SimpleNamespace(is_world_process_zero=True, global_step=7)
    callback.on_log(None, state, None, logs={"loss": 0.5, "weights/ctcvr": 0.3, "note": "text", "flag": True})
    callback.on_log(None, SimpleNamespace(is_world_process_zero=False, global_step=7), None, logs={"loss": 1.0})
    callback.on_train_end(None, state, None)
    assert rec.logged == [({"rl/loss": 0.5, "rl/weights/ctcvr": 0.3}, 7)]
    assert rec.summaries == [{"rl/global_step": 7}]


def test_trainer_callback_inside_a_real_trainer(tiny_lm, tokenizer, tmp_path):
    from datasets import Dataset
    from transformers import Trainer, TrainingArguments

    ids = tokenizer(["hello world"] * 4)["input_ids"]
    data = Dataset.from_dict({"input_ids": ids, "labels": ids})
    rec = Recorder()
    args = TrainingArguments(output_dir=str(tmp_path), max_steps=2, logging_steps=1, report_to="none", per_device_train_batch_size=2, use_cpu=True)
    Trainer(model=tiny_lm, args=args, train_dataset=data, callbacks=[RunLoggerCallback(rec)]).train()
    steps = [step for metrics, step in rec.logged if "loss" in metrics]
    assert steps == [1, 2]
