"""The run-logger protocol, the null and fan-out loggers, and the one place that picks backends.

Training and evaluation code call ``logger.log(metrics, step)`` / ``logger.summary(values)`` /
``logger.close()`` on whatever :func:`build_logger` returned — a :class:`MultiLogger` over the configured
backends, or a :class:`NullLogger` on non-main ranks — so loops never branch on W&B being enabled.

Summary conventions (read by ``analysis/``): ``eval/<label>/<metric>`` for evaluation metrics,
``objective/<name>`` for the final objective vector, and ``higher_is_better: {name: bool}`` giving the
direction of every objective and reward (merged across ``summary`` calls).
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from rlrec.config import LoggerConfig
from rlrec.registry import Registry

__all__ = ["RunLogger", "NullLogger", "MultiLogger", "LOGGERS", "build_logger", "plain", "merge_summary"]

log = logging.getLogger(__name__)


@runtime_checkable
class RunLogger(Protocol):
    def log(self, metrics: Mapping[str, Any], step: int) -> None:
        """Per-step scalars (``reward/<name>/mean``, ``weights/<reward>``, ``loss`` …) at ``step``."""
        ...

    def summary(self, values: Mapping[str, Any]) -> None:
        """Final values of the run (merged into earlier summary values)."""
        ...

    def close(self) -> None: ...


class NullLogger:
    """Discards everything (non-main ranks, tests, library calls without a run)."""

    def log(self, metrics: Mapping[str, Any], step: int) -> None:
        pass

    def summary(self, values: Mapping[str, Any]) -> None:
        pass

    def close(self) -> None:
        pass


class MultiLogger:
    """Fans every call out to several loggers; ``close`` closes them all even if one fails."""

    def __init__(self, loggers: list[RunLogger]) -> None:
        self.loggers = list(loggers)

    def log(self, metrics: Mapping[str, Any], step: int) -> None:
        for logger in self.loggers:
            logger.log(metrics, step)

    def summary(self, values: Mapping[str, Any]) -> None:
        for logger in self.loggers:
            logger.summary(values)

    def close(self) -> None:
        errors = []
        for logger in self.loggers:
            try:
                logger.close()
            except Exception as err:  # keep closing the others; re-raise the first afterwards
                errors.append(err)
        if errors:
            raise errors[0]


def plain(value: Any) -> Any:
    """A JSON/YAML-safe copy: dataclasses → dicts, tensors and numpy scalars → numbers, tuples → lists,
    paths → strings, NaN/inf → None. Used for run summaries, evaluation files and artifact hashes alike."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item") and getattr(value, "ndim", 0) == 0 and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def merge_summary(current: dict[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """``current`` updated with ``values``; dict values (e.g. ``higher_is_better``) are merged one level deep."""
    for key, value in plain(values).items():
        if isinstance(value, dict) and isinstance(current.get(key), dict):
            current[key] = {**current[key], **value}
        else:
            current[key] = value
    return current


# A backend factory: (logger config, run dir, run config as a plain dict, reward metadata) -> RunLogger
Factory = Callable[[LoggerConfig, Path, Mapping[str, Any], Mapping[str, Mapping[str, Any]]], RunLogger]
LOGGERS: Registry[Factory] = Registry("logger backend")


def build_logger(
    config: LoggerConfig,
    run_dir: str | Path,
    run_config: Mapping[str, Any] | None = None,
    reward_metadata: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    main_process: bool = True,
) -> RunLogger:
    """The run's logger: the local run dir always, plus every backend in ``config.backends``.

    ``reward_metadata`` maps reward name → registry metadata (``higher_is_better``, ``range``, …) and is
    saved with the run so analysis reads each objective's direction. Non-main ranks get a NullLogger.
    """
    if not main_process:
        return NullLogger()
    import rlrec.logging.local  # noqa: F401  (registers "local")
    import rlrec.logging.wandb_logger  # noqa: F401  (registers "wandb"; wandb itself is imported lazily)

    names = ["local"] + [b for b in dict.fromkeys(config.backends) if b != "local"]
    run_dir = Path(run_dir)
    loggers = [LOGGERS.get(name)(config, run_dir, dict(run_config or {}), dict(reward_metadata or {})) for name in names]
    log.info("run logging to %s via %s", run_dir, ", ".join(names))
    return MultiLogger(loggers)


LOGGERS.add("null", lambda config, run_dir, run_config, reward_metadata: NullLogger(), description="discard")
