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


# ------------------------------------------------------------------------------- issue 14 (bad and new data)


def test_duplicate_interactions_are_counted_and_dropped_or_kept(tmp_path):
    """#14 finding 6: a line repeated 3 times is one event (default) or kept, counted either way."""
    twice = INTERACTIONS + [INTERACTIONS[0]] * 3
    folder = folder_with(tmp_path, interactions=twice)
    log = load(folder)
    assert [e.item_id for e in log.histories["u1"]] == ["i1", "2"]
    assert log.duplicates == 3 and log.skipped["duplicate interaction (data.duplicates=drop)"] == 3
    kept = load_log(DataConfig(name="jsonl", path=str(folder), duplicates="keep"))
    assert [e.item_id for e in kept.histories["u1"]] == ["i1"] * 4 + ["2"] and kept.duplicates == 3
    assert "duplicate interaction (data.duplicates=drop)" not in kept.skipped
    with pytest.raises(ValueError, match="data.duplicates='merge' is not one of drop, keep"):
        DataConfig(duplicates="merge")


@pytest.mark.parametrize("empty", ["items.jsonl", "interactions.jsonl"])
def test_an_empty_required_file_is_an_error(tmp_path, empty):
    """#14 finding 8: an empty items or interactions file does not load as an empty dataset."""
    folder = folder_with(tmp_path)
    (folder / empty).write_text("\n")
    with pytest.raises(DataFormatError, match=rf"{tmp_path / empty} holds no records"):
        load(folder)


def test_integer_ids_that_lost_leading_zeros_fail_past_the_skip_share(tmp_path):
    """#14 finding 8: ISBN-like ids written as integers in interactions.jsonl drop most rows: an error naming it."""
    items = [{"item_id": f"0{k:09d}", "title": f"Book {k}"} for k in range(10)]
    interactions = [{"user_id": f"u{u}", "item_id": int(f"{(u + t) % 10:09d}") if t % 4 else f"0{(u + t) % 10:09d}",
                     "time": t} for u in range(5) for t in range(8)]  # 3 in 4 lines lose the zero
    folder = folder_with(tmp_path, items, interactions)
    with pytest.raises(DataFormatError) as err:
        load(folder)
    message = str(err.value)
    assert "30 of 40 interaction rows (75%) were skipped, more than data.max_skipped_share=0.25" in message
    assert "integer item_id whose zero-padded form is in items.jsonl (leading zeros lost: write ids as strings" in message
    assert "set data.max_skipped_share=0.76" in message
    log = load_log(DataConfig(name="jsonl", path=str(folder), max_skipped_share=0.8))  # accepted when asked
    assert log.num_interactions == 10


def test_data_without_timestamps_is_ordered_by_seq_or_line(tmp_path):
    """#14 finding 13: ``time`` may be left out everywhere; order = seq, else line order; a mix is an error."""
    rows = [{"user_id": "u", "item_id": "i3"}, {"user_id": "u", "item_id": "i1"},
            {"user_id": "u", "item_id": 2, "seq": 0}]
    log = load(folder_with(tmp_path, interactions=rows))
    assert not log.timed and [e.item_id for e in log.histories["u"]] == ["2", "i3", "i1"]  # seq 0, line 1, line 2
    assert [e.time for e in log.histories["u"]] == [0.0, 1.0, 2.0]
    assert load(folder_with(tmp_path / "timed")).timed
    with pytest.raises(DataFormatError, match=r"line 2, field 'time': missing here but given on other lines"):
        load(folder_with(tmp_path / "mix", interactions=[{"user_id": "u", "item_id": "i1", "time": 5}, rows[0]]))


def test_null_profile_values_are_left_out(tmp_path):
    """#14 finding 16: ``"age": null`` means unknown, not a format error."""
    log = load(folder_with(tmp_path, users=[{"user_id": "u1", "profile": {"age": None, "country": "FR"}}]))
    assert log.profile("u1").fields == {"country": "FR"}


def test_a_truncated_line_is_reported_at_its_own_column(tmp_path):
    """#14 finding 16: the decoder's position inside the line, not "line 2 column 1" of the newline after it."""
    with pytest.raises(DataFormatError) as err:
        load(folder_with(tmp_path, items=ITEMS + ['{"item_id": "x", "title": ']))
    message = str(err.value)
    assert "line 4, field '<line>': not valid JSON: the line ends after column 26 in the middle of a value" in message
    assert "it looks cut off" in message and "column 1)" not in message
    with pytest.raises(DataFormatError, match=r"Expecting ',' delimiter at column 17: '"):
        load(folder_with(tmp_path / "b", items=ITEMS + ['{"item_id": "x" "title": "t"}']))
