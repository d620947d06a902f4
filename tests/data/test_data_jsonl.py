"""The jsonl loader: a valid folder loads; malformed lines name file, line and field; unknown items are counted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rlrec.config import DataConfig
from rlrec.data import DataFormatError, load_log

ITEMS = [
    {"item_id": "i1", "title": "Wireless Earbuds", "categories": ["Electronics", "Headphones"], "attributes": {"price": 30}},
    {"item_id": 2, "title": "USB Cable", "categories": ["Electronics"]},
    {"item_id": "i3", "title": "Novel"},
]
INTERACTIONS = [
    {"user_id": "u1", "item_id": "i1", "time": 100, "rating": 5},
    {"user_id": "u1", "item_id": 2, "time": "1970-01-01T00:03:20", "behavior": "click"},
    {"user_id": "u1", "item_id": "nope", "time": 300},
    {"user_id": 7, "item_id": "i3", "time": 50.5, "group": "s1", "attributes": {"device": "app"}},
]


def write(folder: Path, name: str, rows: list) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))


def folder_with(tmp_path: Path, items=ITEMS, interactions=INTERACTIONS, users=None) -> Path:
    write(tmp_path, "items.jsonl", items)
    write(tmp_path, "interactions.jsonl", interactions)
    if users is not None:
        write(tmp_path, "users.jsonl", users)
    return tmp_path


def load(folder: Path):
    return load_log(DataConfig(name="jsonl", path=str(folder)))


def test_valid_folder_loads(tmp_path):
    log = load(folder_with(tmp_path, users=[{"user_id": "u1", "profile": {"age": "25-34", "visits": 3}}]))
    assert log.catalog.ids == ["i1", "2", "i3"]
    assert log.catalog["i1"].categories == ("Electronics", "Headphones") and log.catalog["i1"].attributes == {"price": 30}
    assert [(e.item_id, e.time, e.behavior, e.rating) for e in log.histories["u1"]] == [
        ("i1", 100.0, "purchase", 5.0), ("2", 200.0, "click", None)]
    assert log.histories["7"][0].group == "s1" and log.histories["7"][0].attributes == {"device": "app"}
    assert log.skipped == {"item_id not in items.jsonl": 1}  # counted, not a crash
    assert log.profile("u1").text() == "age: 25-34; visits: 3" and log.profile("7").fields == {}


@pytest.mark.parametrize("items, interactions, file, line, field", [
    (ITEMS + ['{"item_id": "x", "title": '], INTERACTIONS, "items.jsonl", 4, "<line>"),
    (ITEMS + [{"item_id": "x"}], INTERACTIONS, "items.jsonl", 4, "title"),
    (ITEMS + [{"item_id": "i1", "title": "again"}], INTERACTIONS, "items.jsonl", 4, "item_id"),
    (ITEMS + [{"item_id": "x", "title": "t", "categories": "Books"}], INTERACTIONS, "items.jsonl", 4, "categories"),
    (ITEMS, INTERACTIONS + [{"user_id": "u2", "item_id": "i1"}], "interactions.jsonl", 5, "time"),
    (ITEMS, INTERACTIONS + [{"user_id": "u2", "item_id": "i1", "time": "yesterday"}], "interactions.jsonl", 5, "time"),
    (ITEMS, [{"item_id": "i1", "time": 1}], "interactions.jsonl", 1, "user_id"),
    (ITEMS, INTERACTIONS + [{"user_id": "u2", "item_id": "i1", "time": 1, "rating": "good"}], "interactions.jsonl", 5, "rating"),
    (ITEMS, [[1, 2]], "interactions.jsonl", 1, "<line>"),
])
def test_errors_name_file_line_and_field(tmp_path, items, interactions, file, line, field):
    with pytest.raises(DataFormatError) as err:
        load(folder_with(tmp_path, items, interactions))
    message = str(err.value)
    assert f"{tmp_path / file}, line {line}, field '{field}'" in message
    assert "Fix:" in message


def test_user_profile_errors_and_many_problems_at_once(tmp_path):
    with pytest.raises(DataFormatError, match=r"users.jsonl, line 1, field 'profile.tags'"):
        load(folder_with(tmp_path, users=[{"user_id": "u1", "profile": {"tags": ["a"]}}]))
    bad = [{"user_id": "u", "item_id": "i1", "time": "yesterday"} for _ in range(30)]
    with pytest.raises(DataFormatError, match=r"20 problem\(s\).*first 20"):
        load(folder_with(tmp_path / "many", interactions=bad))


def test_missing_folder_or_path(tmp_path):
    with pytest.raises(DataFormatError, match="set data.path="):
        load_log(DataConfig(name="jsonl", path=None))
    with pytest.raises(DataFormatError, match="interactions.jsonl does not exist"):
        write(tmp_path, "items.jsonl", ITEMS)
        load(tmp_path)
