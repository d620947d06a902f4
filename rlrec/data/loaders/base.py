"""The data-loader registry and the one entry point, :func:`load_log`.

A loader is a function ``(cfg: DataConfig) -> InteractionLog`` registered under the name that
``conf/data/<name>.yaml`` sets as ``data.name``. Loaders count every row they drop in
``InteractionLog.skipped`` (reason → count); they never drop data silently.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from rlrec.config import DataConfig
from rlrec.data.schema import InteractionLog
from rlrec.registry import Registry

log = logging.getLogger(__name__)

Loader = Callable[[DataConfig], InteractionLog]

DATA_LOADERS: Registry[Loader] = Registry("data loader")


class DataFormatError(ValueError):
    """A user-supplied data file is malformed. The message names the file, line, field and the fix."""


def load_log(cfg: DataConfig) -> InteractionLog:
    """Load the dataset named by ``cfg.name`` through :data:`DATA_LOADERS` and log what it holds."""
    loader = DATA_LOADERS.get(cfg.name)
    start = time.perf_counter()
    result = loader(cfg)
    seconds = time.perf_counter() - start
    log.info(
        "loaded %s in %.2f s: %d users, %d items, %d interactions, skipped %s",
        cfg.name, seconds, len(result.histories), len(result.catalog), result.num_interactions,
        dict(result.skipped) or "nothing",
    )
    return result
