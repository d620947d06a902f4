"""Bring-your-own-data loader: a folder with ``items.jsonl``, ``interactions.jsonl`` and optionally
``users.jsonl`` (one JSON object per line; the format is specified in docs/data_format.md).

Malformed lines raise :class:`DataFormatError` naming the file, line number and field, and saying the
fix (up to 20 problems are listed at once). Interactions whose item_id is not in items.jsonl are
skipped and counted in ``InteractionLog.skipped`` — not an error, since item dumps are often partial.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from rlrec.config import DataConfig
from rlrec.data.loaders.base import DATA_LOADERS, DataFormatError
from rlrec.data.schema import Catalog, Interaction, InteractionLog, Item, UserProfile

log = logging.getLogger(__name__)

ITEMS, INTERACTIONS, USERS = "items.jsonl", "interactions.jsonl", "users.jsonl"
MAX_ERRORS = 20


class _Problems:
    """Collects validation problems so one run reports many of them, then raises once."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def add(self, path: Path, line: int, field: str, problem: str, fix: str) -> None:
        self.messages.append(f"{path}, line {line}, field {field!r}: {problem}. Fix: {fix}.")
        if len(self.messages) >= MAX_ERRORS:
            self.raise_if_any()

    def raise_if_any(self) -> None:
        if self.messages:
            more = " (stopped at the first 20)" if len(self.messages) >= MAX_ERRORS else ""
            raise DataFormatError(f"{len(self.messages)} problem(s) in the jsonl data{more} "
                                  "(format: docs/data_format.md):\n  " + "\n  ".join(self.messages))


def _records(path: Path, problems: _Problems) -> Iterator[tuple[int, dict[str, Any]]]:
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                problems.add(path, number, "<line>", f"not valid JSON ({err.msg} at column {err.colno})",
                             "write exactly one JSON object per line")
                continue
            if not isinstance(record, dict):
                problems.add(path, number, "<line>", f"expected a JSON object, got {type(record).__name__}",
                             "write one object per line, e.g. {\"item_id\": \"42\", ...}")
                continue
            yield number, record


def _id(record: dict, field: str, path: Path, line: int, problems: _Problems) -> str | None:
    value = record.get(field)
    if isinstance(value, str) and value.strip():
        return value.strip()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    got = "missing" if field not in record else f"got {value!r}"
    problems.add(path, line, field, f"required id is {got}", f"give {field!r} as a non-empty string or an integer")
    return None


def _number(record: dict, field: str, path: Path, line: int, problems: _Problems) -> float | None:
    value = record.get(field)
    if value is None or (isinstance(value, (int, float)) and not isinstance(value, bool)):
        return None if value is None else float(value)
    problems.add(path, line, field, f"expected a number or null, got {value!r}", f"write {field!r} as a JSON number")
    return None


def _time(record: dict, path: Path, line: int, problems: _Problems) -> float | None:
    value = record.get("time")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()
    got = "missing" if "time" not in record else f"got {value!r}"
    problems.add(path, line, "time", f"required timestamp is {got}",
                 "give unix seconds (a number) or an ISO-8601 string such as \"2024-05-01T12:30:00\"")
    return None


def _mapping(record: dict, field: str, path: Path, line: int, problems: _Problems) -> dict:
    value = record.get(field, {})
    if isinstance(value, dict):
        return value
    problems.add(path, line, field, f"expected a JSON object, got {type(value).__name__}",
                 f"write {field!r} as {{\"key\": value, ...}} or leave it out")
    return {}


def read_items(path: Path, problems: _Problems) -> list[Item]:
    items: list[Item] = []
    first_line: dict[str, int] = {}
    for line, rec in _records(path, problems):
        item_id = _id(rec, "item_id", path, line, problems)
        title = rec.get("title")
        if not (isinstance(title, str) and title.strip()):
            problems.add(path, line, "title", f"expected a non-empty string, got {title!r}", "give every item a title")
            continue
        categories = rec.get("categories", [])
        if not (isinstance(categories, list) and all(isinstance(c, str) for c in categories)):
            problems.add(path, line, "categories", f"expected a list of strings (coarse → fine), got {categories!r}",
                         "write e.g. [\"Electronics\", \"Headphones\"] or leave it out")
            continue
        attributes = _mapping(rec, "attributes", path, line, problems)
        if item_id is None:
            continue
        if item_id in first_line:
            problems.add(path, line, "item_id", f"duplicate id {item_id!r} (first on line {first_line[item_id]})",
                         "keep one line per item")
            continue
        first_line[item_id] = line
        items.append(Item(item_id, title.strip(), tuple(c.strip() for c in categories), attributes))
    return items


def read_interactions(path: Path, catalog: Catalog, problems: _Problems, skipped: Counter) -> dict[str, list[Interaction]]:
    histories: dict[str, list[Interaction]] = {}
    unknown_examples: list[str] = []
    for line, rec in _records(path, problems):
        user = _id(rec, "user_id", path, line, problems)
        item = _id(rec, "item_id", path, line, problems)
        moment = _time(rec, path, line, problems)
        rating = _number(rec, "rating", path, line, problems)
        label = _number(rec, "label", path, line, problems)
        behavior = rec.get("behavior", "purchase")
        if not isinstance(behavior, str) or not behavior:
            problems.add(path, line, "behavior", f"expected a non-empty string, got {behavior!r}",
                         "use e.g. \"purchase\", \"click\", \"rating\" or leave it out")
        seq = rec.get("seq", line)
        if not isinstance(seq, int) or isinstance(seq, bool):
            problems.add(path, line, "seq", f"expected an integer, got {seq!r}", "give the position as an integer")
        group = rec.get("group")
        if group is not None and not isinstance(group, (str, int)):
            problems.add(path, line, "group", f"expected a string, integer or null, got {group!r}",
                         "give the basket/session id as a string")
        attributes = _mapping(rec, "attributes", path, line, problems)
        if user is None or item is None or moment is None or problems.messages:
            continue
        if item not in catalog:
            skipped[f"item_id not in {ITEMS}"] += 1
            if len(unknown_examples) < 5:
                unknown_examples.append(f"{item!r} (line {line})")
            continue
        histories.setdefault(user, []).append(Interaction(
            user_id=user, item_id=item, time=moment, seq=seq, behavior=behavior, rating=rating, label=label,
            group=None if group is None else str(group), attributes=attributes))
    if unknown_examples:
        log.warning("%s: skipped %d interactions with an item_id missing from %s, e.g. %s", path,
                    skipped[f"item_id not in {ITEMS}"], ITEMS, ", ".join(unknown_examples))
    return histories


def read_users(path: Path, problems: _Problems) -> dict[str, UserProfile]:
    profiles: dict[str, UserProfile] = {}
    for line, rec in _records(path, problems):
        user = _id(rec, "user_id", path, line, problems)
        fields = _mapping(rec, "profile", path, line, problems)
        bad = [k for k, v in fields.items() if not isinstance(v, (str, int, float)) or isinstance(v, bool)]
        if bad:
            problems.add(path, line, f"profile.{bad[0]}", f"expected a string or number, got {fields[bad[0]]!r}",
                         "flatten profile values to text, e.g. \"age\": \"25-34\"")
            continue
        if user is not None:
            profiles[user] = UserProfile(user, {str(k): str(v) for k, v in fields.items()})
    return profiles


@DATA_LOADERS.register("jsonl")
def load_jsonl(cfg: DataConfig) -> InteractionLog:
    """Load ``cfg.path``/{items,interactions[,users]}.jsonl; times are unix seconds (or ISO strings)."""
    if not cfg.path or cfg.path == "???":
        raise DataFormatError("data.name=jsonl needs a folder: set data.path=/path/to/folder "
                              f"(holding {ITEMS}, {INTERACTIONS} and optionally {USERS}; see docs/data_format.md)")
    root = Path(cfg.path).expanduser()
    for required in (ITEMS, INTERACTIONS):
        if not (root / required).is_file():
            raise DataFormatError(f"{root / required} does not exist; data.path must be a folder holding {ITEMS} and "
                                  f"{INTERACTIONS} (see docs/data_format.md)")
    problems = _Problems()
    skipped: Counter = Counter()
    catalog = Catalog(read_items(root / ITEMS, problems))
    problems.raise_if_any()
    histories = read_interactions(root / INTERACTIONS, catalog, problems, skipped)
    profiles = read_users(root / USERS, problems) if (root / USERS).is_file() else {}
    problems.raise_if_any()
    return InteractionLog(name=f"jsonl:{root.name}", catalog=catalog, histories=histories, profiles=profiles,
                          skipped=skipped, description=f"jsonl folder {root}", time_unit_s=1.0)
