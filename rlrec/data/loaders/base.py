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
    """Load the dataset named by ``cfg.name`` through :data:`DATA_LOADERS` and log what it holds.

    Raises :class:`DataFormatError` when nothing usable is left or the loader skipped more than
    ``cfg.max_skipped_share`` of the rows; identical rows are dropped or kept per ``cfg.duplicates``.
    """
    loader = DATA_LOADERS.get(cfg.name)
    start = time.perf_counter()
    result = loader(cfg)
    check_skipped(result, cfg)
    result = restrict_catalogue(drop_duplicates(result, cfg.duplicates), cfg.catalogue)
    seconds = time.perf_counter() - start
    log.info(
        "loaded %s in %.2f s: %d users, %d items (data.catalogue=%s), %d interactions, skipped %s",
        cfg.name, seconds, len(result.histories), len(result.catalog), cfg.catalogue, result.num_interactions,
        dict(result.skipped) or "nothing",
    )
    return result


def check_skipped(data: InteractionLog, cfg: DataConfig) -> None:
    """Fail on an empty log, or when the skipped share of interaction rows exceeds ``cfg.max_skipped_share``."""
    skipped = sum(data.skipped.values())
    total = data.num_interactions + skipped
    reasons = "; ".join(f"{reason}: {n:,}" for reason, n in data.skipped.most_common()) or "none skipped"
    if data.num_interactions == 0:
        raise DataFormatError(f"data {cfg.name!r} ({data.description or cfg.path}) has no usable interactions "
                              f"({total:,} rows; {reasons}). Fix the data files (docs/data_format.md).")
    if not len(data.catalog):
        raise DataFormatError(f"data {cfg.name!r} ({data.description or cfg.path}) has an empty catalogue; "
                              "fix the items file (docs/data_format.md).")
    share = skipped / total
    if share > cfg.max_skipped_share:
        raise DataFormatError(
            f"data {cfg.name!r} ({data.description or cfg.path}): {skipped:,} of {total:,} interaction rows "
            f"({share:.0%}) were skipped, more than data.max_skipped_share={cfg.max_skipped_share:g}. Reasons: "
            f"{reasons}. Fix the data (docs/data_format.md), or set data.max_skipped_share={min(1.0, share + 0.01):.2f} "
            "to train on what is left.")


def drop_duplicates(data: InteractionLog, policy: str) -> InteractionLog:
    """Identical events of a user (same item, time, behaviour, rating, label, group; ``seq`` and attributes are
    not compared) are counted in ``data.duplicates``; ``policy="drop"`` keeps the first of each and counts the
    others in ``data.skipped`` too, ``"keep"`` keeps them all."""
    count = 0
    for user, events in data.histories.items():
        seen: set[tuple] = set()
        kept = []
        for event in events:
            key = (event.item_id, event.time, event.behavior, event.rating, event.label, event.group)
            if key in seen:
                count += 1
                if policy == "drop":
                    continue
            seen.add(key)
            kept.append(event)
        data.histories[user] = kept
    data.duplicates = count
    if count and policy == "drop":
        data.skipped["duplicate interaction (data.duplicates=drop)"] += count
    if count:
        log.warning("%s: %d duplicate interactions (same user, item, time, behaviour, rating, label, group) %s "
                    "(data.duplicates=%s)", data.name, count, "dropped" if policy == "drop" else "kept", policy)
    return data


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
