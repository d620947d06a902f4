"""Training the alignment reward model in either mode, with offline ranking evaluation and checkpoint
selection by F1@K (seed 003 §5.2: top-K identification matters more than reproducing the full order).

Modes are registered in :data:`RM_MODES` (``pointwise``, ``pairwise``); each builds a Hugging Face trainer
over the mode's rows. Both get the same :class:`RankingEvalCallback`, which every ``eval_every`` steps scores
the held-out ranking groups, records the learning curve, and saves the best-F1 model as a plain
sequence-classification folder (``best/``), which is what the ``alignment_score`` reward loads.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import Trainer, TrainerCallback, TrainingArguments

from rlrec.alignment.feedback import FeedbackSplit, pairwise_rows, pointwise_rows
from rlrec.alignment.losses import pointwise_loss
from rlrec.alignment.ranking import RankingGroup, evaluate_ranking
from rlrec.alignment.reward_model import encode, load_reward_model, pad_batch, save_reward_model, score
from rlrec.config import RewardModelConfig
from rlrec.registry import Registry

log = logging.getLogger(__name__)

# name → builder(model, tokenizer, split, config, args_kwargs, callbacks) -> Trainer
RM_MODES: Registry[Callable[..., Trainer]] = Registry("reward-model mode")


# ------------------------------------------------------------------------------------------- pointwise


class PointwiseTrainer(Trainer):
    """``Trainer`` with the pointwise loss. Overrides only ``compute_loss``: soft-label BCE between
    sigmoid(score) and the normalised feedback score (:func:`~rlrec.alignment.losses.pointwise_loss`)."""

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        labels = inputs.pop("labels")  # [B]
        outputs = model(**inputs, use_cache=False)
        loss = pointwise_loss(outputs.logits.squeeze(-1), labels)
        return (loss, outputs) if return_outputs else loss


@dataclass
class PointwiseCollator:
    """Pads pre-tokenised rows ``{"input_ids", "label"}`` into ``input_ids``/``attention_mask`` [B, T], ``labels`` [B]."""

    pad_token_id: int

    def __call__(self, rows: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        batch = pad_batch([r["input_ids"] for r in rows], self.pad_token_id)
        batch["labels"] = torch.tensor([r["label"] for r in rows], dtype=torch.float)
        return batch


@RM_MODES.register("pointwise", loss="soft-label cross-entropy on sigmoid(score)")
def build_pointwise(model, tokenizer, split: FeedbackSplit, config: RewardModelConfig, args: dict, callbacks):
    from datasets import Dataset

    rows = pointwise_rows(split.train_points)
    if not rows:
        raise ValueError("no pointwise training rows: every feedback context was held out (lower eval_fraction)")
    ids = encode(tokenizer, [r["text"] for r in rows], config.max_length)
    data = Dataset.from_dict({"input_ids": ids, "label": [r["label"] for r in rows]})
    return PointwiseTrainer(
        model=model,
        args=TrainingArguments(**args, remove_unused_columns=False),
        train_dataset=data,
        data_collator=PointwiseCollator(tokenizer.pad_token_id),
        processing_class=tokenizer,
        callbacks=callbacks,
    )


# -------------------------------------------------------------------------------------------- pairwise


@RM_MODES.register("pairwise", loss="Bradley-Terry (TRL RewardTrainer)")
def build_pairwise(model, tokenizer, split: FeedbackSplit, config: RewardModelConfig, args: dict, callbacks):
    from datasets import Dataset
    from trl import RewardConfig, RewardTrainer

    rows = pairwise_rows(split.train_pairs)
    if not rows:
        raise ValueError(
            "no pairwise training rows: the simulator's pairwise feedback export is empty or every context was held "
            "out (check feedback/pairwise.jsonl in the simulator artifact, or lower eval_fraction)"
        )
    # Pre-tokenised with the same encoding as scoring (RewardTrainer would otherwise append an EOS token,
    # which is also SmolLM2's pad token, and tokenise differently from `score`).
    columns = {
        "chosen_ids": encode(tokenizer, [r["chosen"] for r in rows], config.max_length),
        "rejected_ids": encode(tokenizer, [r["rejected"] for r in rows], config.max_length),
    }
    if config.use_margin:
        columns["margin"] = [r["margin"] for r in rows]
    return RewardTrainer(
        model=model,
        args=RewardConfig(**args, max_length=None, disable_dropout=True, center_rewards_coefficient=config.center_rewards),
        train_dataset=Dataset.from_dict(columns),
        processing_class=tokenizer,
        callbacks=callbacks,
    )


# ---------------------------------------------------------------------------------- eval + selection


class RankingEvalCallback(TrainerCallback):
    """Every ``every`` optimizer steps (and before the first and after the last): F1@K / NDCG@K of the model
    on the held-out groups next to the random baseline; keeps the best-F1 model in ``best_dir``.

    Ties on F1 go to the *earlier* checkpoint (the paper's over-training warning: beyond convergence the
    model overfits without a better F1)."""

    def __init__(self, groups: Sequence[RankingGroup], k: int, every: int, best_dir: Path, random_draws: int, seed: int,
                 on_eval: Callable[[dict[str, Any]], None] | None = None):
        self.groups, self.k, self.every, self.best_dir = list(groups), k, every, Path(best_dir)
        self.random_draws, self.seed, self.on_eval = random_draws, seed, on_eval
        self.history: list[dict[str, float | None]] = []
        self.best: dict[str, float] | None = None

    def evaluate(self, model, tokenizer, step: int, train_loss: float | None) -> dict[str, float]:
        contexts = [g.context for g in self.groups for _ in g.candidates]
        candidates = [c for g in self.groups for c in g.candidates]
        flat = score(model, tokenizer, contexts, candidates)  # [sum N_g]
        splits = np.cumsum([len(g.candidates) for g in self.groups])[:-1]
        report = evaluate_ranking(self.groups, np.split(flat, splits), self.k, self.random_draws, self.seed)
        row = {"step": step, "train_loss": train_loss, **report.as_dict()}  # train_loss None before any step
        self.history.append(row)
        if self.best is None or row["f1"] > self.best["f1"] + 1e-9:  # float noise is a tie, not an improvement
            self.best = row
            save_reward_model(model, tokenizer, self.best_dir)
        if self.on_eval is not None:
            self.on_eval(row)
        log.info("step %d: F1@%d %.4f (random %.4f)  NDCG@%d %.4f (random %.4f)", step, self.k, row["f1"],
                 row["random_f1"], self.k, row["ndcg"], row["random_ndcg"])
        return row

    @staticmethod
    def _last_loss(state) -> float | None:
        losses = [e["loss"] for e in state.log_history if "loss" in e]
        return float(losses[-1]) if losses else None

    def on_train_begin(self, args, state, control, model=None, processing_class=None, **kwargs):
        self.evaluate(model, processing_class, 0, None)

    def on_step_end(self, args, state, control, model=None, processing_class=None, **kwargs):
        if state.global_step % self.every == 0 and state.global_step < state.max_steps:
            self.evaluate(model, processing_class, state.global_step, self._last_loss(state))

    def on_train_end(self, args, state, control, model=None, processing_class=None, **kwargs):
        self.evaluate(model, processing_class, state.global_step, self._last_loss(state))


@dataclass
class RewardModelResult:
    mode: str
    best_dir: Path
    best: dict[str, float]  # the selected checkpoint's eval row
    final: dict[str, float]  # the last eval row
    history: list[dict[str, float]]
    train_log: list[dict[str, float]]  # the trainer's log_history (loss every logging step)
    train_seconds: float = float("nan")  # wall time of training incl. the offline evaluations


def train_reward_model(
    mode: str,
    split: FeedbackSplit,
    config: RewardModelConfig,
    k: int,
    out_dir: Path,
    dtype: str = "float32",
    seed: int = 0,
    callbacks: Sequence[TrainerCallback] = (),
    on_eval: Callable[[dict[str, Any]], None] | None = None,
) -> RewardModelResult:
    """Train one reward model in ``mode`` on ``split``; the best-F1@K checkpoint is saved to ``out_dir/best``.

    ``callbacks`` are extra trainer callbacks (e.g. the run logger's); ``on_eval`` receives every offline
    evaluation row (step, train_loss, f1, ndcg, random_f1, random_ndcg, …)."""
    build = RM_MODES.get(mode)
    out_dir = Path(out_dir)
    torch.manual_seed(seed)
    model, tokenizer = load_reward_model(config.backbone, config, dtype)
    callback = RankingEvalCallback(split.groups, k, config.eval_every, out_dir / "best", config.random_draws, seed,
                                   on_eval)
    args = dict(
        output_dir=str(out_dir / "trainer"),
        max_steps=config.max_steps,
        per_device_train_batch_size=config.batch_size,
        learning_rate=config.learning_rate,
        weight_decay=config.weight_decay,
        warmup_steps=config.warmup_ratio,
        lr_scheduler_type="linear",
        logging_steps=config.logging_steps,
        save_strategy="no",
        report_to=[],
        seed=seed,
        bf16=dtype == "bfloat16",
        activation_checkpointing=False,  # tiny inputs; TRL's configs default to True
        dataloader_num_workers=0,
    )
    trainer = build(model, tokenizer, split, config, args, [callback, *callbacks])
    started = time.perf_counter()
    trainer.train()
    train_log = [e for e in trainer.state.log_history if "loss" in e]
    for row in callback.history:  # Trainer logs after on_step_end: attach the loss logged at or before each eval
        logged = [e["loss"] for e in train_log if e["step"] <= row["step"]]
        row["train_loss"] = float(logged[-1]) if logged else None
    result = RewardModelResult(
        mode=mode,
        best_dir=out_dir / "best",
        best=dict(callback.best or {}),
        final=dict(callback.history[-1]),
        history=callback.history,
        train_log=train_log,
        train_seconds=time.perf_counter() - started,
    )
    (out_dir / "eval_history.json").write_text(json.dumps(
        {"mode": mode, "k": k, "best": result.best, "history": result.history, "train_log": result.train_log,
         "train_seconds": result.train_seconds, "config": asdict(config)}, indent=1, default=str))
    return result


def load_result(out_dir: Path) -> RewardModelResult:
    """The :class:`RewardModelResult` a finished :func:`train_reward_model` wrote to ``out_dir``."""
    data = json.loads((Path(out_dir) / "eval_history.json").read_text())
    return RewardModelResult(data["mode"], Path(out_dir) / "best", data["best"], data["history"][-1], data["history"],
                             data["train_log"], data.get("train_seconds", float("nan")))
