"""RecGPT §2.1.1 compression: periods, the two aggregation steps (hand-computed), measured reduction."""

from __future__ import annotations

import pytest

from rlrec.config import DataConfig
from rlrec.data import build_examples
from rlrec.data.compress import compress_window, period_of
from rlrec.data.prompt import TokenCounter
from rlrec.data.schema import Interaction

from .toy import CATALOG, basket_log

DAY = 86400.0


@pytest.mark.parametrize("days, label", [
    (0, "today"), (0.9, "today"), (1, "1 day ago"), (29.5, "29 days ago"), (30, "1 month ago"),
    (75, "2 months ago"), (364, "12 months ago"), (365, "1 year ago"), (800, "2 years ago"),
])
def test_period_partition(days, label):
    assert period_of(days * DAY)[2] == label


def test_two_step_aggregation_by_hand():
    def ev(item, day, behavior="purchase", rating=None):
        return Interaction("u", item, time=day, behavior=behavior, rating=rating)

    # Target on day 10. Most recent first: day 9 {A, B}, day 2 {A, C, D}, day 2 click E.
    window = [ev("A", 9), ev("B", 9), ev("A", 2), ev("C", 2), ev("D", 2), ev("E", 2, "click")]
    lines = compress_window(window, CATALOG, target_time=10, time_unit_s=DAY, levels=2)
    assert [line.text for line in lines] == [
        # A: {1 day ago, 8 days ago}; B: {1 day ago} → both start 1 day ago, first-seen order A then B
        "1 day ago (purchase), 8 days ago (purchase) | produce/fresh fruits: Apples",
        "1 day ago (purchase) | bakery/bread: Bread",
        # C and D share the signature {8 days ago (purchase)}; grouped under their category paths
        "8 days ago (purchase) | dairy eggs/packaged cheese: Cheddar; produce/fresh fruits: Dates",
        "8 days ago (click) | dairy eggs/eggs: Eggs",
    ]
    assert lines[2].item_ids == frozenset({"C", "D"})


def test_behaviours_of_one_period_are_merged_and_ratings_labelled():
    window = [Interaction("u", "A", time=0, behavior="rating", rating=5.0),
              Interaction("u", "A", time=0, behavior="click")]
    (line,) = compress_window(window, CATALOG, target_time=3 * DAY, time_unit_s=1.0, levels=1)
    assert line.text == "3 days ago (rated 5, click) | produce: Apples"


def test_compression_reduces_tokens_and_prompt_uses_it():
    log = basket_log([(day, ["A", "B", "C"] if day % 2 else ["D", "A"]) for day in range(0, 40, 2)])
    config = DataConfig(history_len=50, prompt_token_budget=None, compress_history=True)
    (example,), report = build_examples(log, config, ["u"], TokenCounter())
    assert report.history_tokens_compressed[0] < 0.5 * report.history_tokens[0]
    assert "compressed behaviour groups" in example.prompt and "Item title:" not in example.prompt.split("\n\n")[2]
    assert sorted(set(example.history_item_ids)) == ["A", "D"]


def test_compressed_budget_drops_oldest_groups():
    log = basket_log([(day * 5, [item]) for day, item in enumerate("ABCDEABCDE")])
    config = DataConfig(history_len=50, compress_history=True, prompt_token_budget=None, min_history=1)
    (full,), _ = build_examples(log, config, ["u"], TokenCounter())
    config.prompt_token_budget = TokenCounter()(full.prompt) - 5
    (cut,), report = build_examples(log, config, ["u"], TokenCounter())
    assert report.lines_dropped >= 1 and cut.prompt_tokens <= config.prompt_token_budget
    assert full.prompt.splitlines()[-1] not in cut.prompt  # the oldest group line went first


def test_compact_baseline_lines():
    from rlrec.data.compress import compact_lines

    window = [Interaction("u", "A", time=0, rating=4.0), Interaction("u", "B", time=0)]
    assert compact_lines(window, CATALOG, 2) == ["1. produce/fresh fruits: Apples (rated 4)", "2. bakery/bread: Bread"]
