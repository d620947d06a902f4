"""prepare_data end to end: user-disjoint seeded splits, jsonl round trip, data card files."""

from __future__ import annotations

import json

import pytest

from rlrec.config import DataConfig, SplitConfig
from rlrec.data import Example, load_split, prepare_data, sample_users, split_users

from .test_data_jsonl import folder_with, write


def toy_folder(tmp_path, n_users=20):
    items = [{"item_id": f"i{k}", "title": f"Item {k}", "categories": [f"c{k % 3}", f"s{k % 5}"]} for k in range(12)]
    interactions = [{"user_id": f"u{u}", "item_id": f"i{(u + t) % 12}", "time": 1000 * t + u, "rating": 1 + (u + t) % 5}
                    for u in range(n_users) for t in range(8)]
    return folder_with(tmp_path / "data", items, interactions)


def test_split_users_is_disjoint_seeded_and_sized():
    users = [f"u{i}" for i in range(50)]
    parts = split_users(users, SplitConfig(0.6, 0.2, 0.2), seed=3)
    assert [len(parts[s]) for s in ("sft", "rl", "test")] == [30, 10, 10]
    assert sorted(sum(parts.values(), [])) == sorted(users)
    assert parts == split_users(list(reversed(users)), SplitConfig(0.6, 0.2, 0.2), seed=3)  # order-independent
    assert parts != split_users(users, SplitConfig(0.6, 0.2, 0.2), seed=4)


def test_sample_users_seeded_subset():
    users = [f"u{i}" for i in range(30)]
    assert sample_users(users, None, 0) == sorted(users)
    picked = sample_users(users, 7, 1)
    assert len(set(picked)) == 7 and set(picked) <= set(users) and picked == sample_users(users, 7, 1)
    with pytest.raises(ValueError, match="max_users"):
        sample_users(users, 0, 1)


def test_prepare_data_writes_disjoint_splits_that_round_trip(tmp_path):
    config = DataConfig(name="jsonl", path=str(toy_folder(tmp_path)), min_history=3, max_targets_per_user=2,
                        min_target_rating=3.0, prompt_token_budget=None, seed=5)
    prepared = prepare_data(config, tmp_path / "run")
    users = {name: {e.user_id for e in examples} for name, examples in prepared.splits.items()}
    assert not (users["sft"] & users["rl"] or users["sft"] & users["test"] or users["rl"] & users["test"])
    assert [len(users[s]) for s in ("sft", "rl", "test")] == [12, 4, 4]
    for name, examples in prepared.splits.items():
        loaded = load_split(tmp_path / "run" / "splits" / f"{name}.jsonl")
        assert loaded == examples and all(isinstance(e, Example) for e in loaded)
    record = json.loads((tmp_path / "run" / "splits" / "sft.jsonl").read_text().splitlines()[0])
    assert record["prompt"] == [{"role": "user", "content": prepared.splits["sft"][0].prompt}]
    assert isinstance(record["target_categories"], list)
    # The same config gives the same splits.
    again = prepare_data(config, tmp_path / "run2")
    assert {n: [e.example_id for e in x] for n, x in again.splits.items()} == \
        {n: [e.example_id for e in x] for n, x in prepared.splits.items()}


def test_records_load_into_datasets(tmp_path):
    from datasets import Dataset

    config = DataConfig(name="jsonl", path=str(toy_folder(tmp_path, n_users=5)), min_history=2)
    prepared = prepare_data(config, tmp_path / "run")
    dataset = Dataset.from_list([e.to_record() for e in prepared.splits["sft"]])
    assert dataset[0]["prompt"][0]["role"] == "user" and dataset.num_rows == len(prepared.splits["sft"])


def test_data_card_counts_skips_and_files(tmp_path):
    folder = toy_folder(tmp_path, n_users=10)
    with (folder / "interactions.jsonl").open("a") as handle:
        handle.write(json.dumps({"user_id": "u0", "item_id": "ghost", "time": 5}) + "\n")
    write(folder, "users.jsonl", [{"user_id": "u1", "profile": {"segment": "new"}}])
    config = DataConfig(name="jsonl", path=str(folder), min_history=6, prompt_token_budget=200)
    prepared = prepare_data(config, tmp_path / "run")
    card = json.loads((tmp_path / "run" / "data_card.json").read_text())
    assert card == json.loads(json.dumps(prepared.card, default=str))
    assert card["log"] == {**card["log"], "users": 10, "items": 12, "interactions": 80,
                           "skipped_rows": {"item_id not in items.jsonl": 1}, "reorder_fraction": None}
    # 8 events per user, min_history 6 → candidates at t=0..5 are rejected (6 per user), t=6 and t=7 eligible.
    assert card["targets"]["rejected_candidates"] == {"fewer than min_history=6 earlier interactions": 60}
    assert sum(s["examples"] for s in card["splits"].values()) == 10
    assert card["truncation"]["examples_truncated"] > 0  # 200 chars/4-tokens cannot hold 7 lines + query
    assert card["compression"]["reduction"] > 0 and card["prompt_tokens"]["counter"] == "chars/4"
    assert (tmp_path / "run" / "history_length_hist.png").stat().st_size > 1000
    assert "| sft |" in (tmp_path / "run" / "data_card.md").read_text()


def test_prepare_real_instacart_subset(tmp_path):
    config = DataConfig(name="instacart", max_users=30, history_len=20, prompt_token_budget=None, seed=1)
    prepared = prepare_data(config, tmp_path)
    assert prepared.card["log"]["users"] == 593 and len(prepared.log.histories) == 593
    assert sum(len(x) for x in prepared.splits.values()) == 30
    assert 0.6 < prepared.card["log"]["reorder_fraction"] < 0.7  # 0.6391 over the 150,000 lines
