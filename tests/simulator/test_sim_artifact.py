"""End to end on a synthetic log with a fake embedder: build, load, score, normalise, mismatch errors."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from sim_toys import FakeEmbedder, synthetic_log, toy_catalog

from rlrec.config import SimulatorConfig
from rlrec.simulator import (
    Simulator,
    SimulatorArtifactError,
    SimulatorMismatchError,
    build_simulator,
    find_simulator,
    load_feedback,
)

CONFIG = SimulatorConfig(conversion_horizon=1, history_len=10, embedding_dim=8, hidden=[16], epochs=4,
                         batch_size=256, learning_rate=0.01, num_clusters=4, bootstrap=10, min_support=1,
                         pool_size=5, served_items=2, explore_per_context=2)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    log = synthetic_log()
    root = tmp_path_factory.mktemp("artifacts")
    config = dataclasses.replace(CONFIG, cache_dir=str(root / "cache"))
    out = build_simulator(config, log, root / "simulator" / "abc", FakeEmbedder(), "fake", show_progress=False)
    return log, root, out


def test_artifact_files_card_and_metrics(built):
    log, _, out = built
    for name in ("simulator.json", "model.pt", "features.npz", "state.npz", "clusters.json", "reliability.png",
                 "simulator_card.md", "feedback/pointwise.jsonl", "feedback/pairwise.jsonl"):
        assert (out / name).exists(), name
    meta = json.loads((out / "simulator.json").read_text())
    assert meta["catalog_hash"] == log.catalog.content_hash() and meta["embedder_name"] == "fake"
    assert meta["labeler"] == "basket_repurchase"
    for model in ("simulator", "popularity", "item_knn"):
        for task in ("ctr", "ctcvr"):
            m = meta["metrics"][model][task]
            assert 0 <= m["auc"] <= 1 and m["log_loss"] > 0 and 0 <= m["ece"] <= 1
    # users differ in taste, so a personalised model must beat popularity here
    assert meta["metrics"]["simulator"]["ctcvr"]["auc"] > meta["metrics"]["popularity"]["ctcvr"]["auc"]
    card = (out / "simulator_card.md").read_text()
    assert "| ESMM simulator |" in card and "| popularity |" in card and "margin" in card
    feedback = load_feedback(out)
    assert feedback.pointwise and all(0.0 <= p.score <= 1.0 for p in feedback.pointwise)
    # the exported score is the configured normaliser of the exported raw score, rounded (seed 003 §4.1)
    from rlrec.simulator.feedback import SCORE_NORMALISERS, round_to_interval

    raw = np.array([p.raw_score for p in feedback.pointwise])
    expected = round_to_interval(SCORE_NORMALISERS.get(CONFIG.score_norm)(raw), CONFIG.round_to)
    np.testing.assert_allclose([p.score for p in feedback.pointwise], expected, atol=1e-9)
    assert min(p.score for p in feedback.pointwise) == 0.0 and max(p.score for p in feedback.pointwise) == 1.0
    assert all(p.margin >= CONFIG.pair_min_margin - 1e-9 for p in feedback.pairwise)
    assert len(feedback.cluster_names) == 4


def test_scoring_api(built):
    log, _, out = built
    sim = Simulator.load(out, catalog=log.catalog, embedder_name="fake")
    users = ["u0", "u1", "u2", "u3"]
    items = ["i0", "i11", "i22", "i33"]
    p_ctr, p_cvr, p_ctcvr = sim.predict(users, items)
    assert p_ctcvr.shape == (4,) and p_ctcvr.dtype == np.float32
    assert np.allclose(p_ctcvr, p_ctr * p_cvr) and np.all((p_ctcvr >= 0) & (p_ctcvr <= p_ctr))
    assert np.allclose(sim.ctcvr(users, items), p_ctcvr) and np.allclose(sim.ctr(users, items), p_ctr)
    # a user's own department scores higher than another (u0 prefers department 0: items i0..i9)
    own = sim.ctcvr(["u0"] * 10, [f"i{j}" for j in range(10)]).mean()
    other = sim.ctcvr(["u0"] * 10, [f"i{j}" for j in range(20, 30)]).mean()
    assert own > other
    # the stored state equals passing the user's latest history explicitly (most recent first)
    history = [e.item_id for e in log.histories["u0"]][::-1]
    assert np.allclose(sim.ctcvr(["u0"], ["i3"], histories=[history]), sim.ctcvr(["u0"], ["i3"]), atol=1e-6)
    assert sim.unknown_counts["unknown_user"] == 0


def test_unknown_ids_fall_back_and_are_counted(built):
    log, _, out = built
    sim = Simulator.load(out)
    scores = sim.ctcvr(["nobody", "u1", "nobody"], ["i1", "no-such-item", "no-such-item"])
    assert scores.shape == (3,) and np.all(np.isfinite(scores))
    assert sim.unknown_counts["unknown_user"] == 2 and sim.unknown_counts["unknown_item"] == 2


def test_normalisation_fixed_and_per_batch(built):
    _, _, out = built
    sim = Simulator.load(out)
    lo, hi = sim.normalization["lo"], sim.normalization["hi"]
    assert 0 <= lo < hi <= 1
    users, items = ["u0"] * 40, [f"i{j}" for j in range(40)]
    raw = sim.ctcvr(users, items)
    fixed = sim.normalized_ctcvr(users, items)
    assert np.allclose(fixed, np.clip((raw - lo) / (hi - lo), 0, 1), atol=1e-6)
    batch = sim.normalized_ctcvr(users, items, per_batch=True)
    assert batch.min() == pytest.approx(0.0) and batch.max() == pytest.approx(1.0)
    assert np.argmax(batch) == np.argmax(raw)


def test_index_and_clusters_from_the_artifact(built):
    log, root, out = built
    sim = Simulator.load(out, embedder=FakeEmbedder(), cache_dir=root / "cache")
    ids, sims = sim.index.ground(["Item title: bakery product 3; Category L1: bakery"], k=3)
    assert ids[0][0] == "i23"
    assert sim.clusters.k == 4 and sim.clusters.of(["i0"]).shape == (1,)


def test_mismatched_or_corrupt_artifacts_raise_clear_errors(built, tmp_path):
    log, root, out = built
    with pytest.raises(SimulatorMismatchError, match=log.catalog.content_hash()) as err:
        Simulator.load(out, catalog=toy_catalog())
    assert toy_catalog().content_hash() in str(err.value)
    with pytest.raises(SimulatorMismatchError, match="'fake'.*'embedded:minilm'"):
        Simulator.load(out, embedder_name="embedded:minilm")
    with pytest.raises(SimulatorMismatchError, match="fingerprint"):
        Simulator.load(out, embedder=FakeEmbedder(salt="other"))
    with pytest.raises(SimulatorArtifactError, match="missing"):
        Simulator.load(tmp_path)
    broken = tmp_path / "broken"
    broken.mkdir()
    for f in out.iterdir():
        if f.is_file():
            (broken / f.name).write_bytes(f.read_bytes())
    (broken / "model.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(SimulatorArtifactError, match="corrupt") as err:
        Simulator.load(broken)
    # issue 14 finding 9: the hint must be a command that rebuilds, not one that reuses the corrupt artifact
    assert "simulator.rebuild=true" in str(err.value)


def test_find_simulator(built):
    log, root, out = built
    assert find_simulator(root) == out
    assert find_simulator(root, catalog_hash=log.catalog.content_hash()) == out
    assert find_simulator(root, catalog_hash="0" * 16) is None


def test_history_rows_truncate_reverse_and_pad(built):
    _, _, out = built
    scorer = Simulator.load(out).scorer  # history_len 10; catalogue rows: i0 → 0, ..., i39 → 39
    long = [f"i{j}" for j in range(12)]  # most recent first: i0 is the newest
    rows = scorer.history_rows([["i1", "i2"], [], long, ["nope", "i5"]], most_recent_first=True)
    assert rows[0].tolist() == [-1] * 8 + [2, 1]
    assert rows[1].tolist() == [-1] * 10
    assert rows[2].tolist() == list(range(9, -1, -1))  # the 10 newest, oldest first
    assert rows[3].tolist() == [-1] * 8 + [5, 40]  # unknown item → row I = 40
    chrono = scorer.history_rows([long], most_recent_first=False)
    assert chrono[0].tolist() == list(range(2, 12))


def test_card_says_beats_only_with_the_ci_and_warns_when_a_baseline_wins(built, tmp_path):
    """Issue 14 finding 15: the card said "beats the popularity baseline" with the CI spanning 0, and said
    nothing when item-kNN was better."""
    from rlrec.simulator.card import write_card

    _, _, out = built
    meta = json.loads((out / "simulator.json").read_text())
    m = meta["metrics"]
    m["simulator"]["ctcvr"]["auc"], m["popularity"]["ctcvr"]["auc"], m["item_knn"]["ctcvr"]["auc"] = 0.520, 0.519, 0.543
    m["margins"]["ctcvr_auc_vs_popularity"] = {"margin": 0.001, "ci95_low": -0.012, "ci95_high": 0.012}
    m["margins"]["ctcvr_auc_vs_item_knn"] = {"margin": -0.023, "ci95_low": -0.04, "ci95_high": -0.005}
    meta["label_warnings"] = ["99.0% of the labelled clicks are conversions (> 95%)"]
    card = write_card(tmp_path, meta, [], []).read_text()
    assert "**WARNING: 99.0% of the labelled clicks are conversions" in card
    assert "beats popularity" not in card and "beats the popularity" not in card
    assert "does not beat popularity (the CI spans 0)" in card and "is BEATEN by item-kNN" in card
    assert "**WARNING: the item-kNN baseline BEATS the simulator" in card
    assert "**WARNING: the simulator does not beat the popularity baseline" in card
    healthy = (out / "simulator_card.md").read_text()  # the real build: a personalised model wins here
    assert "The simulator beats popularity (the CI excludes 0)" in healthy


def test_build_logs_a_warning_when_the_baselines_beat_an_untrained_simulator(tmp_path, caplog):
    """An untrained simulator is no better than item-kNN: the build log and the card say so."""
    import logging

    config = dataclasses.replace(CONFIG, epochs=1, learning_rate=1e-9, cache_dir=str(tmp_path / "cache"))
    with caplog.at_level(logging.WARNING, logger="rlrec.simulator.build"):
        out = build_simulator(config, synthetic_log(), tmp_path / "sim", FakeEmbedder(), "fake", show_progress=False)
    logged = [r.getMessage() for r in caplog.records if r.name == "rlrec.simulator.build"]
    assert any("BEATS the simulator" in text or "does not beat" in text for text in logged), logged
    assert "**WARNING:" in (out / "simulator_card.md").read_text()
