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


# ------------------------------------------------------------------------------- issue 14 (bad and new data)


def test_zero_examples_or_an_empty_split_is_an_error(tmp_path):
    """#14 finding 8: a prepare that yields 0 examples (or no RL prompt) does not exit 0."""
    from rlrec.data import DataFormatError

    folder = toy_folder(tmp_path, n_users=10)
    with pytest.raises(DataFormatError, match=r"0 examples from 10 users .*fewer than min_history=9.*lower data.min_history"):
        prepare_data(DataConfig(name="jsonl", path=str(folder), min_history=9), tmp_path / "run")
    with pytest.raises(DataFormatError, match=r"split\(s\) test got no example \(sft 1, rl 1, test 0"):
        prepare_data(DataConfig(name="jsonl", path=str(toy_folder(tmp_path / "two", n_users=2)), min_history=2),
                     tmp_path / "run2")


def untimed_uncategorised_folder(tmp_path):
    """Items with titles only; interactions without a time (order = line order), one behaviour."""
    items = [{"item_id": f"b{k}", "title": f"Book {k}"} for k in range(8)]
    interactions = [{"user_id": f"u{u}", "item_id": f"b{(u + t) % 8}", "rating": 1 + (u * t) % 10}
                    for u in range(10) for t in range(6)]
    return folder_with(tmp_path / "data", items, interactions)


def test_data_without_timestamps_or_categories_says_so(tmp_path):
    """#14 findings 13 and 14: no time → order by line, prompts and card say no time exists (no "today"); no
    categories → category levels 0 (the catalogue's depth), titles only, the card says category metrics are n/a."""
    config = DataConfig(name="jsonl", path=str(untimed_uncategorised_folder(tmp_path)), min_history=3,
                        prompt_token_budget=None, compress_history=True)
    prepared = prepare_data(config, tmp_path / "run")
    example = prepared.splits["sft"][0]
    assert "the data has no timestamps, only the order of events" in example.prompt
    assert "today" not in example.prompt and "positions 1-10 (purchase, rated" in example.prompt
    assert "Category L" not in example.prompt and example.prompt.count("written as: Item title: …") == 1
    assert example.target_text == example.target_title.join(("Item title: ", "")) and example.target_categories == ()
    card = prepared.card["log"]
    assert card["timed"] is False and card["category_depth"] == 0 and card["category_levels"] == 0
    markdown = (tmp_path / "run" / "data_card.md").read_text()
    assert "**no timestamps**: events are ordered by `seq` (default: line order)" in markdown
    assert "**no categories**: prompts and answers carry item titles only" in markdown
    plain = prepare_data(DataConfig(name="jsonl", path=config.path, min_history=3), tmp_path / "plain")
    assert "no timestamps" in plain.splits["sft"][0].prompt and "uncategorised" not in plain.splits["sft"][0].prompt


def test_category_levels_default_to_the_catalogue_depth(tmp_path):
    """#14 finding 14: a 3-level catalogue shows L1..L3 without setting data.category_levels; 1 cuts it."""
    items = [{"item_id": f"i{k}", "title": f"Item {k}", "categories": ["a", f"b{k % 2}", f"c{k}"]} for k in range(6)]
    interactions = [{"user_id": f"u{u}", "item_id": f"i{(u + t) % 6}", "time": t} for u in range(10) for t in range(5)]
    folder = folder_with(tmp_path / "data", items, interactions)
    prepared = prepare_data(DataConfig(name="jsonl", path=str(folder), min_history=2), tmp_path / "run")
    assert prepared.card["log"]["category_levels"] == 3 and len(prepared.splits["sft"][0].target_categories) == 3
    assert "Category L3: …" in prepared.splits["sft"][0].prompt
    one = prepare_data(DataConfig(name="jsonl", path=str(folder), min_history=2, category_levels=1), tmp_path / "one")
    assert "Category L2" not in one.splits["sft"][0].prompt and one.card["log"]["category_levels"] == 1


def test_duplicates_are_counted_in_the_card(tmp_path):
    """#14 finding 6: the data card counts duplicate interactions and says what was done with them."""
    folder = toy_folder(tmp_path, n_users=10)
    with (folder / "interactions.jsonl").open("a") as handle:
        handle.write(json.dumps({"user_id": "u0", "item_id": "i0", "time": 0, "rating": 1}) + "\n")
    prepared = prepare_data(DataConfig(name="jsonl", path=str(folder), min_history=2), tmp_path / "run")
    assert prepared.card["log"]["duplicate_interactions"] == {"count": 1, "policy": "drop"}
    assert prepared.card["log"]["skipped_rows"] == {"duplicate interaction (data.duplicates=drop)": 1}
    assert "duplicate interactions (same user, item, time, behaviour, rating, label, group): 1, dropped" in \
        (tmp_path / "run" / "data_card.md").read_text()
