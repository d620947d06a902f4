"""``format`` (Taiji Table 3) and ``category_match`` against hand-computed values."""

from __future__ import annotations

import pytest
from reward_toys import completion

from rewards import make_reward
from rewards.category_match import category_credit, level_weights


def test_format_checks_hand_computed():
    reward = make_reward("format")
    completions = [
        "<think>I reason</think><answer>Item title: A; Category L1: X</answer>",  # all three checks: 1
        "<think></think><answer>Item title: A</answer>",  # tag only, empty think: (1 + 0 + 1) / 3
        "<answer>Item title: A</answer>",  # no think: 1/3
        "<think>thinking forever, truncated",  # unparseable -> 0
        "",  # unparseable -> 0
    ]
    assert reward(["p"] * 5, completions) == pytest.approx([1.0, 2 / 3, 1 / 3, 0.0, 0.0])
    assert reward.stats.pop("format")["reward/format/unparseable"] == 2.0
    # Table 3 rates over all five: tags in 1, 2, 4; non-empty think in 1, 4; non-empty answer in 1, 2, 3
    assert reward.extra_stats() == pytest.approx(
        {"think_tag_presence_rate": 3 / 5, "think_non_empty_rate": 2 / 5, "answer_non_empty_rate": 3 / 5})


def test_format_weights():
    reward = make_reward("format", {"think_tag_weight": 0.0, "think_non_empty_weight": 1.0, "answer_non_empty_weight": 3.0})
    assert reward(["p"], ["<think></think><answer>Item title: A</answer>"]) == [pytest.approx(0.75)]
    with pytest.raises(ValueError, match="positive sum"):
        make_reward("format", {"think_tag_weight": 0.0, "think_non_empty_weight": 0.0, "answer_non_empty_weight": 0.0})


def test_length_aware_think_credit_counts_distinct_words():
    reward = make_reward("format", {"think_tag_weight": 0.0, "think_non_empty_weight": 1.0,
                                    "answer_non_empty_weight": 0.0, "think_min_words": 4})
    completions = [
        "<think>Step-by-step reasoning</think><answer>Item title: A</answer>",  # "step-by-step", "reasoning": 2/4
        "<think>The user is. The user is. The user is.</think><answer>Item title: A</answer>",  # 3 distinct: 3/4
        "<think>She buys oat milk weekly, so oat milk</think><answer>Item title: A</answer>",  # 6 distinct: capped at 1
        "<think></think><answer>Item title: A</answer>",  # empty: 0
    ]
    assert reward(["p"] * 4, completions) == pytest.approx([2 / 4, 3 / 4, 1.0, 0.0])
    with pytest.raises(ValueError, match="think_min_words"):
        make_reward("format", {"think_min_words": -1})


def test_level_weights_default_is_linear():
    assert level_weights(3, []) == [1.0, 2.0, 3.0]
    assert level_weights(2, [0.5, 0.5, 9.0]) == [0.5, 0.5]
    with pytest.raises(ValueError):
        level_weights(3, [1.0])


def test_category_credit_hand_computed():
    target = ["Produce", "Fresh Fruits", "Tropical"]
    w = [1.0, 2.0, 3.0]
    assert category_credit(["produce", "fresh  fruits", "TROPICAL"], target, w) == pytest.approx(1.0)
    assert category_credit(["Produce", "Fresh Fruits"], target, w) == pytest.approx(3 / 6)
    assert category_credit(["Produce", "Fresh Vegetables", "Tropical"], target, w) == pytest.approx(1 / 6)
    # hierarchical: a right L2/L3 under a wrong L1 earns nothing; flat: it earns its own weight
    assert category_credit(["Dairy", "Fresh Fruits", "Tropical"], target, w) == 0.0
    assert category_credit(["Dairy", "Fresh Fruits", "Tropical"], target, w, hierarchical=False) == pytest.approx(5 / 6)


def test_category_match_reward():
    reward = make_reward("category_match")
    completions = [
        completion("Banana", ("Produce", "Fresh Fruits")),  # both levels: 1
        completion("Carrot", ("Produce", "Fresh Vegetables")),  # L1 only: 1 / (1 + 2)
        completion("Banana"),  # a title but no category: 0
        "<answer>Category L1: Produce</answer>",  # no title, but a category: scorable, 1/3
        "gibberish",  # unparseable: 0
        completion("Banana", ("Produce", "Fresh Fruits")),  # target without categories: None
    ]
    targets = [["Produce", "Fresh Fruits"]] * 5 + [[]]
    values = reward(["p"] * 6, completions, target_categories=targets)
    assert values[:5] == pytest.approx([1.0, 1 / 3, 0.0, 1 / 3, 0.0]) and values[5] is None
    stats = reward.stats.pop("category_match")
    assert stats["reward/category_match/unparseable"] == 1.0
    assert stats["reward/category_match/nan_frac"] == pytest.approx(1 / 6)


def test_category_match_levels_cap_and_trailing_empty_levels():
    reward = make_reward("category_match", {"levels": 1})
    assert reward(["p"], [completion("x", ("Produce", "Wrong"))], target_categories=[["Produce", "Fresh Fruits"]]) == [1.0]
    reward = make_reward("category_match")
    # the target is only one level deep (trailing ""): L1 alone is full credit
    assert reward(["p"], [completion("x", ("Produce", "Any"))], target_categories=[["Produce", ""]]) == [1.0]
