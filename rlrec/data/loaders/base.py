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
from rlrec.data.schema import Catalog, InteractionLog
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
    result = restrict_catalogue(loader(cfg), cfg.catalogue)
    seconds = time.perf_counter() - start
    log.info(
        "loaded %s in %.2f s: %d users, %d items (data.catalogue=%s), %d interactions, skipped %s",
        cfg.name, seconds, len(result.histories), len(result.catalog), cfg.catalogue, result.num_interactions,
        dict(result.skipped) or "nothing",
    )
    return result


CATALOGUE_POOLS = ("logged", "full")


def restrict_catalogue(data: InteractionLog, pool: str) -> InteractionLog:
    """The candidate pool (``data.catalogue``): ``logged`` keeps the items that occur in the log (the only ones
    the simulator has learned anything about: Instacart 14,190 of 49,688), in catalogue order; ``full`` keeps
    every item of the loader's catalogue (answers are grounded against the whole assortment)."""
    if pool == "full":
        return data
    seen = {e.item_id for events in data.histories.values() for e in events}
    if len(seen) == len(data.catalog):
        return data
    data.catalog = Catalog(item for item in data.catalog if item.item_id in seen)
    return data
