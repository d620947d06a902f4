"""Registered rewards as evaluation objectives (``rewards.core.objectives``): metadata from the registry, only
the terms named in ``eval.objectives`` built, scored on test completions exactly as in training."""

from __future__ import annotations

import pytest
from reward_toys import completion

from rewards import make_reward
from rewards.core.objectives import build_eval_objectives
from rlrec.config import Config, EvalConfig, RewardConfig, RewardTermConfig


def _config(objectives):
    reward = RewardConfig(terms={"format": RewardTermConfig(), "cats": RewardTermConfig(reward="category_match")})
    return Config(reward=reward, eval=EvalConfig(objectives=objectives))


def test_named_terms_become_objectives_with_registry_metadata(resources):
    (cats,) = build_eval_objectives(_config(["Semantic_Cosine", "CTCVR", "cats"]), resources)
    assert (cats.name, cats.higher_is_better, cats.range) == ("cats", True, (0.0, 1.0))
    assert cats.info.group == "Reward" and "category" in cats.description
    assert build_eval_objectives(_config(["Semantic_Cosine", "CTCVR"]), resources) == []


def test_the_objective_scores_like_the_training_reward(resources):
    from rlrec.data.examples import Example
    from rlrec.eval import compute_metrics

    (cats,) = build_eval_objectives(_config(["cats"]), resources)
    examples = [Example.from_record({"example_id": f"e{i}", "user_id": "u", "prompt": "p", "target_item_id": "x", "target_title": "t", "target_time": 0.0,
                                     "target_categories": cats_, "target_text": "t", "history_item_ids": []})
                for i, cats_ in enumerate([("Dairy", "Milk"), ("Dairy", "Cheese")])]
    completions = [completion("Whole Milk", ("Dairy", "Milk")), completion("Whole Milk", ("Dairy", "Milk"))]
    result = compute_metrics(examples, [[c] for c in completions], EvalConfig(bootstrap_samples=5), rewards=[cats])
    trained = make_reward("category_match", resources=resources)
    expected = trained(["p", "p"], completions, target_categories=[list(e.target_categories) for e in examples])
    assert expected == pytest.approx([1.0, 1 / 3])  # L1 + L2 right; L1 only (weights 1, 2)
    assert result.value("cats") == pytest.approx(sum(expected) / 2)
    assert result.directions()["cats"] is True
