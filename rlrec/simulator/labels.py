"""Click / conversion labels from logged interactions, the hold-out split and sampled negative impressions.

Every logged interaction is a *click* (an impression the user acted on). What counts as a *conversion*
depends on the dataset and is chosen by a labeler in :data:`LABELERS` (documented in the simulator card):

* ``basket_repurchase`` (Instacart): click = the product is in the order; conversion = the user buys it
  again within the next ``H`` orders (a post-click outcome, like a purchase after a click).
* ``rating_threshold`` (MovieLens, any rated log): click = the item was rated; conversion = rating >=
  threshold (``conversion_min_rating``; null = :data:`LIKED_SHARE` of the log's top rating, 4 on a 1–5 scale,
  8 on a 1–10 scale).

:func:`label_log` warns (log and card) when more than :data:`MAX_CONVERSION_SHARE` of the clicks are
conversions: CTCVR then barely differs from CTR and a threshold is probably on the wrong scale.

A *context* is the user's state at one point in time (an order, or one rating event): the user and the
last ``L`` interactions strictly before it. Impressions (positives and sampled negatives) hang off contexts.

Hold-out split, per user and chronological: the last ``holdout_fraction`` of the labelled orders/events.
For basket data a train order's conversion window must end before the first hold-out order, so the orders
in between are used as history only (``gap``): otherwise a train conversion label would reveal a hold-out
click. Orders whose conversion window runs past the end of the log are history only too (``censored``).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from rlrec.config import SimulatorConfig
from rlrec.data.schema import Interaction, InteractionLog
from rlrec.registry import Registry

__all__ = ["LABELERS", "LabelledLog", "Impressions", "label_log", "resolve_labeler", "sample_negatives",
           "conversion_threshold", "PAD", "LIKED_SHARE", "MAX_CONVERSION_SHARE"]

logger = logging.getLogger(__name__)

PAD = -1  # padding in history matrices of catalogue rows
TRAIN, HOLDOUT = 0, 1
LIKED_SHARE = 0.8  # default conversion threshold = this share of the top rating (4 of 5, 8 of 10)
MAX_CONVERSION_SHARE = 0.95  # above this share of clicks converting, labels and card warn


@dataclass
class LabelledLog:
    """Positive impressions with their labels, grouped by context.

    Dims: ``C`` contexts, ``P`` positives, ``L`` history length. Items are catalogue rows.
    """

    ctx_user: list[str]  # [C]
    ctx_hist: np.ndarray  # [C, L] int64 catalogue rows of the last L interactions before the context, oldest first, PAD-padded left
    ctx_split: np.ndarray  # [C] int8, TRAIN or HOLDOUT
    pos_ctx: np.ndarray  # [P] int64 context of each positive
    pos_item: np.ndarray  # [P] int64 catalogue row
    pos_conv: np.ndarray  # [P] float32 conversion label (0/1)
    labeler: str
    semantics: str  # one paragraph for the card
    counts: Counter = field(default_factory=Counter)  # what was labelled, held out or left unlabelled (and why)
    warnings: list[str] = field(default_factory=list)  # for the log and the card (e.g. nearly every click converts)
    # [C] int64: how many of the user's catalogued events precede the context (its full history length; rlrec.enhance
    # places a user's cut-off at a context with it)
    ctx_past: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def positives(self, split: int) -> np.ndarray:
        """Indices of the positives in ``split`` (TRAIN / HOLDOUT), ``[P_split]``."""
        return np.flatnonzero(self.ctx_split[self.pos_ctx] == split)


@dataclass
class Impressions:
    """Positives plus sampled negatives. ``click`` / ``conv`` are float32 0/1; a negative has conv = 0. ``[N]`` each."""

    ctx: np.ndarray
    item: np.ndarray
    click: np.ndarray
    conv: np.ndarray

    def __len__(self) -> int:
        return len(self.ctx)

    @property
    def ctcvr(self) -> np.ndarray:
        """click AND conversion, ``[N]``."""
        return self.click * self.conv


Labeler = Callable[[InteractionLog, SimulatorConfig], LabelledLog]
LABELERS: Registry[Labeler] = Registry("simulator labeler")


class _Builder:
    """Accumulates contexts and positives while a labeler walks the users."""

    def __init__(self, log: InteractionLog, history_len: int) -> None:
        self.row = {item_id: i for i, item_id in enumerate(log.catalog.ids)}
        self.history_len = history_len
        self.ctx_user: list[str] = []
        self.ctx_hist: list[np.ndarray] = []
        self.ctx_split: list[int] = []
        self.ctx_past: list[int] = []
        self.pos: list[tuple[int, int, float]] = []
        self.counts: Counter = Counter()

    def rows(self, events: list[Interaction]) -> list[int]:
        return [self.row[e.item_id] for e in events if e.item_id in self.row]

    def add_context(self, user: str, past_rows: list[int], split: int, items: dict[int, float]) -> None:
        hist = np.full(self.history_len, PAD, dtype=np.int64)
        recent = past_rows[-self.history_len :]
        if recent:
            hist[-len(recent) :] = recent
        c = len(self.ctx_user)
        self.ctx_user.append(user)
        self.ctx_hist.append(hist)
        self.ctx_split.append(split)
        self.ctx_past.append(len(past_rows))
        self.pos.extend((c, item, conv) for item, conv in items.items())
        self.counts[f"{'train' if split == TRAIN else 'holdout'}_positives"] += len(items)

    def build(self, labeler: str, semantics: str) -> LabelledLog:
        pos = np.array(self.pos, dtype=np.float64).reshape(-1, 3)
        hist = np.stack(self.ctx_hist) if self.ctx_hist else np.zeros((0, self.history_len), dtype=np.int64)
        return LabelledLog(
            ctx_user=self.ctx_user,
            ctx_hist=hist,
            ctx_split=np.array(self.ctx_split, dtype=np.int8),
            pos_ctx=pos[:, 0].astype(np.int64),
            pos_item=pos[:, 1].astype(np.int64),
            pos_conv=pos[:, 2].astype(np.float32),
            labeler=labeler,
            semantics=semantics,
            counts=self.counts,
            ctx_past=np.array(self.ctx_past, dtype=np.int64),
        )


def _holdout_count(n: int, fraction: float) -> int:
    """Hold-out size for ``n`` labelled units: ``round(fraction * n)``, at least 1, at most ``n - 1`` (0 when n < 2)."""
    return 0 if n < 2 else min(n - 1, max(1, int(round(fraction * n))))


@LABELERS.register(
    "basket_repurchase",
    datasets=("instacart",),
    description="click = bought in the order; conversion = bought again within the next H orders",
)
def label_baskets(log: InteractionLog, config: SimulatorConfig) -> LabelledLog:
    """Basket data: one context per order (``Interaction.group``; an event without a group is its own order)."""
    h = config.conversion_horizon
    b = _Builder(log, config.history_len)
    for user in log.users:
        orders: dict[object, list[Interaction]] = {}
        for i, event in enumerate(log.histories[user]):
            orders.setdefault(event.group if event.group is not None else ("event", i), []).append(event)
        baskets = [b.rows(events) for events in orders.values()]
        n_lab = max(0, len(baskets) - h)  # orders whose next H orders are all in the log
        n_hold = _holdout_count(n_lab, config.holdout_fraction)
        first_hold = n_lab - n_hold
        past: list[int] = []
        for t, basket in enumerate(baskets):
            if t < n_lab:
                future = set().union(*baskets[t + 1 : t + 1 + h])
                items = {row: float(row in future) for row in basket}
                if t >= first_hold:
                    b.add_context(user, past, HOLDOUT, items)
                elif t + h < first_hold or n_hold == 0:
                    b.add_context(user, past, TRAIN, items)
                else:
                    b.counts["gap_lines_history_only"] += len(basket)
            else:
                b.counts["censored_lines_history_only"] += len(basket)
            past.extend(basket)
    b.counts["users"] = len(log.users)
    semantics = (
        f"One impression context per order. click = the product is in the order; conversion = the user buys the "
        f"same product again within the next {h} orders (a post-purchase repurchase, the analogue of a conversion "
        f"after a click). The last {h} orders of every user cannot be labelled (their window runs past the log) and "
        f"only serve as history; so do the {h} orders before each user's first hold-out order, whose conversion "
        f"window would overlap the hold-out clicks."
    )
    return b.build("basket_repurchase", semantics)


@LABELERS.register(
    "rating_threshold",
    datasets=("movielens100k",),
    description="click = rated; conversion = rating >= threshold",
)
def label_ratings(log: InteractionLog, config: SimulatorConfig) -> LabelledLog:
    """Rating data: one context per rating event; events without a rating are history only (counted)."""
    b = _Builder(log, config.history_len)
    threshold, how = conversion_threshold(log, config.conversion_min_rating)
    for user in log.users:
        events = [e for e in log.histories[user] if e.item_id in b.row]
        rated = [i for i, e in enumerate(events) if e.rating is not None]
        b.counts["unrated_events_history_only"] += len(events) - len(rated)
        n_hold = _holdout_count(len(rated), config.holdout_fraction)
        first_hold = len(rated) - n_hold
        rows = b.rows(events)
        for k, i in enumerate(rated):
            split = HOLDOUT if k >= first_hold else TRAIN
            b.add_context(user, rows[:i], split, {rows[i]: float(events[i].rating >= threshold)})
    b.counts["users"] = len(log.users)
    semantics = (
        f"One impression context per rating event. click = the user rated the item (interacted with it); "
        f"conversion = the rating is >= {threshold:g} (liked it; {how})."
    )
    return b.build("rating_threshold", semantics)


def conversion_threshold(log: InteractionLog, configured: float | None) -> tuple[float, str]:
    """(threshold, how it was chosen): ``configured`` (``simulator.conversion_min_rating``) when set, else
    :data:`LIKED_SHARE` × the log's highest rating (4.0 on MovieLens' 1–5 stars, 8.0 on a 1–10 scale)."""
    ratings = [e.rating for events in log.histories.values() for e in events if e.rating is not None]
    scale = f"ratings {min(ratings):g}–{max(ratings):g} in this log" if ratings else "no ratings in this log"
    if configured is not None:
        return float(configured), f"simulator.conversion_min_rating; {scale}"
    top = max(ratings) if ratings else 0.0
    if top <= 0:
        raise ValueError(
            f"simulator: cannot derive a conversion threshold for dataset {log.name!r} ({scale}): set "
            "simulator.conversion_min_rating to the rating from which an interaction counts as liked"
        )
    return LIKED_SHARE * top, f"{LIKED_SHARE:g} × the top rating; {scale}; set simulator.conversion_min_rating to change it"


def resolve_labeler(log: InteractionLog, name: str) -> str:
    """``name``, or for ``"auto"`` the labeler registered for ``log.name`` (else by what the data holds:
    ratings → rating_threshold, otherwise basket_repurchase)."""
    if name != "auto":
        LABELERS.get(name)  # raises with "did you mean" for an unknown name
        return name
    for entry_name in LABELERS.names():
        if log.name in LABELERS.metadata(entry_name).get("datasets", ()):
            return entry_name
    has_ratings = any(e.rating is not None for events in log.histories.values() for e in events[:20])
    return "rating_threshold" if has_ratings else "basket_repurchase"


def label_log(log: InteractionLog, config: SimulatorConfig) -> LabelledLog:
    """Contexts, positives and labels for ``log`` by the configured labeler (``simulator.labels``)."""
    name = resolve_labeler(log, config.labels)
    labelled = LABELERS.get(name)(log, config)
    share = float(labelled.pos_conv.mean()) if len(labelled.pos_conv) else 0.0
    labelled.counts["conversions"] = int(labelled.pos_conv.sum())
    if share > MAX_CONVERSION_SHARE:
        fix = ("raise simulator.conversion_min_rating (is it on this log's rating scale?)" if name == "rating_threshold"
               else "lower simulator.conversion_horizon")
        labelled.warnings.append(
            f"{share:.1%} of the labelled clicks are conversions (> {MAX_CONVERSION_SHARE:.0%}) with labeler {name}: "
            f"CTCVR then barely differs from CTR, so the simulator's conversion signal is close to nothing; {fix}"
        )
    for warning in labelled.warnings:
        logger.warning("simulator labels: %s", warning)
    if not len(labelled.positives(TRAIN)):
        raise ValueError(
            f"simulator labels ({name}) left no training interactions in dataset {log.name!r} "
            f"({dict(labelled.counts)}): users need more orders/events than conversion_horizon + 2 "
            f"(simulator.conversion_horizon={config.conversion_horizon}) or lower simulator.holdout_fraction"
        )
    return labelled


def sample_negatives(
    pos_ctx: np.ndarray,
    pos_item: np.ndarray,
    weights: np.ndarray,
    ratio: int,
    rng: np.random.Generator,
    max_rounds: int = 10,
) -> tuple[np.ndarray, np.ndarray, int]:
    """``ratio`` negative items per positive, in the positive's context, drawn with probability ∝ ``weights``.

    A draw that hits a positive of the same context is redrawn (up to ``max_rounds``); what is still
    colliding after that is dropped and its count returned. Returns (ctx [M], item [M], dropped).
    ``pos_ctx`` / ``pos_item``: ``[P]``; ``weights``: ``[I]`` non-negative, e.g. popularity ** alpha.
    """
    num_items = len(weights)
    probs = weights / weights.sum()
    ctx = np.repeat(pos_ctx, ratio)
    item = rng.choice(num_items, size=len(ctx), p=probs)
    positive_keys = np.unique(pos_ctx * num_items + pos_item)
    bad = np.isin(ctx * num_items + item, positive_keys)
    for _ in range(max_rounds):
        if not bad.any():
            break
        item[bad] = rng.choice(num_items, size=int(bad.sum()), p=probs)
        bad = np.isin(ctx * num_items + item, positive_keys)
    return ctx[~bad], item[~bad], int(bad.sum())


def impressions(labelled: LabelledLog, split: int, weights: np.ndarray, ratio: int, rng: np.random.Generator) -> tuple[Impressions, int]:
    """Positives of ``split`` plus ``ratio`` sampled negatives each; returns (impressions, dropped negatives)."""
    idx = labelled.positives(split)
    pos_ctx, pos_item, pos_conv = labelled.pos_ctx[idx], labelled.pos_item[idx], labelled.pos_conv[idx]
    neg_ctx, neg_item, dropped = sample_negatives(pos_ctx, pos_item, weights, ratio, rng)
    n_pos, n_neg = len(pos_ctx), len(neg_ctx)
    return Impressions(
        ctx=np.concatenate([pos_ctx, neg_ctx]),
        item=np.concatenate([pos_item, neg_item]),
        click=np.concatenate([np.ones(n_pos, np.float32), np.zeros(n_neg, np.float32)]),
        conv=np.concatenate([pos_conv, np.zeros(n_neg, np.float32)]),
    ), dropped
