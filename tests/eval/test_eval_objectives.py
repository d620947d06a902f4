"""A reward as an evaluation metric / objective (``rlrec.eval.objectives``): scored on the test completions
with the training columns, reported under its name with its own direction, written and read back."""

from __future__ import annotations

import math

import pytest
from eval_fakes import FakeGrounder, FakeScorer, example, toy_catalog

from rlrec.config import EvalConfig
from rlrec.eval import compute_metrics, read_result, write_result
from rlrec.eval.objectives import RewardObjective
from rlrec.eval.session import summary_values

COMPLETIONS = [
    "<answer>Item title: Whole Milk; Category L1: Dairy</answer>",  # 59 characters
    "<answer>Item title: Apple</answer>",  # 34
    "no answer",  # the reward says None: not applicable
]


def _examples():
    catalog = toy_catalog()
    return catalog, [example(catalog, 0, "u0", "a", []), example(catalog, 1, "u1", "c", []), example(catalog, 2, "u2", "e", [])]


def length_reward(prompts, completions, target_text, user_id, **columns):
    """Characters of an answered completion (lower is better), checking it gets the training record's columns."""
    assert len(prompts) == len(completions) == len(target_text) and user_id == [f"u{i}" for i in range(len(prompts))]
    assert prompts == ["What will the user buy next?"] * len(completions)  # the example's prompt field, as TRL would pass it
    return [float(len(c)) if "<answer>" in c else None for c in completions]


SHORT = RewardObjective("short_answer", length_reward, higher_is_better=False, range=(0.0, math.inf),
                        description="answer length in characters")


def test_a_reward_is_a_metric_with_its_own_direction(tmp_path):
    catalog, examples = _examples()
    result = compute_metrics(examples, [[c] for c in COMPLETIONS], EvalConfig(hit_ks=[1], bootstrap_samples=20),
                             catalog=catalog, grounder=FakeGrounder(catalog), scorer=FakeScorer(), rewards=[SHORT])
    assert result.value("short_answer") == pytest.approx((59 + 34) / 2)  # None is skipped, not a zero
    assert result.metrics["short_answer"].n == 2
    assert result.directions()["short_answer"] is False and result.directions()["CTCVR"] is True
    assert [row["short_answer"] for row in result.rows][:2] == [59.0, 34.0]
    assert "| Reward | short_answer |" in result.to_markdown()
    back = read_result(write_result(result, tmp_path))
    assert back.directions()["short_answer"] is False and back.info_of("short_answer").group == "Reward"
    assert back.info_of("short_answer").range == (0.0, math.inf)

    summary = summary_values(result, ["CTCVR", "short_answer"], final=True)
    assert summary["objective/short_answer"] == result.value("short_answer")
    assert summary["higher_is_better"]["short_answer"] is False and summary["metric_groups"]["short_answer"] == "Reward"
    assert summary["objectives"] == ["CTCVR", "short_answer"]


def test_no_rewards_no_extra_metrics_and_a_name_clash_is_an_error():
    catalog, examples = _examples()
    plain = compute_metrics(examples, [[c] for c in COMPLETIONS], EvalConfig(bootstrap_samples=5))
    assert "short_answer" not in plain.metrics and plain.info == {}
    for name in ("CTCVR", "Title_Hit-Rate@7"):
        clash = RewardObjective(name, length_reward)
        with pytest.raises(ValueError, match="share a name with an evaluation metric"):
            compute_metrics(examples, [[c] for c in COMPLETIONS], EvalConfig(bootstrap_samples=5), rewards=[clash])


def test_analysis_reads_a_reward_objective_and_its_direction(tmp_path):
    """Two runs hit every target; the one with shorter answers dominates only because the reward declared
    ``higher_is_better=False`` — the Pareto analysis reads it from the run, nothing is hard-coded."""
    import json

    import yaml

    from analysis.collect import collect_local, runs_table
    from analysis.fronts import analyse_fronts

    catalog = toy_catalog()
    examples = [example(catalog, 0, "u0", "a", []), example(catalog, 1, "u1", "c", [])]
    answers = {"terse": ["<answer>Item title: Whole Milk</answer>", "<answer>Item title: Apple</answer>"],
               "verbose": ["<answer>Item title: Whole Milk; Category L1: Dairy</answer>",
                           "<answer>Item title: Apple; Category L1: Produce</answer>"]}
    for variant, completions in answers.items():
        result = compute_metrics(examples, [[c] for c in completions], EvalConfig(hit_ks=[1], bootstrap_samples=5),
                                 grounder=FakeGrounder(catalog), rewards=[SHORT], label="rl")
        assert result.value("Title_Hit-Rate@1") == 1.0
        run = tmp_path / f"style={variant}"
        (run / ".hydra").mkdir(parents=True)
        (run / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump([f"style={variant}"]))
        (run / "config.yaml").write_text(yaml.safe_dump({"seed": 0, "style": variant}))
        summary = summary_values(result, ["Title_Hit-Rate@1", "short_answer"], final=True)
        (run / "summary.json").write_text(json.dumps(summary))
    fronts = analyse_fronts(runs_table(collect_local(tmp_path)), n_resamples=10)
    assert fronts.objectives == ["Title_Hit-Rate@1", "short_answer"] and fronts.maximize == [True, False]
    on_front = dict(zip(fronts.points["variant"], fronts.points["on_global_front"]))
    assert on_front == {"style=terse": True, "style=verbose": False}
