"""``build_reward_set``: order, weights, metadata, TRL-ready functions, statistics, the reward matrix."""

from __future__ import annotations

import json

import numpy as np
import pytest
from reward_toys import completion, with_table_embedder

from rewards import Resources, RewardError, build_reward_set
from rlrec.config import Config, RewardConfig, RewardTermConfig

BANANA = "Item title: Banana; Category L1: Produce; Category L2: Fresh Fruits"
MILK = "Item title: Milk; Category L1: Dairy"


def _offline_config() -> Config:
    config = Config()
    config.reward = RewardConfig(name="offline", terms={
        "semantic_cosine": RewardTermConfig(weight=0.4),
        "category_match": RewardTermConfig(weight=0.4),
        "format": RewardTermConfig(weight=0.2),
        "cat_l1": RewardTermConfig(weight=0.0, reward="category_match", params={"levels": 1}),
    })
    return config


@pytest.fixture()
def reward_set(catalog):
    config = _offline_config()
    resources = Resources(config)
    with_table_embedder(resources, {BANANA: [1.0, 0.0], MILK: [0.0, 1.0]})
    return build_reward_set(config, resources)


def test_names_weights_and_trl_functions(reward_set):
    from trl.trainer.utils import get_callable_name

    assert reward_set.name == "offline" and len(reward_set) == 4
    assert reward_set.names == ["semantic_cosine", "category_match", "format", "cat_l1"]
    assert reward_set.initial_weights == [0.4, 0.4, 0.2, 0.0]
    assert [get_callable_name(f) for f in reward_set.functions] == reward_set.names


def test_metadata_is_json_and_carries_direction_and_range(reward_set):
    meta = reward_set.metadata
    assert meta["semantic_cosine"]["higher_is_better"] is True and meta["semantic_cosine"]["range"] == [-1.0, 1.0]
    assert meta["cat_l1"]["reward"] == "category_match" and meta["cat_l1"]["params"]["levels"] == 1
    assert meta["format"]["unparseable_value"] == 0.0 and meta["semantic_cosine"]["unparseable_value"] is None
    card = json.loads(json.dumps(reward_set.card()))
    assert card["names"] == reward_set.names and card["initial_weights"] == [0.4, 0.4, 0.2, 0.0]


def test_score_matrix_and_pop_stats(reward_set):
    completions = [completion("Banana", ("Produce", "Fresh Fruits")), completion("Milk", ("Dairy",)), "junk"]
    columns = {"target_text": [BANANA] * 3, "target_categories": [["Produce", "Fresh Fruits"]] * 3}
    matrix = reward_set.score(["p"] * 3, completions, **columns)  # [N=3, K=4]
    expected = np.array([
        [1.0, 1.0, 1.0, 1.0],
        [0.0, 0.0, 1.0, 0.0],
        [np.nan, 0.0, 0.0, 0.0],
    ])
    np.testing.assert_allclose(matrix, expected, atol=1e-6)
    stats = reward_set.pop_stats()
    for name in reward_set.names:
        for key in ("mean", "std", "nan_frac", "seconds", "unparseable"):
            assert f"reward/{name}/{key}" in stats
    assert stats["reward/semantic_cosine/mean"] == pytest.approx(0.5)
    assert stats["reward/semantic_cosine/nan_frac"] == pytest.approx(1 / 3)
    assert stats["reward/format/mean"] == pytest.approx(2 / 3)
    assert "reward/semantic_cosine/cache_hit_rate" in stats
    assert all(not k.endswith("/mean") for k in reward_set.pop_stats())  # reset: nothing since the last pop


def test_bad_sets_fail_clearly():
    with pytest.raises(RewardError, match="reward set is empty"):
        build_reward_set(RewardConfig())
    with pytest.raises(ValueError, match="weight must be a finite number"):
        RewardTermConfig(weight=-1.0)
    with pytest.raises(ValueError, match=r"reward 'format': unknown parameter 'think_weight'"):
        build_reward_set(RewardConfig(terms={"format": RewardTermConfig(params={"think_weight": 1.0})}))


def test_resources_share_loaded_objects_across_instances():
    from rewards.core import resources as shared_resources

    loads = []

    def load():
        loads.append(1)
        return object()

    a, b = Resources(), Resources()
    try:
        assert a.shared(("test-object",), load) is b.shared(("test-object",), load) and len(loads) == 1
        private = object()
        assert b.provide(("test-object",), private).shared(("test-object",), load) is private
    finally:
        shared_resources._SHARED.pop(("test-object",), None)
