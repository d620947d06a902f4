import json

import pytest

from rlrec.distill.store import JsonlStore, StoreEncodingError

FIELDS = ("id", "n")


def test_append_reload_and_duplicate_keys(tmp_path):
    path = tmp_path / "s.jsonl"
    with JsonlStore(path, FIELDS) as store:
        assert store.append({"id": "a", "n": 0, "x": 1})
        assert store.append({"id": "a", "n": 1, "x": 2})
        assert not store.append({"id": "a", "n": 0, "x": 99})  # already stored: nothing written
    with JsonlStore(path, FIELDS) as store:
        assert len(store) == 2 and ("a", 1) in store and ("a", 2) not in store
        assert store.get(("a", 0))["x"] == 1
    assert len(path.read_text().splitlines()) == 2


def test_torn_last_line_is_cut_and_counted(tmp_path):
    path = tmp_path / "s.jsonl"
    path.write_text(json.dumps({"id": "a", "n": 0}) + "\n" + '{"id": "b", "n"')  # killed mid-write
    with JsonlStore(path, FIELDS) as store:
        assert store.torn_bytes == len('{"id": "b", "n"') and len(store) == 1
        store.append({"id": "b", "n": 0})
    lines = path.read_text().splitlines()
    assert [json.loads(line)["id"] for line in lines] == ["a", "b"]  # the new record did not glue onto the torn one


def test_duplicates_in_the_file_and_bad_lines_are_counted(tmp_path):
    path = tmp_path / "s.jsonl"
    rows = [{"id": "a", "n": 0, "v": 1}, {"id": "a", "n": 0, "v": 2}, {"other": 1}, "not json"]
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    store = JsonlStore(path, FIELDS)
    assert store.duplicates == 1 and store.bad_lines == 2 and store.get(("a", 0))["v"] == 1
    store.close()


def test_non_utf8_bytes_name_the_line_and_both_fixes(tmp_path):
    """Issue 14 finding 9: a latin-1 byte in the store was a bare UnicodeDecodeError ("position 172")."""
    path = tmp_path / "candidates.jsonl"
    good = json.dumps({"id": "a", "n": 0, "text": "ok"}) + "\n"
    path.write_bytes(good.encode() * 200 + '{"id": "b", "n": 0, "text": "caf\u00e9"}\n'.encode("latin-1"))
    with pytest.raises(StoreEncodingError) as err:
        JsonlStore(path, FIELDS)
    message = str(err.value)
    assert f"{path}, line 201, byte 33: not UTF-8" in message and "iconv -f latin1 -t utf-8" in message
    assert "delete that line" in message and "computed again" in message
