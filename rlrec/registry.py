"""One small generic registry: the single dispatch mechanism for everything pluggable.

Modelled on lm-evaluation-harness's registry: duplicate names raise, unknown names raise with a
"did you mean" suggestion and the list of known names, and every entry carries metadata that later
code (e.g. Pareto analysis reading ``higher_is_better``) reads instead of hard-coding.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class RegistryError(KeyError):
    """Raised for duplicate or unknown registry names. ``str()`` gives the full message."""

    def __str__(self) -> str:  # KeyError quotes its message; we want it readable.
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True)
class Entry(Generic[T]):
    """A registered object plus free-form metadata (e.g. ``higher_is_better``, ``range``)."""

    name: str
    obj: T
    metadata: dict[str, Any] = field(default_factory=dict)


class Registry(Generic[T]):
    """Name → object mapping for one concept (data loaders, rewards, strategies, …).

    >>> loaders = Registry("data loader")
    >>> @loaders.register("toy")
    ... def load_toy(): ...
    >>> loaders.get("toy") is load_toy
    True
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Entry[T]] = {}

    def register(self, name: str, **metadata: Any) -> Callable[[T], T]:
        """Decorator registering ``obj`` under ``name``; raises on a duplicate name."""

        def deco(obj: T) -> T:
            self.add(name, obj, **metadata)
            return obj

        return deco

    def add(self, name: str, obj: T, **metadata: Any) -> None:
        if name in self._entries:
            existing = self._entries[name].obj
            raise RegistryError(
                f"{self.kind} {name!r} is already registered (by {_describe(existing)}); "
                f"pick another name for {_describe(obj)}."
            )
        self._entries[name] = Entry(name, obj, dict(metadata))

    def entry(self, name: str) -> Entry[T]:
        try:
            return self._entries[name]
        except KeyError:
            known = sorted(self._entries)
            close = difflib.get_close_matches(name, known, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise RegistryError(
                f"unknown {self.kind} {name!r}.{hint} Known {self.kind}s: {', '.join(known) or '(none)'}."
            ) from None

    def get(self, name: str) -> T:
        return self.entry(name).obj

    def metadata(self, name: str) -> dict[str, Any]:
        return dict(self.entry(name).metadata)

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._entries)


def _describe(obj: Any) -> str:
    module = getattr(obj, "__module__", None)
    qual = getattr(obj, "__qualname__", None) or type(obj).__name__
    return f"{module}.{qual}" if module else qual
