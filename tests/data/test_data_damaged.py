"""Damaged or mis-encoded files (issue 14 finding 9): a torn line in a cached split, latin-1 bytes in a data
file. Each error names the file and line and says what to do, instead of a bare JSONDecodeError /
UnicodeDecodeError ("position 172") from deep inside the reader."""

from __future__ import annotations

import json

import pytest

from rlrec.artifacts import MARKER
from rlrec.config import DataConfig
from rlrec.data import DataFormatError, load_log, load_split, prepare_data

from .test_data_jsonl import folder_with
from .test_data_prepare import toy_folder


@pytest.fixture()
def stage(tmp_path):
    """A complete data stage folder (as run_stage leaves it): splits + the marker."""
    config = DataConfig(name="jsonl", path=str(toy_folder(tmp_path)), min_history=3, max_targets_per_user=2,
                        prompt_token_budget=None, seed=5)
    folder = tmp_path / "artifacts" / "data" / "abc123"
    prepare_data(config, folder)
    (folder / MARKER).write_text("{}")
    return folder


def test_a_torn_line_in_a_cached_split_names_the_line_and_the_stage_folder_to_delete(stage):
    path = stage / "splits" / "rl.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[1] = lines[1][: len(lines[1]) // 2] + "\n"  # torn in the middle of the file, not just at its end
    path.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(DataFormatError) as err:
        load_split(path)
    message = str(err.value)
    assert f"{path}, line 2" in message and "damaged" in message
    assert f"rm -rf {stage}" in message and "rerun" in message


def test_a_valid_line_that_is_not_an_example_is_named_too(stage):
    path = stage / "splits" / "test.jsonl"
    path.write_text(path.read_text(encoding="utf-8") + json.dumps({"user_id": "u1"}) + "\n", encoding="utf-8")
    count = len(path.read_text(encoding="utf-8").splitlines())
    with pytest.raises(DataFormatError, match=rf"line {count}: the cached split is damaged \(KeyError"):
        load_split(path)


def test_non_utf8_bytes_in_a_cached_split(stage):
    path = stage / "splits" / "sft.jsonl"
    data = path.read_bytes().splitlines(keepends=True)
    data[2] = data[2].replace(b'": "', b'": "caf\xe9 ', 1)  # latin-1 é in the first string value
    path.write_bytes(b"".join(data))
    with pytest.raises(DataFormatError, match=rf"{path}, line 3, byte \d+: not UTF-8.*iconv -f latin1 -t utf-8"):
        load_split(path)


def test_latin1_interactions_name_the_file_line_and_the_iconv_fix(tmp_path):
    folder = folder_with(tmp_path, items=[{"item_id": "i1", "title": "Caf\u00e9"}] + [
        {"item_id": f"i{k}", "title": f"Item {k}"} for k in range(2, 400)])
    path = folder / "items.jsonl"
    # latin-1 past the first 8 KiB read buffer: Python's own error would say "position 172" of that buffer
    path.write_bytes(path.read_bytes() + '{"item_id": "i999", "title": "Cr\u00e8me br\u00fbl\u00e9e"}\n'.encode("latin-1"))
    line = len(path.read_bytes().splitlines())
    with pytest.raises(DataFormatError) as err:
        load_log(DataConfig(name="jsonl", path=str(folder)))
    message = str(err.value)
    assert f"{path}, line {line}, byte 33: not UTF-8" in message
    assert f"iconv -f latin1 -t utf-8 {path} > {path}.utf8 && mv {path}.utf8 {path}" in message
