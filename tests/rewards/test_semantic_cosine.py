"""``semantic_cosine`` (Taiji Eq. 3) on an embedder with chosen vectors, plus one check on the real MiniLM."""

from __future__ import annotations

import math

import numpy as np
import pytest
from reward_toys import completion, with_table_embedder

from rewards import EmbeddingCache, make_reward
from rlrec.semantic import rowwise_cosine

BANANA = "Item title: Banana; Category L1: Produce; Category L2: Fresh Fruits"
APPLE = "Item title: Apple; Category L1: Produce; Category L2: Fresh Fruits"
MILK = "Item title: Milk; Category L1: Dairy"
ANTI = "Item title: Anti"
TABLE = {BANANA: [2.0, 0.0, 0.0], APPLE: [1.0, 1.0, 0.0], MILK: [0.0, 0.0, 5.0], ANTI: [-1.0, 0.0, 0.0]}


def test_rowwise_cosine():
    a = np.array([[1.0, 0.0], [0.6, 0.8]])
    b = np.array([[0.0, 1.0], [0.6, 0.8]])
    assert rowwise_cosine(a, b) == pytest.approx([0.0, 1.0])


def test_hand_computed_cosines_and_unparseable(resources):
    embedder = with_table_embedder(resources, TABLE)
    reward = make_reward("semantic_cosine", resources=resources)
    completions = [
        completion("Banana", ("Produce", "Fresh Fruits")),
        completion("Apple", ("Produce", "Fresh Fruits")),
        completion("Milk", ("Dairy",)),
        completion("Anti"),
        "<think>no answer</think>",
    ]
    values = reward(["p"] * 5, completions, target_text=[BANANA] * 5)
    assert values[:4] == pytest.approx([1.0, 1 / math.sqrt(2), 0.0, -1.0])
    assert values[4] is None
    # one batched encode call, each distinct string once
    assert len(embedder.calls) == 1 and sorted(embedder.calls[0]) == sorted(TABLE)
    stats = reward.stats.pop("semantic_cosine")
    assert stats["reward/semantic_cosine/unparseable"] == 1.0
    assert stats["reward/semantic_cosine/nan_frac"] == pytest.approx(0.2)


def test_cache_hits_are_counted_and_nothing_is_encoded_twice(resources):
    embedder = with_table_embedder(resources, TABLE)
    reward = make_reward("semantic_cosine", resources=resources)
    group = [completion("Banana", ("Produce", "Fresh Fruits")), completion("Apple", ("Produce", "Fresh Fruits"))] * 2
    reward(["p"] * 4, group, target_text=[BANANA] * 4)
    # answers: Banana (miss), Apple (miss), then 2 in-batch repeats (hits); targets: 1 miss + 3 repeats (hits).
    # The Banana answer and target are the same string: the target side finds it encoded (hit), so 4 hits of 4.
    first = reward.extra_stats()
    assert first["answer_cache_hit_rate"] == pytest.approx(2 / 4)
    assert first["target_cache_hit_rate"] == pytest.approx(4 / 4)
    reward(["p"] * 4, group, target_text=[BANANA] * 4)
    assert len(embedder.calls) == 1  # the second step encodes nothing
    assert reward.extra_stats()["cache_hit_rate"] == 1.0
    assert reward.extra_stats() == {}  # reset on read


def test_embeds_the_answer_text_as_generated(resources):
    """Taiji Eq. 3 embeds the answer "extracted from the <answer> tags", not a re-rendering of its fields."""
    raw = "Item title:  Banana ;Category L1: Produce"
    with_table_embedder(resources, {raw: [1.0, 1.0, 0.0], BANANA: [1.0, 0.0, 0.0]})
    reward = make_reward("semantic_cosine", resources=resources)
    assert reward(["p"], [f"<think>t</think><answer>{raw}</answer>"], target_text=[BANANA]) == [
        pytest.approx(1 / math.sqrt(2))
    ]


def test_reward_and_evaluation_metric_give_the_same_number(resources):
    """One definition: the reward and the test-split metric ``Semantic_Cosine`` agree completion by completion
    (an answer whose raw text differs from its canonical rendering included); unanswered: reward None, metric 0."""
    from dataclasses import dataclass

    from reward_toys import TableEmbedder

    from rlrec.config import EvalConfig
    from rlrec.eval import compute_metrics

    raw = "Item title:  Banana ;Category L1: Produce"
    table = {**TABLE, raw: [1.0, 1.0, 1.0]}
    with_table_embedder(resources, table)
    completions = [completion("Apple", ("Produce", "Fresh Fruits")), f"<answer>{raw}</answer>", completion("Milk", ("Dairy",)),
                   completion("Anti"), "<think>no answer</think>"]
    targets = [BANANA, BANANA, MILK, BANANA, MILK]
    rewarded = make_reward("semantic_cosine", resources=resources)(["p"] * 5, completions, target_text=targets)

    @dataclass
    class Example:
        example_id: str
        target_text: str
        user_id: str = "u"
        prompt: str = "p"
        target_item_id: str = "x"
        target_categories: tuple = ()
        history_item_ids: tuple = ()

    examples = [Example(f"e{i}", t) for i, t in enumerate(targets)]
    result = compute_metrics(examples, [[c] for c in completions], EvalConfig(bootstrap_samples=10),
                             encoder=TableEmbedder(table))
    per_completion = [row["Semantic_Cosine"] for row in result.rows]
    expected = [1 / math.sqrt(2), 1 / math.sqrt(3), 1.0, -1.0]
    assert rewarded[:4] == pytest.approx(expected) and per_completion[:4] == pytest.approx(expected)
    assert rewarded[4] is None and per_completion[4] == 0.0
    assert result.value("Semantic_Cosine") == pytest.approx(sum(expected) / 5)


def test_two_rewards_share_one_cache(resources):
    with_table_embedder(resources, TABLE)
    a = make_reward("semantic_cosine", resources=resources)
    b = make_reward("semantic_cosine", {"cache_size": 5}, resources=resources, term="semantic_cosine_2")
    assert a.cache is b.cache


def test_embedding_cache_is_lru_bounded():
    from reward_toys import TableEmbedder

    cache = EmbeddingCache(TableEmbedder(TABLE), max_items=2)
    cache.embed([BANANA, APPLE])
    cache.embed([BANANA])  # Banana becomes most recent
    cache.embed([MILK])  # evicts Apple
    assert BANANA in cache and MILK in cache and APPLE not in cache and len(cache) == 2
    vectors, hit = cache.embed([BANANA, ANTI, ANTI])
    assert hit.tolist() == [True, False, True]
    assert np.linalg.norm(vectors, axis=1) == pytest.approx([1.0, 1.0, 1.0])


def test_real_minilm_scores_identity_as_one_and_related_above_unrelated(config):
    from rewards import Resources

    reward = make_reward("semantic_cosine", resources=Resources(config))
    values = reward(
        ["p"] * 3,
        [completion("Banana", ("Produce", "Fresh Fruits")), completion("Apple", ("Produce", "Fresh Fruits")),
         completion("Motor Oil 5W-30", ("Automotive", "Engine"))],
        target_text=[BANANA] * 3,
    )
    assert values[0] == pytest.approx(1.0, abs=1e-5)
    assert values[0] > values[1] > values[2]


def test_warm_catalog_makes_exact_catalogue_answers_hits(resources, catalog, tmp_path):
    from reward_toys import HashEmbedder

    from rewards.core.resources import embeddings_key

    resources.config.simulator.cache_dir = str(tmp_path)  # the item matrix is cached here
    cache = EmbeddingCache(HashEmbedder())
    resources.provide(embeddings_key(resources.config.model.embedder, "auto"), cache)
    reward = make_reward("semantic_cosine", {"warm_catalog": True}, resources=resources)
    assert len(cache) == len(catalog) and list(tmp_path.glob("*.npy"))
    banana = catalog["a"].text()
    encoded = cache.encoded
    values = reward(["p"], [completion("Banana", catalog["a"].categories)], target_text=[banana])
    assert values == [pytest.approx(1.0, abs=1e-6)] and cache.encoded == encoded  # nothing encoded
    assert reward.extra_stats()["cache_hit_rate"] == 1.0


def test_lone_surrogates_are_replaced_before_encoding_and_counted(config):
    """Issue 14 #10: a completion with a lone surrogate made MiniLM's tokenizer raise ``TypeError:
    TextEncodeInput must be …``; it is now replaced (U+FFFD) before encoding and counted."""
    from rewards import Resources

    reward = make_reward("semantic_cosine", resources=Resources(config))
    values = reward(["p"] * 2, [completion("Ban\ud800ana", ("Produce",)), completion("Banana", ("Produce", "Fresh Fruits"))],
                    target_text=[BANANA] * 2)
    assert all(isinstance(v, float) and -1.0 <= v <= 1.0 for v in values)
    assert values[1] == pytest.approx(1.0, abs=1e-5)
    assert reward.extra_stats()["sanitized_texts"] == 1.0


def test_encodable_texts_replaces_only_lone_surrogates():
    from rlrec.semantic import encodable_texts

    assert encodable_texts(["ok", "a\udc80b", "\ud83d", "é 😀"]) == (["ok", "a\ufffdb", "\ufffd", "é 😀"], 2)


def test_a_missing_target_text_scores_none_and_is_counted(resources, caplog):
    """Issue 14 #7: a None / NaN / empty target_text was embedded as the text "None" / "nan" / "" and scored
    0.1-0.2; it is now "not applicable" (None), counted in reward/<name>/missing_target and warned about."""
    embedder = with_table_embedder(resources, TABLE)
    reward = make_reward("semantic_cosine", resources=resources)
    answer = completion("Banana", ("Produce", "Fresh Fruits"))
    with caplog.at_level("WARNING", logger="rlrec"):
        values = reward(["p"] * 5, [answer] * 5, target_text=[None, math.nan, "", "   ", BANANA])
    assert values[:4] == [None, None, None, None] and values[4] == pytest.approx(1.0)
    assert all(set(call) <= {BANANA} for call in embedder.calls)  # "None" / "nan" never embedded
    assert reward.extra_stats()["missing_target"] == 4.0
    assert "'semantic_cosine': 4 of 5 examples have no target_text" in caplog.text


def test_target_text_treats_none_nan_and_blank_as_missing():
    from rlrec.semantic import target_text

    assert [target_text(v) for v in (None, math.nan, "", " \n", "nan", "Milk", 42)] == ["", "", "", "", "nan", "Milk", "42"]
