"""A ``transformers.TrainerCallback`` that forwards trainer logs to a :class:`RunLogger`.

Attach it to any Trainer (TRL's GRPOTrainer / SFTTrainer included) so their metrics — loss, learning
rate, TRL's reward statistics, our ``weights/<reward>`` — land in the same run dir / W&B run as everything
else. Set the trainer's ``report_to="none"`` so transformers does not open a second W&B run.
"""

from __future__ import annotations

import numbers
from typing import Any

from transformers import TrainerCallback

from rlrec.logging.base import RunLogger

__all__ = ["RunLoggerCallback"]


class RunLoggerCallback(TrainerCallback):
    """``on_log`` → ``logger.log(numeric logs, step=state.global_step)`` on the main process only.

    Non-numeric log values (strings, tables) are skipped. ``prefix`` is prepended to every key
    (e.g. ``"sft/"`` so SFT and RL metrics of one pipeline run do not collide).
    """

    def __init__(self, logger: RunLogger, prefix: str = "") -> None:
        self.logger = logger
        self.prefix = prefix

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any) -> None:
        if not logs or not state.is_world_process_zero:
            return
        scalars = {
            f"{self.prefix}{k}": float(v)
            for k, v in logs.items()
            if isinstance(v, numbers.Real) and not isinstance(v, bool)
        }
        if scalars:
            self.logger.log(scalars, step=state.global_step)

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if state.is_world_process_zero:
            self.logger.summary({f"{self.prefix}global_step": state.global_step})
