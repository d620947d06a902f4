"""Typed records passed between stages: items, interactions, user profiles, the catalogue, a log.

IDs are strings everywhere (datasets disagree on int vs str ids; strings never collide silently).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from rlrec.answer import format_answer


@dataclass(frozen=True, slots=True)
class Item:
    """One catalogue item. ``categories`` are ordered coarse → fine (L1, L2, …)."""

    item_id: str
    title: str
    categories: tuple[str, ...] = ()
    attributes: Mapping[str, object] = field(default_factory=dict)

    def category(self, level: int) -> str:
        """Category at 1-based ``level``; ``""`` when the item has no such level."""
        return self.categories[level - 1] if 0 < level <= len(self.categories) else ""

    def text(self, levels: int | None = None) -> str:
        """``Item title: …; Category L1: …; …`` — the one serialization used in prompts and answers (the first
        ``levels`` categories; all of them when None)."""
        return format_answer(self.title, self.categories if levels is None else self.categories[:levels])


@dataclass(frozen=True, slots=True)
class Interaction:
    """One logged user–item event.

    ``time`` orders a user's events (a timestamp, or an order index for basket data); ``seq`` breaks
    ties inside the same ``time`` (e.g. add-to-cart position) so ordering is total and reproducible.
    """

    user_id: str
    item_id: str
    time: float
    seq: int = 0
    behavior: str = "purchase"
    rating: float | None = None
    label: float | None = None
    group: str | None = None  # basket / session id (Instacart order_id)
    attributes: Mapping[str, object] = field(default_factory=dict)

    @property
    def sort_key(self) -> tuple[float, int]:
        return (self.time, self.seq)


@dataclass(frozen=True, slots=True)
class UserProfile:
    """Free-form profile fields, serialised in the prompt in insertion order."""

    user_id: str
    fields: Mapping[str, str] = field(default_factory=dict)

    def text(self) -> str:
        if not self.fields:
            return "(no profile information)"
        return "; ".join(f"{k}: {v}" for k, v in self.fields.items())


class Catalog:
    """All items of a dataset, indexed by id, with a content hash used to key caches and artifacts."""

    def __init__(self, items: Iterable[Item]) -> None:
        self._items: dict[str, Item] = {}
        for item in items:
            if item.item_id in self._items:
                raise ValueError(f"duplicate item_id {item.item_id!r} in catalogue")
            self._items[item.item_id] = item
        self._ids = list(self._items)
        self._index = {item_id: i for i, item_id in enumerate(self._ids)}
        self._hash: str | None = None
        self._depth: int | None = None

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._items

    def __iter__(self) -> Iterator[Item]:
        return iter(self._items.values())

    def __getitem__(self, item_id: str) -> Item:
        try:
            return self._items[item_id]
        except KeyError:
            raise KeyError(f"item_id {item_id!r} is not in the catalogue ({len(self)} items)") from None

    def get(self, item_id: str) -> Item | None:
        return self._items.get(item_id)

    @property
    def ids(self) -> list[str]:
        """Item ids in a fixed order; ``index(item_id)`` is the row of that item in any item matrix."""
        return self._ids

    def index(self, item_id: str) -> int:
        return self._index[item_id]

    @property
    def depth(self) -> int:
        """Deepest category level any item has (0 when no item has a category)."""
        if self._depth is None:
            self._depth = max((len(i.categories) for i in self), default=0)
        return self._depth

    def content_hash(self) -> str:
        """sha256 (16 hex chars) over ids, titles and categories, in catalogue order."""
        if self._hash is None:
            h = hashlib.sha256()
            for item in self:
                h.update("\x1f".join((item.item_id, item.title, *item.categories)).encode())
                h.update(b"\x1e")
            self._hash = h.hexdigest()[:16]
        return self._hash


@dataclass
class InteractionLog:
    """A loaded dataset: catalogue, per-user chronologically sorted interactions, profiles, skip report.

    ``skipped`` counts rows a loader dropped, keyed by reason (never drop silently).
    """

    name: str
    catalog: Catalog
    histories: dict[str, list[Interaction]]
    profiles: dict[str, UserProfile] = field(default_factory=dict)
    skipped: Counter = field(default_factory=Counter)
    description: str = ""
    # Seconds per unit of ``Interaction.time`` (1 for unix timestamps, 86400 when time counts days).
    time_unit_s: float = 1.0
    # False: the data has no timestamps; ``Interaction.time`` is then each event's order index (its ``seq``, or its
    # line), every event is its own moment, and prompts and the data card say that no time exists.
    timed: bool = True
    duplicates: int = 0  # identical interaction rows found by load_log (dropped or kept per data.duplicates)
    # Profile fields derived from behaviour (e.g. Instacart has no demographics). Called with the static
    # profile and the events strictly before a target, so nothing after the target leaks into its prompt.
    dynamic_profile: Callable[[UserProfile, Sequence[Interaction], Catalog], UserProfile] | None = None

    def __post_init__(self) -> None:
        for events in self.histories.values():
            events.sort(key=lambda e: e.sort_key)

    @property
    def users(self) -> list[str]:
        return sorted(self.histories)

    @property
    def num_interactions(self) -> int:
        return sum(len(v) for v in self.histories.values())

    def interactions(self) -> Iterator[Interaction]:
        for user in self.users:
            yield from self.histories[user]

    def profile(self, user_id: str) -> UserProfile:
        return self.profiles.get(user_id) or UserProfile(user_id)

    def profile_at(self, user_id: str, past: Sequence[Interaction]) -> UserProfile:
        """Profile as known just before a target: static fields plus fields derived from ``past`` only."""
        static = self.profile(user_id)
        return self.dynamic_profile(static, past, self.catalog) if self.dynamic_profile else static
