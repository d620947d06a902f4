"""End to end with a real (tiny) simulator artifact: lookup, grounding, CTCVR, files and the run summary."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re

import numpy as np
import pytest
from eval_fakes import ToyExample

from rlrec.answer import format_completion
from rlrec.config import Config, EvalConfig, ModelConfig, SimulatorConfig
from rlrec.data.schema import Catalog, Interaction, InteractionLog, Item
from rlrec.eval.session import run_evaluation
from rlrec.logging import LocalRunLogger

SIM = SimulatorConfig(conversion_horizon=1, history_len=10, embedding_dim=8, hidden=[16], epochs=2, batch_size=256,
                      learning_rate=0.01, num_clusters=4, bootstrap=5, min_support=1, pool_size=5, served_items=2,
                      explore_per_context=2)


class HashEmbedder:
    """Bag of words hashed into 64 buckets: identical texts have cosine 1."""

    def encode(self, texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False):
        out = np.zeros((len(texts), 64), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in re.findall(r"[a-z0-9]+", text.lower()):
                out[i, int(hashlib.md5(word.encode()).hexdigest(), 16) % 64] += 1.0
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def toy_log(num_users: int = 16) -> InteractionLog:
    """24 items in 3 departments; user u buys from department u % 3, one item per order."""
    rng = np.random.default_rng(0)
    deps = ["fruit", "dairy", "bakery"]
    items = [Item(f"i{d * 8 + j}", f"{dep} thing {j}", (dep, f"{dep} shelf {j % 2}")) for d, dep in enumerate(deps) for j in range(8)]
    histories = {}
    for u in range(num_users):
        picks = rng.integers(0, 8, size=8) + (u % 3) * 8
        histories[f"u{u}"] = [Interaction(f"u{u}", f"i{p}", float(t), t, group=f"u{u}o{t}") for t, p in enumerate(picks)]
    return InteractionLog("toy", Catalog(items), histories)


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory):
    from rlrec.simulator import build_simulator

    log = toy_log()
    root = tmp_path_factory.mktemp("artifacts")
    build_simulator(dataclasses.replace(SIM, cache_dir=str(root / "cache")), log, root / "simulator" / "toy", HashEmbedder(), "hash",
                    show_progress=False)
    return log, root


def test_run_evaluation_grounds_scores_writes_and_logs(artifacts, tmp_path, monkeypatch):
    log, root = artifacts
    examples, completions = [], []
    for u in range(8):
        events = log.histories[f"u{u}"]
        target = log.catalog[events[-1].item_id]
        history = [e.item_id for e in reversed(events[:-1])]
        examples.append(ToyExample(f"ex{u}", f"u{u}", target.item_id, target.categories, target.text(), history))
        # even users: the exact target; odd users: no answer at all
        completions.append([format_completion("because", target.title, target.categories) if u % 2 == 0 else "no idea"])
    monkeypatch.setattr("rlrec.eval.evaluation.generate_completions", lambda prompts, gen, **kw: completions)
    config = Config(artifacts_dir=str(root), model=ModelConfig(embedder="hash"), eval=EvalConfig(hit_ks=[1, 3], bootstrap_samples=50))
    logger = LocalRunLogger(tmp_path)
    result = run_evaluation(config, examples, log.catalog, log.interactions(), tmp_path, logger, embedder=HashEmbedder(), label="rl")
    logger.close()

    assert result.value("Title_Hit-Rate@1") == pytest.approx(0.5)  # every exact answer grounds to its own item
    assert result.value("Category_L2_ACC") == pytest.approx(0.5) and result.value("Unanswered_Rate") == pytest.approx(0.5)
    assert 0 < result.value("CTCVR") < 0.5 and result.value("Catalog_Coverage") == pytest.approx(4 / 24)
    assert result.settings["simulator"].endswith("toy")
    assert (tmp_path / "eval" / "rl" / "eval_metrics.md").exists()
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["objective/CTCVR"] == pytest.approx(result.value("CTCVR")) and summary["objectives"] == ["Semantic_Cosine", "CTCVR"]
    assert summary["eval/rl/Title_Hit-Rate@3"] == pytest.approx(result.value("Title_Hit-Rate@3"))


def test_missing_simulator_skips_grounding_metrics_with_the_build_command(artifacts, tmp_path, monkeypatch):
    log, _ = artifacts
    ex = ToyExample("ex0", "u0", "i0", ("fruit",), "Item title: fruit thing 0", [])
    monkeypatch.setattr("rlrec.eval.evaluation.generate_completions", lambda prompts, gen, **kw: [["x"]])
    config = Config(artifacts_dir=str(tmp_path / "none"), eval=EvalConfig(bootstrap_samples=10))
    result = run_evaluation(config, [ex], log.catalog, log.interactions(), tmp_path, embedder=HashEmbedder())
    assert "CTCVR" not in result.metrics and "build_simulator" in result.skipped["CTCVR"]
