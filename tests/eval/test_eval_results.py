"""Result files: JSON round trip, markdown layout, summary keys, directions; generation on a tiny model."""

from __future__ import annotations

import json

import pytest
from eval_fakes import FakeGrounder, FakeScorer, example, toy_catalog

from rlrec.config import EvalConfig, ModelConfig
from rlrec.eval import evaluate, metric_info, read_result, write_result
from rlrec.eval.evaluation import compute_metrics

COMPLETION = "<think>t</think><answer>Item title: Whole Milk; Category L1: Dairy; Category L2: Milk</answer>"


@pytest.fixture()
def result():
    catalog = toy_catalog()
    examples = [example(catalog, 1, "u1", "a", ["c"]), example(catalog, 2, "u2", "b", ["a"])]
    return compute_metrics(
        examples,
        [[COMPLETION], ["nothing"]],
        EvalConfig(hit_ks=[1], bootstrap_samples=100),
        catalog=catalog,
        grounder=FakeGrounder(catalog),
        scorer=FakeScorer(),
        label="sft",
    )


def test_result_files_round_trip(result, tmp_path):
    out = write_result(result, tmp_path / "eval" / "sft")
    data = json.loads((out / "eval_metrics.json").read_text())
    assert data["label"] == "sft" and data["metrics"]["CTCVR"]["higher_is_better"] is True
    assert data["metrics"]["Popularity_Gini"]["higher_is_better"] is False
    back = read_result(out)
    assert back.metrics["Category_L1_ACC"].value == pytest.approx(result.value("Category_L1_ACC"))
    rows = [json.loads(line) for line in (out / "completions.jsonl").read_text().splitlines()]
    assert [r["status"] for r in rows] == ["ok", "no_answer"] and rows[0]["grounded_item"] == "a"


def test_markdown_groups_metrics_like_taiji_tables(result):
    md = result.to_markdown()
    assert "| Metric Type | Metric | Value | 95% CI | n |" in md
    for group in ("Format Accuracy", "Semantic Hit-Rate", "Preference Hit-Rate", "Health"):
        assert group in md
    assert md.index("Format Accuracy") < md.index("Semantic Hit-Rate") < md.index("Preference Hit-Rate")
    assert "skipped Semantic_Cosine" in md


def test_summary_keys_and_directions(result):
    summary = result.summary()
    assert summary["eval/sft/Category_L1_ACC"] == pytest.approx(0.5)
    assert result.directions()["Popularity_Gini"] is False and result.directions()["CTCVR"] is True
    assert metric_info("Category_L4_ACC").higher_is_better and metric_info("Title_Hit-Rate@7").group == "Semantic Hit-Rate"
    with pytest.raises(KeyError, match="unknown evaluation metric"):
        metric_info("Bogus")


def test_eval_config_rejects_sampling_without_temperature():
    with pytest.raises(ValueError, match="temperature"):
        EvalConfig(num_samples=4, temperature=0.0)


def test_evaluate_generates_with_an_in_memory_model(tiny_lm, tokenizer):
    catalog = toy_catalog()
    examples = [example(catalog, 1, "u1", "a", ["c"]), example(catalog, 2, "u2", "b", ["a"])]
    config = EvalConfig(hit_ks=[1], bootstrap_samples=20, max_new_tokens=4)
    result = evaluate(examples, config, ModelConfig(), model=tiny_lm, tokenizer=tokenizer, label="tiny")
    assert result.counts["completions"] == 2 and result.label == "tiny"
    assert result.settings["generation"]["max_new_tokens"] == 4 and result.settings["model"] == "<in-memory>"


def test_evaluate_loads_a_checkpoint_through_the_hf_backend(tiny_lm_path):
    catalog = toy_catalog()
    examples = [example(catalog, 1, "u1", "a", ["c"])]
    config = EvalConfig(checkpoint=str(tiny_lm_path), hit_ks=[1], bootstrap_samples=10, max_new_tokens=3, num_samples=2, temperature=1.0)
    result = evaluate(examples, config, ModelConfig(), grounder=FakeGrounder(catalog))
    assert result.counts["completions"] == 2 and result.settings["model"] == str(tiny_lm_path)


def test_summary_values_carry_the_objective_vector_only_for_the_final_model(result):
    from rlrec.eval.session import summary_values

    final = summary_values(result, ["CTCVR", "Semantic_Cosine"], final=True)
    assert final["objective/CTCVR"] == result.value("CTCVR") and "objective/Semantic_Cosine" not in final  # not computed
    assert final["objectives"] == ["CTCVR", "Semantic_Cosine"] and final["higher_is_better"]["Popularity_Gini"] is False
    assert final["metric_groups"]["CTCVR"] == "Preference Hit-Rate"
    intermediate = summary_values(result, ["CTCVR"], final=False)
    assert not any(k.startswith("objective") for k in intermediate) and "eval/sft/CTCVR" in intermediate
