"""RecGPT self-training (§2.1.2 Stage 3) on the tiny model and the toy world: generate → judge-filter → SFT rounds
with deterministic judges, so every pass rate is known; rounds are cached stages; the entry point's judge lookup."""

from __future__ import annotations

import json

import pytest
import torch
from judge_stub import RuleJudge, judge_params
from recgpt_toys import toy_prepared

from rewards import make_reward
from rlrec.config import Config, ConfigError, ModelConfig, RewardConfig, RewardTermConfig, SFTConfig, TaskConfig
from rlrec.config.task import SelfTrainConfig
from rlrec.recgpt.parsing import parse_explanation
from rlrec.recgpt.self_train import round_prompts, self_train
from rlrec.stages import RunContext, Stage

PREPARED = toy_prepared()
STAGES = {"data": Stage("data", key=lambda c: ("toy-recgpt",), run=lambda c, f: PREPARED, load=lambda c, f: PREPARED)}


class FirstSampleJudge:
    """Passes the first of every prompt's two candidates (candidates arrive prompt-major); records its calls."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def __call__(self, prompts, completions, **columns):
        assert {"example_id", "target_item_id", "history_item_ids"} <= set(columns)  # a reward's dataset columns
        self.calls.append([columns["example_id"][i] for i in range(len(completions))])
        return [1.0 if i % 2 == 0 else 0.0 for i in range(len(completions))]


def _config(tmp_path, tiny_lm_path, **self_train) -> Config:
    task = TaskConfig(name="explanations", max_new_tokens=12, temperature=1.0,
                      self_train=SelfTrainConfig(**{"rounds": 2, "prompts_per_round": 2, "samples_per_prompt": 2,
                                                    **self_train}))
    sft = SFTConfig(epochs=1, learning_rate=1e-3, batch_size=2, max_length=1024, logging_steps=1, warmup_ratio=0.0)
    return Config(task=task, sft=sft, model=ModelConfig(policy=str(tiny_lm_path)),
                  artifacts_dir=str(tmp_path / "artifacts"))


def test_round_prompts_take_the_next_slice_and_wrap():
    examples = list(range(5))
    assert [round_prompts(examples, 2, r) for r in (1, 2, 3, 4)] == [[0, 1], [2, 3], [4, 0], [1, 2]]
    assert round_prompts(examples, 9, 1) == examples
    with pytest.raises(ValueError, match="has no examples"):
        round_prompts([], 2, 1)


def test_two_rounds_filter_train_chain_and_are_cached(tmp_path, tiny_lm_path):
    from transformers import AutoModelForCausalLM

    config = _config(tmp_path, tiny_lm_path)
    judge = FirstSampleJudge()
    (first,) = self_train(RunContext(_config(tmp_path, tiny_lm_path, rounds=1), tmp_path / "run1"), STAGES, judge,
                          "first-sample")
    # two rounds after one: round 1 is reused (the round count is not in its key), round 2 runs from its checkpoint
    results = self_train(RunContext(config, tmp_path / "run"), STAGES, judge, "first-sample")
    assert results[0] == first
    assert [row["reused"] for row in json.loads((tmp_path / "run" / "stages.json").read_text())] == [True, True, False]
    assert judge.calls == [["u0#15"] * 2 + ["u1#15"] * 2, ["u2#15"] * 2 + ["u3#15"] * 2]  # slice per round
    for r in results:
        assert (r.prompts, r.candidates, r.judged, r.passed, r.pass_rate, r.sft_samples) == (2, 4, 4, 2, 0.5, 2)
        assert r.mean_score == 0.5 and r.sft_loss is not None and r.sft_loss > 0
    assert results[0].start_policy == str(tiny_lm_path) and results[1].start_policy == results[0].policy
    assert results[1].policy != results[0].policy
    trained = AutoModelForCausalLM.from_pretrained(results[1].policy).state_dict()
    base = AutoModelForCausalLM.from_pretrained(tiny_lm_path).state_dict()
    assert any(not torch.equal(trained[k], base[k]) for k in base)
    rows = [json.loads(line) for line in (tmp_path / "artifacts").glob("recgpt_self_train/*/candidates.jsonl")
            .__next__().read_text().splitlines()]
    assert [r["passed"] for r in rows] == [r["sample"] == 0 for r in rows]
    md = (tmp_path / "run" / "recgpt_self_train.md").read_text()
    assert "| 1 | 2 | 4 | 4 | 2 | 0.500 | 0.500 | 2 |" in md and "| 2 | 2 | 4 | 4 | 2 | 0.500 | 0.500 | 2 |" in md
    assert [r["round"] for r in json.loads((tmp_path / "run" / "recgpt_self_train.json").read_text())] == [1, 2]
    # a rerun reuses both rounds: nothing is generated, judged or trained again
    again = self_train(RunContext(config, tmp_path / "run2"), STAGES, judge, "first-sample")
    assert again == results and len(judge.calls) == 2
    assert [row["reused"] for row in json.loads((tmp_path / "run2" / "stages.json").read_text())] == [True] * 3


def _odd_fails_factuality(answer: str, criterion: str) -> bool:
    return criterion != "factuality" or len(answer) % 2 == 0


def test_one_round_with_the_rubric_judge_reward(tmp_path, tiny_lm_path):
    """The recgpt_judge reward as the filter (a rule-based endpoint): the pass count follows from the candidates;
    with a judge that passes nothing the round trains nothing and hands its policy on."""
    config = _config(tmp_path, tiny_lm_path, rounds=1)
    with RuleJudge(_odd_fails_factuality) as server:
        judge = make_reward("recgpt_judge", judge_params(server, task="explanations"))
        (result,) = self_train(RunContext(config, tmp_path / "run"), STAGES, judge, "rule")
    rows = [json.loads(line) for line in next((tmp_path / "artifacts").glob("recgpt_self_train/*/candidates.jsonl"))
            .read_text().splitlines()]
    expected = []
    for r in rows:
        values = parse_explanation(r["completion"]).values
        score = (0.75 if len(values[0]) % 2 else 1.0) if values else 0.0
        assert r["score"] == score
        expected.append(score >= 1.0)
    assert result.passed == sum(expected) and result.pass_rate == sum(expected) / 4
    assert result.sft_samples == sum(expected) and (result.sft_loss is None) == (not any(expected))
    with RuleJudge(lambda answer, criterion: False) as server:
        never = make_reward("recgpt_judge", judge_params(server, task="explanations"))
        (none,) = self_train(RunContext(_config(tmp_path / "b", tiny_lm_path, rounds=1), tmp_path / "b"), STAGES,
                             never, "never")
    assert none.passed == 0 and none.sft_samples == 0 and none.sft_loss is None
    assert none.policy == none.start_policy == str(tiny_lm_path)


def test_config_and_judge_lookup_errors():
    from experiments.recgpt import judge_reward

    with pytest.raises(ValueError, match="samples_per_prompt=2 needs sampling"):
        TaskConfig(name="explanations", temperature=0.0)
    with pytest.raises(ValueError, match="task.mode='self-train'.*Did you mean 'self_train'"):
        TaskConfig(mode="self-train")
    config = Config(task=TaskConfig(name="explanations"), reward=RewardConfig("taiji", {"format": RewardTermConfig()}))
    with pytest.raises(ConfigError, match="judge_term='recgpt_judge' is not a term of reward='taiji'.*format"):
        judge_reward(RunContext(config, None))
    terms = {"recgpt_judge": RewardTermConfig(params={"task": "interests"})}
    config = Config(task=TaskConfig(name="explanations"), reward=RewardConfig("r", terms))
    with pytest.raises(ConfigError, match="params.task='interests' judges another task.*params.task=explanations"):
        judge_reward(RunContext(config, None))
    with pytest.raises(ValueError, match="needs a RecGPT task"):
        self_train(RunContext(Config(), None), STAGES, FirstSampleJudge(), "x")


def test_entry_point_mode_self_train(tmp_path, tiny_lm_path, monkeypatch):
    """``experiments.recgpt`` task.mode=self_train (below Hydra): the judge is the task reward set's recgpt_judge term
    at a rule-based endpoint that passes everything, so every candidate is trained on."""
    from experiments import recgpt, stages
    from rlrec.config import RewardConfig, RewardTermConfig

    monkeypatch.setitem(stages.STAGES, "data", STAGES["data"])
    config = _config(tmp_path, tiny_lm_path, rounds=1, prompts_per_round=1)
    config.task.mode = "self_train"
    with RuleJudge(lambda answer, criterion: True) as server:
        config.reward = RewardConfig("recgpt_explanations", {"recgpt_judge": RewardTermConfig(
            params=judge_params(server, task="explanations"))})
        recgpt.MODES[config.task.mode](config, tmp_path / "run")
    (row,) = json.loads((tmp_path / "run" / "recgpt_self_train.json").read_text())
    candidates = [json.loads(line)["completion"] for line in next(
        (tmp_path / "artifacts").glob("recgpt_self_train/*/candidates.jsonl")).read_text().splitlines()]
    parseable = sum(bool(parse_explanation(c).values) for c in candidates)  # unparseable: 0 without a request
    assert row["candidates"] == 2 and row["passed"] == row["sft_samples"] == parseable == len(server.requests)
    assert "| round | prompts | candidates |" in (tmp_path / "run" / "recgpt_self_train.md").read_text()
