"""Smoke runs of both seed-003 stages on the tiny LM, with hand-built simulator sources."""

import json

import numpy as np
import pytest

from rlrec.alignment import stages
from rlrec.alignment.sources import AlignmentSources
from rlrec.config import Config


@pytest.fixture()
def sources(toy_points, toy_pairs, toy_names, tmp_path):
    sequences = {"u1": ["c0", "c1", "c2", "c3"], "u2": ["c1", "c2", "c4", "c0"], "u3": ["c3", "c4", "c6"],
                 "u4": ["c0", "c1"], "u5": ["c5"]}
    return AlignmentSources(
        simulator_dir=tmp_path / "sim", fingerprint="toy", names=toy_names, sequences=sequences, ordered_context=True,
        points=toy_points, pairs=toy_pairs,
        engagement=lambda users, clusters: np.array([0.1 * int(c[1:]) for c in clusters]),
        engagement_description="toy: 0.1 x cluster number",
    )


@pytest.fixture()
def config(tiny_lm_path, tmp_path) -> Config:
    config = Config(artifacts_dir=str(tmp_path / "artifacts"))
    a = config.alignment
    a.served_k = 2
    a.novelty.model = str(tiny_lm_path)
    a.novelty.batch_size = 4
    a.reward_model.backbone = str(tiny_lm_path)
    a.reward_model.train_layers = 1  # of the tiny LM's 2 blocks: the CPU default's code path
    a.reward_model.max_steps = 4
    a.reward_model.eval_every = 2
    a.reward_model.batch_size = 4
    a.reward_model.eval_fraction = 0.5
    a.reward_model.random_draws = 3
    a.best_of_n.oversample = 2
    a.best_of_n.max_new_tokens = 4
    a.best_of_n.users = 10
    return config


def test_train_alignment_then_best_of_n(config, sources, tmp_path, monkeypatch):
    monkeypatch.setattr(stages, "load_sources", lambda _config, _simulator_dir=None: sources)
    run = tmp_path / "run"
    run.mkdir()
    metrics = stages.train_alignment(config, run)
    assert set(metrics["reward_model"]) == {"pointwise", "pairwise"}
    for r in metrics["reward_model"].values():
        _assert_checkpoint_is_the_selected_one(config, sources, r)
    # novel transitions by hand (context 2): u1 c0,c1→c2 and c1,c2→c3; u2 c1,c2→c4 and c2,c4→c0; u3 c3,c4→c6;
    # u4 and u5 have no position with two clusters before it
    assert metrics["novelty"]["examples"] == 5 and metrics["novelty"]["users"] == 3
    assert metrics["novelty"]["mined"] == {"novel": 5, "user_too_short": 2}
    for name in ("alignment_report.md", "alignment_metrics.json", "reward_model_curves.png"):
        assert (run / name).stat().st_size > 0
    assert "| pointwise |" in (run / "alignment_report.md").read_text()

    # the alignment_score reward's default (params.path=None) resolves to the checkpoint trained for this config
    assert stages.trained_reward_model(config, "pairwise") == stages.Path(metrics["reward_model"]["pairwise"]["checkpoint"])

    # a rerun with the same config reuses both models instead of training again
    again = stages.train_alignment(config, run)
    assert again["reward_model"]["pointwise"]["selected"] == metrics["reward_model"]["pointwise"]["selected"]

    out = stages.run_best_of_n(config, run)
    assert set(out["arms"]) == {"plain", "random_of_n", "best_of_n"}
    # users with >= 2 distinct clusters: u1..u4; contexts (c2,c3) (c4,c0) (c4,c6) (c0,c1)
    assert out["users"] == 4 and out["contexts"] == 4 and out["n"] == 4
    assert sum(out["matcher"].values()) == 16
    saved = json.loads((run / "best_of_n.json").read_text())
    assert saved["arms"].keys() == out["arms"].keys()
    for arm in out["arms"]:
        assert (run / f"transition_table_{arm}.json").exists()
    assert "best_of_n" in (run / "best_of_n_report.md").read_text()


def _assert_checkpoint_is_the_selected_one(config, sources, r) -> None:
    """The saved checkpoint is the best-F1 evaluation of the run (earliest on ties), and re-scoring the held-out
    groups with it gives back the F1@K / NDCG@K the report selected it with."""
    from rlrec.alignment.feedback import split_feedback
    from rlrec.alignment.ranking import evaluate_ranking
    from rlrec.alignment.reward_model import load_reward_model, score

    a = config.alignment
    history = json.loads((stages.Path(r["checkpoint"]).parent / "eval_history.json").read_text())["history"]
    best = max(row["f1"] for row in history)
    first_best = next(row for row in history if row["f1"] > best - 1e-9)
    assert r["selected"] == first_best and r["final"] == history[-1] and len(history) == 3  # steps 0, 2, 4
    split = split_feedback(sources.points, sources.pairs, a.served_k, a.reward_model.eval_fraction, config.seed,
                           a.reward_model.max_eval_groups)
    model, tokenizer = load_reward_model(r["checkpoint"])
    flat = score(model, tokenizer, [g.context for g in split.groups for _ in g.candidates],
                 [c for g in split.groups for c in g.candidates])
    parts = np.split(flat, np.cumsum([len(g.candidates) for g in split.groups])[:-1])
    again = evaluate_ranking(split.groups, parts, a.served_k, a.reward_model.random_draws, config.seed)
    assert again.f1 == pytest.approx(r["selected"]["f1"], abs=1e-6)
    assert again.ndcg == pytest.approx(r["selected"]["ndcg"], abs=1e-4)


def test_best_of_n_without_trained_models_says_what_to_run(config, sources, tmp_path, monkeypatch):
    monkeypatch.setattr(stages, "load_sources", lambda _config, _simulator_dir=None: sources)
    with pytest.raises(FileNotFoundError, match="experiments.train_alignment"):
        stages.run_best_of_n(config, tmp_path)
    with pytest.raises(FileNotFoundError, match="experiments.train_alignment"):
        stages.trained_reward_model(config, "pointwise")


def test_alignment_score_without_path_names_the_training_command(config, sources, monkeypatch):
    import rewards
    from rewards.core.base import RewardError

    monkeypatch.setattr(stages, "load_sources", lambda _config, _simulator_dir=None: sources)
    with pytest.raises(RewardError, match="experiments.train_alignment"):
        rewards.make_reward("alignment_score", {}, resources=rewards.Resources(config))
