"""RecGPT's cached stages (:mod:`rlrec.stages`), added to the pipeline's stage table by ``experiments/stages.py``.

``tri_tower``: the tag-aware tri-tower and the plain two-tower baseline (same data, same sizes, L_col only)
trained on every user's events before their first target (``<folder>/tri``, ``<folder>/two``).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rlrec.stages import RunContext, Stage

__all__ = ["recgpt_stages", "target_cuts", "train_tower_pair"]

log = logging.getLogger("rlrec")


def target_cuts(prepared: Any) -> dict[str, int]:
    """user → index of their earliest target over all splits (events from its moment on are never trained on)."""
    cuts: dict[str, int] = {}
    for examples in prepared.splits.values():
        for example in examples:
            index = int(example.example_id.rsplit("#", 1)[1])
            cuts[example.user_id] = min(index, cuts.get(example.user_id, index))
    return cuts


def train_tower_pair(prepared: Any, cfg: Any, folder: Path) -> Path:
    """Train the tri-tower (``cfg``) and the two-tower baseline (``cfg`` with ``semantic=False``) into ``folder``."""
    from rlrec.recgpt.towers import moment_start, save_towers, train_towers, training_pairs

    log_ = prepared.log
    cuts = {u: moment_start(log_.histories[u], i) for u, i in target_cuts(prepared).items()}
    pairs = training_pairs(log_.histories, cuts, cfg.history_len)
    for name, semantic in (("tri", True), ("two", False)):
        start = time.perf_counter()
        model, vocab, losses = train_towers(log_.catalog, log_.users, pairs, dataclasses.replace(cfg, semantic=semantic),
                                            progress=True)
        save_towers(model, vocab, folder / name, {"losses": losses, "pairs": len(pairs[0]),
                                                  "seconds": round(time.perf_counter() - start, 1)})
    return folder


def recgpt_stages(data_fingerprint: Callable[[RunContext], Any]) -> dict[str, Stage]:
    """The stages, keyed with the pipeline's data fingerprint function."""
    tri_tower = Stage(
        "tri_tower", requires=("data",),
        key=lambda c: (c.config.data, data_fingerprint(c), c.config.task.towers),
        run=lambda c, folder: train_tower_pair(c.product("data"), c.config.task.towers, folder),
        load=lambda c, folder: folder,
        info=lambda folder: {"pairs": json.loads((folder / "tri" / "towers.json").read_text())["pairs"]},
        doc="RecGPT §2.3 tri-tower (user / item / tag) and the two-tower baseline, trained on the logs")
    return {s.name: s for s in (tri_tower,)}
