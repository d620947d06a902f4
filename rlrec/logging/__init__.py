"""Run logging: a local run dir always, W&B optionally, a null logger elsewhere — one protocol for all.

``build_logger(config.logger, run_dir, asdict(config), reward_metadata)`` at the entry point; loops call
``log`` / ``summary`` / ``close``. :class:`RunLoggerCallback` (``rlrec.logging.callback``; imports
transformers) forwards Trainer logs to the same logger.
"""

from typing import Any

from rlrec.logging.base import LOGGERS, MultiLogger, NullLogger, RunLogger, build_logger
from rlrec.logging.local import LocalRunLogger

__all__ = ["LOGGERS", "LocalRunLogger", "MultiLogger", "NullLogger", "RunLogger", "RunLoggerCallback", "build_logger"]


def __getattr__(name: str) -> Any:
    if name == "RunLoggerCallback":  # lazy: importing transformers costs seconds
        from rlrec.logging.callback import RunLoggerCallback

        return RunLoggerCallback
    raise AttributeError(name)
