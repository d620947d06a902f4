"""``alignment_score``: a tiny sequence-classification reward model trained in a fixture, scored by hand."""

from __future__ import annotations

import math

import pytest
from reward_toys import completion, logit

from rewards import RewardError, make_reward
from rewards.alignment_score import recent_distinct, sigmoid


def test_sigmoid_and_recent_distinct():
    assert sigmoid([0.0, 2.0, -800.0]).tolist() == pytest.approx([0.5, 1 / (1 + math.exp(-2.0)), 0.0])
    assert recent_distinct(["c", "b", "c", "a", "d"], 3) == ["a", "b", "c"]  # most recent first in, oldest first out
    assert recent_distinct(["c", "", "c"], 2) == ["c"]


def test_scores_are_the_sigmoid_of_the_model_on_the_rendered_pair(tiny_rm_path, resources):
    reward = make_reward("alignment_score", {"path": str(tiny_rm_path), "context": "categories",
                                             "candidate": "category", "context_len": 2}, resources=resources)
    history = ["a", "d", "a"]  # Banana (Tropical), Milk (Whole), most recent first
    completions = [completion("Apple", ("Produce", "Fresh Fruits")), completion("Crisps", ("Snacks", "Chips")),
                   completion("No category"), "junk"]
    values = reward(["p"] * 4, completions, history_item_ids=[history] * 4)
    expected_text = "Recent interest clusters: Whole | Tropical\nNext interest cluster: Fresh Fruits"
    assert values[0] == pytest.approx(1 / (1 + math.exp(-logit(tiny_rm_path, expected_text))), abs=1e-5)
    assert values[0] > values[1]  # the fixture taught it to prefer Fresh Fruits over Chips
    assert values[2] is None and values[3] is None  # no category to score; unparseable
    assert reward.stats.pop("alignment_score")["reward/alignment_score/unparseable"] == 2.0


def test_item_candidate_and_missing_path(tiny_rm_path, resources):
    reward = make_reward("alignment_score", {"path": str(tiny_rm_path), "context": "categories", "candidate": "item"},
                         resources=resources)
    value = reward(["p"], [completion("Apple", ("Produce",))], history_item_ids=[["e"]])[0]
    text = "Recent interest clusters: Greek\nNext interest cluster: Item title: Apple; Category L1: Produce"
    assert value == pytest.approx(float(sigmoid(logit(tiny_rm_path, text))), abs=1e-5)
    with pytest.raises(RewardError, match="alignment_score.*(simulator|train_alignment)"):  # no path: looks for a trained one
        make_reward("alignment_score", {"context": "categories", "candidate": "item"}, resources=resources)
