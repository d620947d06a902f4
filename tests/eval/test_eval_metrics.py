"""Metrics on hand-built completions against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from eval_fakes import BagOfWordsEncoder, FakeGrounder, FakeScorer, example, toy_catalog

from rlrec.answer import parse_answer
from rlrec.config import EvalConfig
from rlrec.eval import compute_metrics
from rlrec.eval.metrics import category_accuracy, gini, head_items, per_example_mean, title_hits

COMPLETIONS = [
    # u1 → a: L1 ✓ (case), L2 ✓ (case + spaces), grounds to a first
    "<think>likes dairy</think><answer>Item title: Whole Milk; Category L1: dairy; Category L2:  MILK </answer>",
    # u2 → b: L1 ✓, L2 ✗, grounds to [a, b, …]; empty think
    "<think></think><answer>Item title: Whole Milk; Category L1: Dairy; Category L2: Milk</answer>",
    # u3 → c: unanswered
    "I don't know",
    # u4 → e (target has L1 only): L1 ✓, L2 undefined
    "<think>bread</think><answer>Item title: Sourdough Bread; Category L1: Bakery</answer>",
]
POPULARITY = {"a": 10, "b": 5, "c": 3, "d": 1, "e": 0}


@pytest.fixture()
def toy():
    catalog = toy_catalog()
    examples = [
        example(catalog, 1, "u1", "a", ["c"]),
        example(catalog, 2, "u2", "b", ["a"]),
        example(catalog, 3, "u3", "c", ["d"]),
        example(catalog, 4, "u4", "e", ["e"]),
    ]
    return catalog, examples


def _run(toy, completions=None, **kw):
    catalog, examples = toy
    config = EvalConfig(hit_ks=[1, 2], bootstrap_samples=200, head_fraction=0.4)
    return compute_metrics(
        examples,
        completions or [[c] for c in COMPLETIONS],
        config,
        catalog=catalog,
        grounder=kw.get("grounder", FakeGrounder(catalog)),
        scorer=kw.get("scorer", FakeScorer()),
        encoder=kw.get("encoder", BagOfWordsEncoder()),
        popularity=kw.get("popularity", POPULARITY),
    )


def test_table1_and_table3_metrics_match_hand_computed_values(toy):
    m = {k: v.value for k, v in _run(toy).metrics.items()}
    assert m["Category_L1_ACC"] == pytest.approx(3 / 4)
    assert m["Category_L2_ACC"] == pytest.approx(1 / 3)  # defined on 3 examples (e has no L2)
    assert "Category_L3_ACC" not in m
    assert m["Title_Hit-Rate@1"] == pytest.approx(2 / 4)
    assert m["Title_Hit-Rate@2"] == pytest.approx(3 / 4)
    assert m["CTCVR"] == pytest.approx((0.01 + 0.01 + 0.0 + 0.10) / 4)
    assert m["Think_Tag_Presence_Rate"] == pytest.approx(3 / 4)
    assert m["Think_Non_Empty_Rate"] == pytest.approx(2 / 4)
    assert m["Answer_Non_Empty_Rate"] == pytest.approx(3 / 4)
    assert m["Unanswered_Rate"] == pytest.approx(1 / 4)
    assert m["Semantic_Cosine"] == pytest.approx((1 + 1 / math.sqrt(30) + 0 + 1) / 4)


def test_health_metrics_match_hand_computed_values(toy):
    m = {k: v.value for k, v in _run(toy).metrics.items()}
    assert m["Catalog_Coverage"] == pytest.approx(2 / 5)  # a and e recommended
    assert m["Popularity_Gini"] == pytest.approx(2 / 3)  # counts [2, 0, 0, 0, 1]
    assert m["Distinct_Categories_per_User"] == pytest.approx(3 / 4)  # u3 recommends nothing
    assert m["Novel_Category_Rate"] == pytest.approx(1 / 3)  # only u1 (history: Produce) gets Dairy
    assert m["Head_Item_Share"] == pytest.approx(2 / 3)  # head = {a, b}


def test_every_metric_has_a_ci_around_its_value_and_a_count(toy):
    result = _run(toy)
    for name, mv in result.metrics.items():
        assert mv.ci_low <= mv.value + 1e-12 and mv.value <= mv.ci_high + 1e-12, name
    assert result.metrics["Category_L2_ACC"].n == 3 and result.metrics["CTCVR"].n == 4
    assert result.counts["unanswered"] == 1 and result.counts["status/no_answer"] == 1


def test_ctcvr_conditions_on_the_prompt_history(toy):
    scorer = FakeScorer()
    _run(toy, scorer=scorer)
    assert scorer.histories == [["c"], ["a"], ["e"]]  # answered examples 1, 2, 4


def test_only_answered_completions_are_grounded_with_the_largest_k(toy):
    grounder = FakeGrounder(toy[0])
    _run(toy, grounder=grounder)
    (texts, k), = grounder.calls
    assert k == 2 and len(texts) == 3 and all("Item title:" in t for t in texts)


def test_missing_models_skip_their_metrics_with_a_reason(toy):
    catalog, examples = toy
    result = compute_metrics(examples, [[c] for c in COMPLETIONS], EvalConfig(hit_ks=[1], bootstrap_samples=50))
    assert "Category_L1_ACC" in result.metrics and "CTCVR" not in result.metrics
    assert set(result.skipped) >= {"Title_Hit-Rate@1", "CTCVR", "Semantic_Cosine", "health metrics"}
    assert "build_simulator" in result.skipped["CTCVR"]


def test_several_samples_per_example_average_per_example_first(toy):
    catalog, examples = toy
    wrong = "<think>x</think><answer>Item title: Apple; Category L1: Produce; Category L2: Fruit</answer>"
    completions = [[COMPLETIONS[0], wrong], [COMPLETIONS[1]], [COMPLETIONS[2]], [COMPLETIONS[3]]]
    result = _run(toy, completions=completions)
    # example 1: L1 = mean(1, 0) = 0.5; others as before (1, 0, 1)
    assert result.value("Category_L1_ACC") == pytest.approx((0.5 + 1 + 0 + 1) / 4)
    # u1 now recommends Dairy and Produce → 2 distinct categories
    assert result.value("Distinct_Categories_per_User") == pytest.approx((2 + 1 + 0 + 1) / 4)
    assert result.counts["completions"] == 5 and len(result.rows) == 5


def test_completion_count_mismatch_is_a_clear_error(toy):
    with pytest.raises(ValueError, match="one list per example"):
        compute_metrics(toy[1], [["x"]], EvalConfig())


def test_category_accuracy_is_nan_where_the_target_lacks_the_level():
    parsed = [parse_answer("<answer>Item title: X; Category L1: A; Category L2: B</answer>")] * 2
    acc = category_accuracy(parsed, [("a", "b"), ("A",)], level=2)
    assert acc[0] == 1.0 and math.isnan(acc[1])


def test_title_hits_cut_at_k():
    assert title_hits([["x", "t"], ["t"], []], ["t", "t", "t"], k=1).tolist() == [0.0, 1.0, 0.0]


def test_gini_extremes_and_hand_value():
    assert gini(np.array([3, 3, 3])) == pytest.approx(0.0)
    assert gini(np.array([0, 0, 0, 7])) == pytest.approx(0.75)  # (n-1)/n for one item taking everything
    assert gini(np.array([1, 2, 3, 4])) == pytest.approx(0.25)  # Σ|xi-xj| / (2 n² mean) = 20 / 80


def test_head_items_take_the_most_popular_fraction():
    assert head_items({"a": 5, "b": 9, "c": 1, "d": 0}, 0.5) == {"a", "b"}
    with pytest.raises(ValueError, match="head_fraction"):
        head_items({"a": 1}, 0.0)


def test_per_example_mean_skips_nan():
    values = np.array([1.0, np.nan, 0.0, np.nan])
    out = per_example_mean(values, np.array([0, 0, 1, 2]), 3)
    assert out[0] == 1.0 and out[1] == 0.0 and math.isnan(out[2])


def test_category_metrics_are_na_with_a_note_for_a_catalogue_without_categories():
    """#14 finding 14: no categories → Distinct_Categories_per_User is n/a, not a misleading 0.0000 [0, 0]."""
    from rlrec.data.schema import Catalog, Item

    catalog = Catalog([Item(i.item_id, i.title) for i in toy_catalog()])
    examples = [example(catalog, k, f"u{k}", t, ["c"]) for k, t in enumerate("abce", start=1)]
    result = _run((catalog, examples))
    for name in ("Distinct_Categories_per_User", "Novel_Category_Rate"):
        assert math.isnan(result.value(name)) and result.metrics[name].n == 0 and result.metrics[name].format() == "n/a"
        assert result.skipped[name] == "n/a: the catalogue has no categories"
    assert not any(name.startswith("Category_L") for name in result.metrics) and "Category_L<n>_ACC" in result.skipped
    assert result.value("Catalog_Coverage") > 0  # the item metrics are still computed
    assert "| Distinct_Categories_per_User | n/a | n/a | 0 |" in result.to_markdown()


def test_an_example_without_target_text_is_left_out_of_semantic_cosine_and_counted(toy):
    """Issue 14 #7, metric side: a missing target text is undefined (not embedded as "None" / "nan", not 0)."""
    import dataclasses

    catalog, examples = toy
    broken = [dataclasses.replace(examples[0], target_text=math.nan), *examples[1:]]
    result = _run((catalog, broken))
    # example 0 (a perfect answer, cosine 1) is left out: the mean is over the other three
    assert result.metrics["Semantic_Cosine"].value == pytest.approx((1 / math.sqrt(30) + 0 + 1) / 3)
    assert result.metrics["Semantic_Cosine"].n == 3 and result.counts["missing_target_text"] == 1
    assert "missing_target_text" not in _run(toy).counts
