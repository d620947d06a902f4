"""``novelty`` in category mode (no simulator) against hand-computed values; cluster mode is in test_ctcvr.py."""

from __future__ import annotations

import pytest
from reward_toys import completion

from rewards import make_reward


def test_category_novelty_hand_computed(resources):
    reward = make_reward("novelty", {"mode": "category"}, resources=resources)
    history = ["a", "d"]  # Banana (Produce/Fresh Fruits/Tropical), Milk (Dairy/Milk/Whole); most recent first
    completions = [
        completion("Apple", ("Produce", "Fresh Fruits")),  # (produce, fresh fruits) seen via Banana -> 0
        completion("Carrot", ("Produce", "Fresh Vegetables")),  # new aisle -> 1
        completion("Yogurt", ("Dairy",)),  # L1 only: (dairy,) seen via Milk -> 0
        completion("Thing", ("Household", "Milk")),  # "Milk" aisle under another department is new -> 1
        completion("NoCategory"),  # no category: undefined -> None (unparseable for this mode)
    ]
    values = reward(["p"] * 5, completions, history_item_ids=[history] * 5)
    assert values == [0.0, 1.0, 0.0, 1.0, None]
    assert reward.stats.pop("novelty")["reward/novelty/unparseable"] == 1.0


def test_window_level_and_unknown_history(resources):
    reward = make_reward("novelty", {"mode": "category", "window": 1, "level": 1}, resources=resources)
    # window 1: only the most recent item (Milk, Dairy) is "recent"; level 1: compare departments only
    values = reward(["p", "p"], [completion("Apple", ("Produce", "Fresh Fruits")), completion("Milk", ("Dairy", "Milk"))],
                    history_item_ids=[["d", "a"], ["d", "a"]])
    assert values == [1.0, 0.0]
    reward(["p"], [completion("Apple", ("Produce",))], history_item_ids=[["zzz"]])  # unknown id: counted, skipped
    assert reward.extra_stats() == {"unknown_history_items": 1.0}


def test_empty_history_is_novel(resources):
    reward = make_reward("novelty", {"mode": "category"}, resources=resources)
    assert reward(["p"], [completion("Apple", ("Produce",))], history_item_ids=[[]]) == [1.0]


def test_bad_mode_fails_with_the_choices():
    with pytest.raises(ValueError, match="'cluster' or 'category'"):
        make_reward("novelty", {"mode": "clusters"})
