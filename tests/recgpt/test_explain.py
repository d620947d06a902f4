"""LLM_RE (§2.4) for (user interests, top-1 tri-tower item) on the toy world: the inputs are known (each user buys in
one department), the tiny model writes, a rule-based judge scores, and the summary's counts follow from the rows."""

from __future__ import annotations

import json

import pytest
from judge_stub import RuleJudge, judge_params
from recgpt_toys import DEPARTMENTS, toy_prepared

from rewards import make_reward
from rlrec.config import TaskConfig, TowerConfig
from rlrec.generation import GenerationConfig
from rlrec.recgpt.explain import explain, explanation_inputs, explanations_markdown
from rlrec.recgpt.parsing import parse_explanation
from rlrec.recgpt.stages import train_tower_pair

TASK = TaskConfig(name="explanations", explain_users=4, towers=TowerConfig(dim=16, hidden=32, history_len=10,
                                                                           epochs=20, batch_size=64,
                                                                           learning_rate=1e-2, id_dropout=0.5))


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    prepared = toy_prepared()
    return prepared, train_tower_pair(prepared, TASK.towers, tmp_path_factory.mktemp("towers"))


def test_inputs_pair_the_users_interest_with_an_item_of_their_department(world):
    prepared, towers = world
    inputs = explanation_inputs(prepared, towers, TASK)
    assert [i.user_id for i in inputs] == ["u32", "u33", "u34", "u35"]
    for inp in inputs:
        fine = list(DEPARTMENTS.values())[int(inp.user_id[1:]) % 4]
        assert inp.interests == [fine]  # the one finest category they buy
        assert prepared.log.catalog[inp.item_id].categories[-1] == fine  # retrieved in their department
        assert f"User interests: {fine}\n" in inp.prompt and f"Item: {inp.item_text}\n" in inp.prompt
    with pytest.raises(ValueError, match="no examples to explain"):
        explanation_inputs(prepared, towers, TASK, split="test", n=0)


def _odd_fails_factuality(answer: str, criterion: str) -> bool:
    return criterion != "factuality" or len(answer) % 2 == 0


def test_explanations_on_the_tiny_model_with_a_rule_judge(world, tiny_lm, tokenizer, tmp_path):
    prepared, towers = world
    inputs = explanation_inputs(prepared, towers, TASK)
    with RuleJudge(_odd_fails_factuality) as server:
        judge = make_reward("recgpt_judge", judge_params(server, task="explanations"))
        gen = GenerationConfig(max_new_tokens=12, temperature=0.0, batch_size=4)
        summary = explain(inputs, tiny_lm.eval(), tokenizer, gen, tmp_path, judge, pass_threshold=1.0)
    rows = [json.loads(line) for line in (tmp_path / "recgpt_explanations.jsonl").read_text().splitlines()]
    assert [r["item_id"] for r in rows] == [i.item_id for i in inputs]
    expected = []
    for r in rows:
        parsed = parse_explanation(r["completion"])
        assert r["status"] == parsed.status.value and r["explanation"] == (parsed.values or [""])[0]
        score = (0.75 if len(parsed.values[0]) % 2 else 1.0) if parsed.values else 0.0  # unparseable: 0, no request
        assert r["judge_score"] == score
        expected.append(score >= 1.0)
    assert summary["explanations"] == 4 and summary["passed"] == sum(expected)
    assert summary["pass_rate"] == sum(expected) / 4 and summary["judged"] == 4
    assert summary["with_explanation"] == sum(bool(r["explanation"]) for r in rows) == len(server.requests)
    assert json.loads((tmp_path / "recgpt_explanations.json").read_text()) == summary
    md = explanations_markdown(summary, tmp_path / "recgpt_explanations.jsonl")
    assert f"| passed | {sum(expected)} |" in md and md.count("\n| u3") == 4


def test_entry_point_mode_explanations(world, tiny_lm_path, tmp_path, monkeypatch):
    """``experiments.recgpt`` task.mode=explanations (below Hydra) with the toy data and towers as its stages, the tiny
    policy and the explanation rubric judge of the task's reward set at a rule-based endpoint."""
    from experiments import recgpt, stages
    from rlrec.config import Config, ModelConfig, RewardConfig, RewardTermConfig
    from rlrec.stages import Stage

    prepared, towers = world
    monkeypatch.setitem(stages.STAGES, "data", Stage("data", key=lambda c: ("toy",), run=lambda c, f: prepared,
                                                     load=lambda c, f: prepared))
    monkeypatch.setitem(stages.STAGES, "tri_tower", Stage("tri_tower", key=lambda c: ("toy",), run=lambda c, f: towers,
                                                          load=lambda c, f: towers))
    with RuleJudge() as server:
        terms = {"recgpt_judge": RewardTermConfig(params=judge_params(server, task="explanations"))}
        config = Config(task=TaskConfig(name="explanations", mode="explanations", explain_users=3, max_new_tokens=8,
                                        explain_judge=True), model=ModelConfig(policy=str(tiny_lm_path)),
                        reward=RewardConfig("recgpt_explanations", terms), artifacts_dir=str(tmp_path / "artifacts"))
        recgpt.MODES[config.task.mode](config, tmp_path)
    summary = json.loads((tmp_path / "recgpt_explanations.json").read_text())
    assert summary["explanations"] == 3 and summary["judged"] == 3
    assert summary["passed"] == summary["with_explanation"]  # the marker rule passes any text without markers
    assert (tmp_path / "recgpt_explanations.md").read_text().startswith("# RecGPT LLM_RE explanations")
