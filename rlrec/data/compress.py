"""RecGPT §2.1.1 hierarchical behaviour compression of a history window.

1. Time partition (relative to the target): daily within a month ("today", "3 days ago"), monthly within
   a year ("2 months ago"), yearly beyond ("2 years ago").
2. Step 1, temporal-behavioural aggregation: (period, behaviour) → the items seen in it.
3. Step 2, item-based reverse aggregation: items whose set of (period, behaviour) contexts is identical
   share one line, ``period (behaviour, …), period (…) | items`` — a product re-bought in five orders is
   written once, with its five periods.
4. Item-level compression (deterministic, no LLM): inside a line, items are grouped under their category
   path, ``produce/fresh fruits: Banana, Strawberries; dairy eggs/milk: …``, instead of repeating
   ``Item title: …; Category L1: …; Category L2: …`` per event.

Lines are ordered by their most recent context (most recent first), so the prompt token budget can drop
the oldest lines exactly as it drops the oldest uncompressed lines.

Data without timestamps (``InteractionLog.timed`` False, ``time_unit_s=None`` here) has no age to partition
by: the periods are then blocks of :data:`POSITION_BLOCK` positions counted back from the most recent event
("positions 1-10", "positions 11-20"), and the prompt header says that the data has no time. With
``levels=0`` (a catalogue without categories) items are listed by title only.

:func:`compact_lines` (one ``category/path: title`` line per event, no aggregation) is a measuring
baseline only: it separates the gain of dropping the ``Item title: …; Category L1: …`` labels from the
gain of the aggregation itself (both are reported in the data card).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from rlrec.data.schema import Catalog, Interaction

DAY_S = 86400.0
POSITION_BLOCK = 10  # events per period when the data has no timestamps


def position_period(position: int) -> tuple[int, int, str]:
    """(rank, block, label) of a 0-based position in a most-recent-first window of untimed events."""
    block = position // POSITION_BLOCK
    return 0, block, f"positions {block * POSITION_BLOCK + 1}-{(block + 1) * POSITION_BLOCK}"


def period_of(age_s: float) -> tuple[int, int, str]:
    """(granularity rank, amount, label) of an age in seconds; rank 0 = days, 1 = months, 2 = years."""
    days = max(age_s, 0.0) / DAY_S
    if days < 30:
        n = int(days)
        return 0, n, "today" if n == 0 else f"{n} day{'s' if n > 1 else ''} ago"
    if days < 365:
        n = int(days // 30)
        return 1, n, f"{n} month{'s' if n > 1 else ''} ago"
    n = int(days // 365)
    return 2, n, f"{n} year{'s' if n > 1 else ''} ago"


def behavior_label(event: Interaction) -> str:
    """``purchase`` / ``rated 4`` / ``click, rated 4``."""
    if event.rating is None:
        return event.behavior
    return f"rated {event.rating:g}" if event.behavior == "rating" else f"{event.behavior}, rated {event.rating:g}"


@dataclass(frozen=True)
class CompressedLine:
    text: str
    item_ids: frozenset[str]


def compress_window(window: Sequence[Interaction], catalog: Catalog, target_time: float, time_unit_s: float | None,
                    levels: int) -> list[CompressedLine]:
    """Compress a most-recent-first history window into lines (most recent first), per the module docstring.

    ``target_time`` and event times are in the log's units; ``time_unit_s`` converts them to seconds (None: the
    data has no timestamps, periods are position blocks).
    """
    # Step 1: (period, behaviour) keys; an item's contexts, kept in first-seen (recency) order.
    contexts: dict[str, dict[tuple[tuple[int, int, str], str], None]] = defaultdict(dict)
    for position, event in enumerate(window):
        period = (position_period(position) if time_unit_s is None
                  else period_of((target_time - event.time) * time_unit_s))
        contexts[event.item_id][(period, behavior_label(event))] = None

    # Step 2: reverse — items with the identical context signature share a line.
    lines: dict[tuple, list[str]] = defaultdict(list)
    for item_id, ctx in contexts.items():
        lines[tuple(ctx)].append(item_id)

    rendered = []
    for signature, item_ids in lines.items():
        periods: dict[tuple[int, int, str], list[str]] = defaultdict(list)
        for period, behavior in signature:
            if behavior not in periods[period]:
                periods[period].append(behavior)
        ordered = sorted(periods)  # (rank, amount) ascending = most recent first
        when = ", ".join(f"{label} ({', '.join(periods[(rank, n, label)])})" for rank, n, label in ordered)
        rendered.append((ordered[0][:2], when, item_ids))
    rendered.sort(key=lambda r: r[0])  # stable: ties keep first-seen (recency) order

    return [CompressedLine(f"{when} | {_items_by_category(item_ids, catalog, levels)}", frozenset(item_ids))
            for _, when, item_ids in rendered]


def _items_by_category(item_ids: Sequence[str], catalog: Catalog, levels: int) -> str:
    if levels == 0:
        return ", ".join(catalog[item_id].title for item_id in item_ids)
    groups: dict[str, list[str]] = defaultdict(list)
    for item_id in item_ids:
        item = catalog[item_id]
        path = "/".join(c for c in item.categories[:levels] if c) or "uncategorised"
        groups[path].append(item.title)
    return "; ".join(f"{path}: {', '.join(titles)}" for path, titles in groups.items())


def compact_lines(window: Sequence[Interaction], catalog: Catalog, levels: int) -> list[str]:
    """Measuring baseline: ``N. produce/fresh fruits: Banana (rated 4)`` per event, no aggregation."""
    lines = []
    for n, event in enumerate(window, start=1):
        item = catalog[event.item_id]
        path = "/".join(c for c in item.categories[:levels] if c) or "uncategorised"
        rating = f" (rated {event.rating:g})" if event.rating is not None else ""
        lines.append(f"{n}. {path + ': ' if levels else ''}{item.title}{rating}")
    return lines
