"""Target selection and history construction on hand-built logs (expected values computed by hand)."""

from __future__ import annotations

from collections import Counter

import pytest

from rlrec.config import DataConfig
from rlrec.data import build_examples, select_targets
from rlrec.data.prompt import TokenCounter
from rlrec.data.schema import UserProfile

from .toy import basket_log, rating_log

# o1 day 0: A B | o2 day 3: B C | o3 day 3 (same day as o2): A D | o4 day 10: C E
ORDERS = [(0, ["A", "B"]), (3, ["B", "C"]), (3, ["A", "D"]), (10, ["C", "E"])]


def cfg(**kw) -> DataConfig:
    base = dict(history_len=3, min_history=2, max_targets_per_user=10, prompt_token_budget=None)
    return DataConfig(**{**base, **kw})


def build(log, config):
    return build_examples(log, config, log.users, TokenCounter())


def test_basket_targets_are_first_items_of_later_orders():
    log = basket_log(ORDERS)
    rejected = Counter()
    targets = select_targets(log.histories["u"], cfg(), rejected)
    # o1 has 0 earlier lines (< min_history 2); o2, o3, o4 give their first item at indices 2, 4, 6.
    assert [(t.index, t.n_before) for t in targets] == [(2, 2), (4, 4), (6, 6)]
    assert rejected == Counter({"fewer than min_history=2 earlier interactions": 1})


def test_basket_history_is_earlier_orders_most_recent_first():
    examples, _ = build(basket_log(ORDERS), cfg())
    last = examples[-1]  # target C, first item of o4; earlier lines A B B C A D → last 3 reversed
    assert (last.target_item_id, last.history_item_ids) == ("C", ["D", "A", "C"])
    assert last.example_id == "u#6" and last.target_time == 10
    assert [e.repeat_target for e in examples] == [True, True, True]  # B, A, C were all bought before


def test_exclude_repurchase_takes_first_new_item_and_skips_orders_without_one():
    log = basket_log(ORDERS + [(12, ["A", "B"])])  # o5 has nothing new
    examples, report = build(log, cfg(exclude_repurchase=True))
    # o2 → C (B was bought in o1), o3 → D (A bought), o4 → E (C bought in o2); o1's A lacks history.
    assert [(e.target_item_id, e.example_id) for e in examples] == [("C", "u#3"), ("D", "u#5"), ("E", "u#7")]
    assert report.rejected_targets["basket has no never-bought item (exclude_repurchase)"] == 1
    # D is the 2nd line of o3: its history must not contain o3's first line (A), only o1/o2 lines.
    assert examples[1].history_item_ids == ["C", "B", "B"]
    assert not any(e.repeat_target for e in examples)


def test_max_targets_keeps_latest():
    examples, _ = build(basket_log(ORDERS), cfg(max_targets_per_user=2))
    assert [e.example_id for e in examples] == ["u#4", "u#6"]
    with pytest.raises(ValueError, match="max_targets_per_user"):
        build(basket_log(ORDERS), cfg(max_targets_per_user=0))


def test_ratings_same_timestamp_is_not_history_and_min_rating_filters():
    # t=1 A r5 | t=2 B r3, t=2 C r4 (same second) | t=3 D r5
    log = rating_log([(1, "A", 5), (2, "B", 3), (2, "C", 4), (3, "D", 5)])
    examples, report = build(log, cfg(min_history=1, min_target_rating=4.0))
    assert [(e.target_item_id, e.history_item_ids) for e in examples] == [("C", ["A"]), ("D", ["C", "B", "A"])]
    assert report.rejected_targets == Counter({
        "fewer than min_history=1 earlier interactions": 1,  # A
        "rating missing or below min_target_rating=4": 1,  # B
    })
    assert "[rated 4] Item title: Cheddar" in examples[1].prompt  # ratings are shown on history lines
    assert "User profile: age: 30" in examples[1].prompt


def test_profile_is_built_from_pre_target_events_only():
    seen_by_profile = {}

    def spy(static, past, catalog):
        seen_by_profile[len(past)] = [e.item_id for e in past]
        return UserProfile(static.user_id, {"items so far": " ".join(e.item_id for e in past)})

    log = basket_log(ORDERS, dynamic_profile=spy)
    examples, _ = build(log, cfg(history_len=1))
    assert seen_by_profile == {2: ["A", "B"], 4: ["A", "B", "B", "C"], 6: ["A", "B", "B", "C", "A", "D"]}
    assert "User profile: items so far: A B B C A D\n" in examples[-1].prompt


def test_history_len_zero_and_no_history_prompt():
    examples, _ = build(basket_log(ORDERS), cfg(history_len=0, min_history=0))
    assert examples[0].history_item_ids == [] and "(no earlier interactions)" in examples[0].prompt


def test_exclude_repurchase_on_ungrouped_events():
    # t=1 A | t=2 B | t=3 A again (rejected) | t=4 C
    log = rating_log([(1, "A", 5), (2, "B", 5), (3, "A", 5), (4, "C", 5)])
    examples, report = build(log, cfg(min_history=1, exclude_repurchase=True))
    assert [e.target_item_id for e in examples] == ["B", "C"]
    assert report.rejected_targets["item interacted with before (exclude_repurchase)"] == 1
