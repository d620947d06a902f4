"""Weights & Biases backend (``wandb`` is imported only when this logger is built).

Offline by default: runs are written under ``<run_dir>/wandb`` and can be uploaded later with
``wandb sync <run_dir>/wandb/offline-run-*``. ``logger.mode=online`` logs live when ``WANDB_API_KEY`` is
set; without a key it falls back to offline and says so. The runs of one sweep share ``logger.group``.
Run config = the resolved rlrec config + ``reward_metadata`` + ``run_dir``; the summary carries the final
objective vector (``objective/<name>``), ``eval/<label>/<metric>`` values and ``higher_is_better``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rlrec.config import LoggerConfig
from rlrec.logging.base import LOGGERS, merge_summary, plain

__all__ = ["WandbLogger", "resolve_mode"]

log = logging.getLogger(__name__)
MODES = ("offline", "online", "disabled")


def resolve_mode(mode: str, environ: Mapping[str, str] | None = None) -> str:
    """The W&B mode actually used: ``disabled`` if asked (or ``WANDB_MODE=disabled``), ``online`` only with a
    key in ``WANDB_API_KEY``, else ``offline``."""
    env = os.environ if environ is None else environ
    if mode not in MODES:
        raise ValueError(f"logger.mode must be one of {MODES}, got {mode!r}")
    if mode == "disabled" or env.get("WANDB_MODE") == "disabled":
        return "disabled"
    if mode == "online":
        if env.get("WANDB_API_KEY"):
            return "online"
        log.warning("logger.mode=online but WANDB_API_KEY is not set: logging to W&B offline instead")
    return "offline"


class WandbLogger:
    def __init__(
        self,
        run_dir: str | Path,
        config: Mapping[str, Any],
        reward_metadata: Mapping[str, Mapping[str, Any]],
        settings: LoggerConfig,
    ) -> None:
        import wandb

        run_dir = Path(run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
        self.mode = resolve_mode(settings.mode)
        self.run = wandb.init(
            project=settings.project,
            entity=settings.entity,
            group=settings.group,
            name=settings.name or run_dir.name,
            tags=list(settings.tags) or None,
            config={**plain(config), "reward_metadata": plain(reward_metadata), "run_dir": str(run_dir.resolve())},
            dir=str(run_dir),
            mode=self.mode,
            reinit="create_new",
        )
        self._summary: dict[str, Any] = {}
        directions = {k: bool(m["higher_is_better"]) for k, m in reward_metadata.items() if "higher_is_better" in m}
        if directions:
            self.summary({"higher_is_better": directions})

    def log(self, metrics: Mapping[str, Any], step: int) -> None:
        self.run.log(plain(metrics), step=int(step))

    def summary(self, values: Mapping[str, Any]) -> None:
        changed = {k: merge_summary(self._summary, {k: v})[k] for k, v in plain(values).items()}
        self.run.summary.update(changed)

    def close(self) -> None:
        self.run.finish()


@LOGGERS.register("wandb", description="Weights & Biases (offline by default)")
def _wandb(config: LoggerConfig, run_dir: Path, run_config: Mapping[str, Any], reward_metadata: Mapping[str, Any]):
    return WandbLogger(run_dir, run_config, reward_metadata, config)
