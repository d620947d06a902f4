"""The data stage (experiments.stages.DATA) keyed by file content and checked against its marker on reuse (#14-1)."""

from __future__ import annotations

import json

import pytest

from experiments import stages
from rlrec.config import Config, DataConfig, ModelConfig
from rlrec.data.fingerprint import HASH_CACHE, data_fingerprint, file_sha256

from .test_data_prepare import toy_folder


@pytest.fixture()
def make_config(tmp_path, smollm2_path, monkeypatch):
    monkeypatch.setenv("RLREC_CACHE", str(tmp_path / "cache"))

    def make(folder) -> Config:
        return Config(artifacts_dir=str(tmp_path / "artifacts"), model=ModelConfig(policy=str(smollm2_path)),
                      data=DataConfig(name="jsonl", path=str(folder), min_history=2, prompt_token_budget=None))

    return make


def counts(prepared) -> list[int]:
    return [len(prepared.splits[s]) for s in stages.SPLITS]


def test_a_data_file_edited_in_place_is_not_reused(tmp_path, make_config, caplog):
    folder = toy_folder(tmp_path, n_users=10)
    config = make_config(folder)
    first = stages.context(config, tmp_path / "run1")
    before = counts(stages.run("data", first))
    rows = (folder / "interactions.jsonl").read_text().splitlines()
    more = [json.dumps({"user_id": f"n{u}", "item_id": f"i{t}", "time": 1000 * t}) for u in range(10) for t in range(8)]
    (folder / "interactions.jsonl").write_text("\n".join(rows + more) + "\n")  # same path, same config
    second = stages.context(config, tmp_path / "run2")
    with caplog.at_level("INFO", logger="rlrec"):
        after = counts(stages.run("data", second))
    assert "data: reusing" not in caplog.text and second.folders["data"] != first.folders["data"]
    assert sum(after) == 2 * sum(before)  # 10 more users with an example each
    assert stages._simulator_key(first) != stages._simulator_key(second)  # the simulator is keyed by content too
    third = stages.context(config, tmp_path / "run3")
    with caplog.at_level("INFO", logger="rlrec"):
        assert counts(stages.run("data", third)) == after
    assert "data: reusing" in caplog.text


def test_a_truncated_cached_split_is_detected_and_rebuilt(tmp_path, make_config, caplog):
    config = make_config(toy_folder(tmp_path, n_users=20))
    first = stages.context(config, tmp_path / "run1")
    expected = counts(stages.run("data", first))
    rl = first.folders["data"] / "splits" / "rl.jsonl"
    rl.write_text(rl.read_text().splitlines(keepends=True)[0])  # cut at a line boundary: 1 of the examples left
    second = stages.context(config, tmp_path / "run2")
    with caplog.at_level("WARNING", logger="rlrec"):
        assert counts(stages.run("data", second)) == expected
    assert f"{first.folders['data']} does not match its complete marker (splits/rl.jsonl has 1 complete lines, " \
           f"the marker recorded {expected[1]} examples)" in caplog.text
    assert second.timings[0]["reused"] is False
    assert sum(1 for _ in rl.open()) == expected[1]


def test_file_hashes_are_cached_by_path_size_and_mtime(tmp_path, monkeypatch):
    monkeypatch.setenv("RLREC_CACHE", str(tmp_path / "cache"))
    folder = toy_folder(tmp_path, n_users=3)
    digest = file_sha256(folder / "items.jsonl")
    (entry,) = (tmp_path / "cache" / HASH_CACHE).iterdir()
    entry.write_text("f" * 64)  # a cached value is used without reading the file again
    assert file_sha256(folder / "items.jsonl") == "f" * 64 != digest
    cfg = DataConfig(name="jsonl", path=str(folder))
    assert set(data_fingerprint(cfg)) == {"items.jsonl", "interactions.jsonl"}
    assert data_fingerprint(DataConfig(name="jsonl", path=None)) == {}  # the loader reports the missing path
    assert set(data_fingerprint(DataConfig(name="movielens100k"))) == {"ml-100k.inter", "ml-100k.item", "ml-100k.user"}
