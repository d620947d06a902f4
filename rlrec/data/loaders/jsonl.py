"""Bring-your-own-data loader: a folder with ``items.jsonl``, ``interactions.jsonl`` and optionally
``users.jsonl`` (one JSON object per line; the format is specified in docs/data_format.md).

Malformed lines raise :class:`DataFormatError` naming the file, line number and field, and saying the
fix (up to 20 problems are listed at once); so does a required file without a single record.
Interactions whose item_id is not in items.jsonl are skipped and counted in ``InteractionLog.skipped``
— not an error, since item dumps are often partial (``load_log`` fails past ``data.max_skipped_share``).
``time`` is optional as a whole: without it on any line, events are ordered by ``seq`` (default: the line
number) and the log is marked untimed (``InteractionLog.timed``).
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
from rlrec.textio import utf8_lines

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


def _records(path: Path, problems: _Problems, required: bool = True) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, object)`` per non-blank line; a ``required`` file without one is an error."""
    records = 0
    for number, line in utf8_lines(path, error=DataFormatError):  # not UTF-8: names the line and the iconv fix
        text = line.rstrip("\r\n")
        if not text.strip():
            continue
        records += 1
        try:
            record = json.loads(text)
        except json.JSONDecodeError as err:
            problems.add(path, number, "<line>", _json_problem(err, text), "write exactly one JSON object per line")
            continue
        if not isinstance(record, dict):
            problems.add(path, number, "<line>", f"expected a JSON object, got {type(record).__name__}",
                         "write one object per line, e.g. {\"item_id\": \"42\", ...}")
            continue
        yield number, record
    if required and not records:
        raise DataFormatError(f"{path} holds no records (the file is empty or blank); write one JSON object per "
                              "line (format: docs/data_format.md)")


def _json_problem(err: json.JSONDecodeError, text: str) -> str:
    """The decoder's complaint with the column in the line itself (1-based), and "cut off" for a truncated line."""
    column = err.pos + 1
    if err.pos >= len(text.rstrip()):
        return f"not valid JSON: the line ends after column {len(text)} in the middle of a value ({err.msg}); " \
               "it looks cut off (truncated file or an unescaped newline)"
    return f"not valid JSON ({err.msg} at column {column}: {text[max(0, err.pos - 20):err.pos + 20]!r})"


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
    """Unix seconds of ``record["time"]``; None when the field is absent (or null) or malformed (a problem)."""
    value = record.get("time")
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()
    problems.add(path, line, "time", f"expected a timestamp, got {value!r}", TIME_FIX)
    return None


TIME_FIX = "give unix seconds (a number) or an ISO-8601 string such as \"2024-05-01T12:30:00\""


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


def read_interactions(path: Path, catalog: Catalog, problems: _Problems,
                      skipped: Counter) -> tuple[dict[str, list[Interaction]], bool]:
    """Per-user events and whether the file has timestamps (``time`` on every line, or on none: then an event's
    ``time`` is its ``seq``, by default its line number, so line order is the order)."""
    rows: list[dict[str, Any]] = []
    untimed_lines: list[int] = []
    unknown_examples: list[str] = []
    padded = _zero_padded_ids(catalog)
    records = 0
    for line, rec in _records(path, problems):
        records += 1
        user = _id(rec, "user_id", path, line, problems)
        item = _id(rec, "item_id", path, line, problems)
        moment = _time(rec, path, line, problems)
        if rec.get("time") is None:
            untimed_lines.append(line)
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
        if user is None or item is None or problems.messages:
            continue
        if item not in catalog:
            raw = rec.get("item_id")
            if isinstance(raw, int) and str(raw) in padded:
                skipped[f"integer item_id whose zero-padded form is in {ITEMS} (leading zeros lost: write ids as "
                        "strings in both files)"] += 1
            else:
                skipped[f"item_id not in {ITEMS}"] += 1
            if len(unknown_examples) < 5:
                unknown_examples.append(f"{item!r} (line {line})")
            continue
        rows.append(dict(user_id=user, item_id=item, time=moment, seq=seq, behavior=behavior, rating=rating,
                         label=label, group=None if group is None else str(group), attributes=attributes))
    if unknown_examples:
        log.warning("%s: skipped %d interactions with an item_id missing from %s, e.g. %s", path,
                    sum(skipped.values()), ITEMS, ", ".join(unknown_examples))
    timed = len(untimed_lines) < records
    if timed and untimed_lines:  # a mix: an order between timed and untimed events would be invented
        for line in untimed_lines[:MAX_ERRORS]:
            problems.add(path, line, "time", "missing here but given on other lines",
                         f"{TIME_FIX} on every line, or leave it out on every line (events are then ordered by "
                         "'seq', by default the line number)")
    histories: dict[str, list[Interaction]] = {}
    for row in rows:
        if not timed:
            row["time"] = float(row["seq"])
        histories.setdefault(row["user_id"], []).append(Interaction(**row))
    return histories, timed


def _zero_padded_ids(catalog: Catalog) -> set[str]:
    """Catalogue ids with leading zeros, as integers would print them (``"0345391802"`` → ``"345391802"``)."""
    return {item_id.lstrip("0") for item_id in catalog.ids if item_id[:1] == "0" and item_id.isdigit()}


def read_users(path: Path, problems: _Problems) -> dict[str, UserProfile]:
    profiles: dict[str, UserProfile] = {}
    for line, rec in _records(path, problems, required=False):
        user = _id(rec, "user_id", path, line, problems)
        fields = _mapping(rec, "profile", path, line, problems)
        fields = {k: v for k, v in fields.items() if v is not None}  # null = unknown: the field is left out
        bad = [k for k, v in fields.items() if not isinstance(v, (str, int, float)) or isinstance(v, bool)]
        if bad:
            problems.add(path, line, f"profile.{bad[0]}", f"expected a string, number or null, got "
                         f"{fields[bad[0]]!r}", "flatten profile values to text, e.g. \"age\": \"25-34\"")
            continue
        if user is not None:
            profiles[user] = UserProfile(user, {str(k): str(v) for k, v in fields.items()})
    return profiles


def jsonl_files(cfg: DataConfig) -> list[Path]:
    """The folder's data files (they key the data stage by content); none without a ``data.path``."""
    if not cfg.path or cfg.path == "???":
        return []
    root = Path(cfg.path).expanduser()
    return [root / ITEMS, root / INTERACTIONS] + ([root / USERS] if (root / USERS).is_file() else [])


@DATA_LOADERS.register("jsonl", files=jsonl_files)
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
    histories, timed = read_interactions(root / INTERACTIONS, catalog, problems, skipped)
    profiles = read_users(root / USERS, problems) if (root / USERS).is_file() else {}
    problems.raise_if_any()
    return InteractionLog(name=f"jsonl:{root.name}", catalog=catalog, histories=histories, profiles=profiles,
                          skipped=skipped, description=f"jsonl folder {root}", time_unit_s=1.0, timed=timed)
