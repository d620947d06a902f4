"""Typed configs → TRL objects: ``GRPOConfig`` from :class:`RLConfig`, PEFT ``LoraConfig``, and the trainer.

The entry point (``experiments/train_rl.py``) and the benchmark build trainers through :func:`build_trainer`,
so a run and its benchmark use the same settings. Reward functions arrive as plain TRL callables with their
names and initial weights (``rewards.RewardSet`` at the entry point; hand-written callables in tests).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rlrec.config import LoraConfig, ModelConfig, RLConfig, WeightingConfig
from rlrec.lora import peft_lora_config
from rlrec.weighting import WeightingStrategy, build_strategy

__all__ = ["grpo_args", "peft_config", "build_trainer"]


def grpo_args(rl: RLConfig, model: ModelConfig, output_dir: Path | str, seed: int = 0, **overrides: Any):
    """TRL ``GRPOConfig`` for the RL stage. ``overrides`` set any other GRPOConfig field (tests, benchmarks)."""
    from trl import GRPOConfig

    kwargs: dict[str, Any] = dict(
        output_dir=str(output_dir),
        seed=seed,
        # rollouts
        num_generations=rl.num_generations,
        per_device_train_batch_size=rl.batch_size,
        gradient_accumulation_steps=rl.grad_accum,
        max_completion_length=rl.max_completion_length or model.max_new_tokens,
        temperature=rl.temperature if rl.temperature is not None else model.temperature,
        top_p=rl.top_p if rl.top_p is not None else model.top_p,
        # optimisation
        learning_rate=rl.learning_rate,
        lr_scheduler_type=rl.lr_scheduler,
        warmup_steps=rl.warmup_ratio,  # transformers 5: a float in [0, 1) is a ratio of the total steps
        weight_decay=rl.weight_decay,
        num_train_epochs=rl.epochs,
        max_steps=rl.max_steps,
        # objective
        beta=rl.beta,
        epsilon=rl.epsilon,
        epsilon_high=rl.epsilon_high,
        loss_type=rl.loss_type,
        num_iterations=rl.num_iterations,
        scale_rewards=rl.scale_rewards,
        multi_objective_aggregation=rl.multi_objective_aggregation,
        mask_truncated_completions=rl.mask_truncated_completions,
        # runtime
        use_vllm=rl.use_vllm,
        vllm_mode=rl.vllm_mode,
        bf16=rl.bf16,
        activation_checkpointing=rl.gradient_checkpointing,  # transformers 5 name of gradient_checkpointing
        model_init_kwargs={"dtype": model.dtype},
        logging_steps=rl.logging_steps,
        save_strategy="steps",
        save_steps=rl.save_steps,
        save_total_limit=rl.save_total_limit,
        log_completions=rl.log_completions,
        report_to="none",  # metrics go through rlrec.logging.RunLoggerCallback
    )
    kwargs.update(overrides)
    return GRPOConfig(**kwargs)


def peft_config(lora: LoraConfig):
    """PEFT ``LoraConfig`` for the policy, or None for full fine-tuning (``lora.enabled: false``)."""
    return peft_lora_config(lora, task_type="CAUSAL_LM")


def build_trainer(
    *,
    rl: RLConfig,
    model_config: ModelConfig,
    weighting: WeightingConfig | WeightingStrategy,
    policy: Any,
    reward_funcs: Sequence[Callable],
    reward_names: Sequence[str],
    train_dataset: Any,
    output_dir: Path | str,
    initial_weights: Sequence[float] | None = None,
    seed: int = 0,
    processing_class: Any = None,
    reward_stats: Callable[[], dict[str, float]] | None = None,
    callbacks: list | None = None,
    **grpo_overrides: Any,
):
    """A :class:`WeightedGRPOTrainer` for ``policy`` (a path / id, or a model object) and the given rewards.

    ``weighting``: a config (the strategy is built here, initial weights = ``weighting.initial_weights`` or
    ``initial_weights``) or an already-built strategy.
    """
    from rlrec.fused_head import score_labelled_positions_only
    from rlrec.trainers.grpo import WeightedGRPOTrainer

    score_labelled_positions_only()  # the prompt tokens carry no label: do not project them on CPU either
    if len(reward_funcs) != len(reward_names):
        raise ValueError(f"{len(reward_funcs)} reward functions but {len(reward_names)} reward names")
    strategy = (
        weighting
        if isinstance(weighting, WeightingStrategy)
        else build_strategy(weighting, reward_names, initial_weights)
    )
    args = grpo_args(rl, model_config, output_dir, seed=seed, **grpo_overrides)
    return WeightedGRPOTrainer(
        model=policy,
        reward_funcs=list(reward_funcs),
        args=args,
        train_dataset=train_dataset,
        processing_class=processing_class,
        peft_config=peft_config(rl.lora),
        callbacks=callbacks,
        strategy=strategy,
        reward_names=reward_names,
        reward_stats=reward_stats,
    )
