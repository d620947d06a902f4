"""Shared pieces of the config groups: the names libraries accept, ConfigError and the checks."""

from __future__ import annotations

from typing import Any

# Names the libraries accept, checked here so a typo fails when the config is composed, not when its stage starts
# (tests/test_config.py checks each list against the installed library).
LR_SCHEDULERS = (  # transformers.SchedulerType
    "linear", "cosine", "cosine_with_restarts", "polynomial", "constant", "constant_with_warmup", "inverse_sqrt",
    "reduce_lr_on_plateau", "cosine_with_min_lr", "cosine_warmup_with_min_lr", "warmup_stable_decay", "greedy",
)
GRPO_LOSS_TYPES = ("grpo", "bnpo", "dr_grpo", "dapo", "cispo", "sapo", "luspo", "vespo")  # TRL GRPOConfig.loss_type
REWARD_SCALES = ("group", "batch", "none")  # TRL GRPOConfig.scale_rewards
REWARD_AGGREGATIONS = ("sum_then_normalize", "normalize_then_sum")  # TRL GRPOConfig.multi_objective_aggregation
VLLM_MODES = ("colocate", "server")  # TRL GRPOConfig.vllm_mode
# rlrec's own choices, checked the same way
CATALOGUE_POOLS = ("logged", "full")  # data.catalogue: the items answers are grounded against
DUPLICATE_POLICIES = ("drop", "keep")  # data.duplicates
INDEX_ENCODERS = ("embedder", "static")  # simulator.index_encoder (rlrec/simulator/encoders.py)


class ConfigError(ValueError):
    """A config value a user can fix; the message names the key and the fix (entry points print it without a
    traceback)."""


def check_choice(key: str, value: Any, choices: tuple[str, ...]) -> None:
    """Raise naming ``key``, the bad ``value``, the closest choice and all of them."""
    if value not in choices:
        import difflib

        close = difflib.get_close_matches(str(value), choices, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"{key}={value!r} is not one of {', '.join(choices)}.{hint}")


def check_positive(where: str, **values: float) -> None:
    """Raise naming every ``<where>.<name>`` of ``values`` that is not > 0."""
    bad = [f"{where}.{k}={v}" for k, v in values.items() if not v > 0]
    if bad:
        raise ValueError(f"{', '.join(bad)}: must be > 0")

