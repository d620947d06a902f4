"""The main job end to end (`experiments.pipeline`) on real Instacart data with the tiny LM in every model role,
then the same command again: every stage must be reused from its artifact, and the report rebuilt."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _overrides(tiny: Path, embedder: Path, artifacts: Path, run_dir: Path) -> list[str]:
    return [
        "experiment=quick", f"artifacts_dir={artifacts}", f"hydra.run.dir={run_dir}",
        f"model.policy={tiny}", f"model.embedder={embedder}", "model.max_new_tokens=8",
        "data.max_users=30", "data.history_len=8", "data.prompt_token_budget=192",
        "simulator.epochs=1",
        f"distill.teacher.model={tiny}", "distill.teacher.max_new_tokens=12", "distill.max_examples=3",
        "distill.num_candidates=2", "distill.min_cot_chars=1",
        "sft.epochs=1", "sft.eval_examples=2", "sft.eval_max_new_tokens=8",
        "rl.max_steps=1", "rl.max_prompts=2", "rl.max_completion_length=8",
        "eval.max_examples=3", "eval.bootstrap_samples=50",
    ]


def _run(args: list[str]) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "WANDB_MODE": "disabled", "HF_HUB_OFFLINE": "1"}
    result = subprocess.run([sys.executable, "-m", "experiments.pipeline", *args], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]
    return result


# two subprocess runs of every stage with the tiny LM and the tiny embedder (the simulator still embeds the 14,190
# logged Instacart items): ~50 s on an idle 2-core machine, cold caches included
def test_pipeline_runs_every_stage_then_resumes_from_artifacts(tiny_lm_path, tiny_embedder_path, tmp_path):
    artifacts = tmp_path / "artifacts"
    first = tmp_path / "run1"
    _run(_overrides(tiny_lm_path, tiny_embedder_path, artifacts, first))

    stages = json.loads((first / "stages.json").read_text())
    assert [s["stage"] for s in stages] == ["data", "simulator", "distill", "sft", "rl", "evaluate base", "evaluate sft",
                                            "evaluate rl"]
    assert not any(s["reused"] for s in stages)
    report = (first / "report.md").read_text()
    assert "| group | metric | base | sft | rl | rl vs base | rl vs sft |" in report
    for name in ("pareto.png", "weights.png", "ppl_hist.png", "data_card.md", "simulator_card.md", "summary.json"):
        assert (first / name).stat().st_size > 0, name
    for label in ("base", "sft", "rl"):
        assert (first / "eval" / label / "eval_metrics.json").exists()
    summary = json.loads((first / "summary.json").read_text())
    assert {"objective/Semantic_Cosine", "objective/CTCVR"} <= set(summary)
    rows = [json.loads(line) for line in (first / "metrics.jsonl").read_text().splitlines()]
    assert any("weights/semantic_cosine" in r and "monitor/format_valid_rate" in r for r in rows)

    second = tmp_path / "run2"
    result = _run(_overrides(tiny_lm_path, tiny_embedder_path, artifacts, second))
    log = result.stdout + result.stderr
    for stage in ("data", "simulator", "distill", "sft", "rl", "evaluate base", "evaluate sft", "evaluate rl"):
        assert f"{stage}: reusing" in log, stage
    assert all(s["reused"] for s in json.loads((second / "stages.json").read_text()))
    again = json.loads((second / "summary.json").read_text())
    assert again["objective/CTCVR"] == summary["objective/CTCVR"]
    # the reused RL stage replays its curves into the new run's log
    assert any("weights/semantic_cosine" in json.loads(line) for line in (second / "metrics.jsonl").read_text().splitlines())


def test_the_pipeline_runs_the_stages_rewards_require_without_naming_them():
    import rewards
    from rewards.alignment_score import AlignmentScore
    from rlrec.config import Config, RewardConfig, RewardTermConfig

    def needs(**terms) -> list[str]:
        return rewards.requirements(Config(reward=RewardConfig(terms=terms)))

    assert needs(semantic_cosine=RewardTermConfig(), ctcvr=RewardTermConfig()) == []
    assert needs(alignment_score=RewardTermConfig()) == ["alignment_models"]
    assert needs(rm=RewardTermConfig(reward="alignment_score"), rm2=RewardTermConfig(reward="alignment_score")) == [
        "alignment_models"]  # renamed terms, asked once
    assert needs(alignment_score=RewardTermConfig(params={"path": "/some/rm"})) == []
    # composed Hydra configs carry the reward's Params object, not a dict
    assert needs(alignment_score=RewardTermConfig(params=AlignmentScore.Params())) == ["alignment_models"]
    assert needs(alignment_score=RewardTermConfig(params=AlignmentScore.Params(path="/some/rm"))) == []
    from experiments.stages import STAGES

    assert {"alignment_models", "simulator", "data"} <= set(STAGES)  # every required product has a stage


def test_rewards_use_the_runs_simulator_and_trained_models_from_the_run_context(tmp_path):
    import rewards
    from rewards.alignment_score import AlignmentScore
    from rewards.core.base import RewardError

    products = {"simulator": tmp_path / "sim", "alignment_models": {"pointwise": tmp_path / "pw"}}
    resources = rewards.Resources(products=products)
    assert resources.simulator_path() == (tmp_path / "sim").resolve()
    assert resources.simulator_path(str(tmp_path / "other")) == (tmp_path / "other").resolve()  # params.simulator wins
    assert AlignmentScore._trained_path(resources, "pointwise") == str(tmp_path / "pw")
    with pytest.raises(RewardError, match="alignment.reward_model.modes"):
        AlignmentScore._trained_path(resources, "pairwise")


def test_no_stage_writes_its_products_into_the_config(tmp_path):
    """The pipeline's stage functions read ``Config`` and return products; the config object is left as given."""
    import copy

    from experiments import stages
    from rlrec.config import Config

    ctx = stages.context(Config(artifacts_dir=str(tmp_path)), tmp_path)
    before = copy.deepcopy(ctx.config)
    assert stages.start_policy(ctx) == ctx.config.model.policy
    ctx.products["sft"] = tmp_path / "sft"
    assert stages.start_policy(ctx) == str(tmp_path / "sft")
    assert ctx.config == before


def test_the_sft_folder_ignores_the_size_of_the_format_check_but_not_training(tmp_path, monkeypatch):
    """``sft.eval_examples`` only sizes ``experiments.sft``'s check after training: a pipeline run must reuse the
    checkpoint a single-stage SFT run built with another value; a training field keys a new folder."""
    import dataclasses

    from experiments import stages
    from rlrec.config import Config

    monkeypatch.setattr(stages, "_data_fingerprint", lambda ctx: None)  # no data files read for a key

    def key(**sft):
        config = Config(artifacts_dir=str(tmp_path))
        config = dataclasses.replace(config, sft=dataclasses.replace(config.sft, **sft))
        return stages.SFT.key(stages.context(config, tmp_path))

    assert key(eval_examples=8) == key(eval_examples=32) == key(eval_examples=None)
    assert key(epochs=1) != key(epochs=2)
