"""A toy RecGPT world: four departments, 48 users who each buy in one of them, prepared splits with one target per
user (their last basket), so towers, prompts, explanations and self-training run in seconds."""

from __future__ import annotations

import numpy as np

from rlrec.data.examples import Example
from rlrec.data.prepare import PreparedData
from rlrec.data.schema import Catalog, Interaction, InteractionLog, Item

# top-level (broad) and finest category of each toy department; item titles are "<finest> item <j>"
DEPARTMENTS = {"produce": "fruit", "dairy eggs": "yogurt", "bakery": "bread", "frozen": "ice cream"}
ORDERS, BASKET = 6, 3


def toy_log() -> InteractionLog:
    items = [Item(f"{fine.split()[0]}{j}", f"{fine} item {j}", (top, fine))
             for top, fine in DEPARTMENTS.items() for j in range(6)]
    rng = np.random.default_rng(0)
    histories = {}
    for u in range(48):  # user u buys only in department u % 4
        prefix = list(DEPARTMENTS.values())[u % 4].split()[0]
        histories[f"u{u}"] = [Interaction(f"u{u}", f"{prefix}{int(rng.integers(6))}", float(order),
                                          seq=order * BASKET + s, group=f"u{u}o{order}")
                              for order in range(ORDERS) for s in range(BASKET)]
    return InteractionLog("toy-recgpt", Catalog(items), histories, time_unit_s=86400.0)


def toy_prepared() -> PreparedData:
    """Splits of 16 users each (sft: u0-u15, rl: u16-u31, test: u32-u47); the target is the last basket's first item."""
    log = toy_log()
    index = (ORDERS - 1) * BASKET
    splits: dict[str, list[Example]] = {}
    for n, name in enumerate(("sft", "rl", "test")):
        splits[name] = []
        for u in range(16 * n, 16 * (n + 1)):
            event = log.histories[f"u{u}"][index]
            item = log.catalog[event.item_id]
            splits[name].append(Example(f"u{u}#{index}", f"u{u}", "", item.item_id, item.title, item.categories,
                                        item.text(), [], event.time))
    return PreparedData(log, splits, {"dataset": log.name})
