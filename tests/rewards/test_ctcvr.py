"""``ctcvr`` (Taiji Eq. 4) and the simulator-backed modes of ``novelty`` / ``alignment_score``, on a tiny
simulator built with ``rlrec.simulator.build_simulator`` from a toy rating log."""

from __future__ import annotations

import numpy as np
import pytest
from reward_toys import HashEmbedder, completion, toy_rating_log

from rewards import EmbeddingCache, MissingColumnError, Resources, make_reward
from rewards.core.grounding import EXACT, REMEMBERED, SEARCHED, make_grounder
from rewards.core.resources import catalog_key, embedder_key, embeddings_key
from rlrec.answer import parse_answer
from rlrec.config import Config, SimulatorConfig
from rlrec.eval import Grounder

EMBEDDER = "toy-hash"


@pytest.fixture(scope="module")
def toy_log():
    return toy_rating_log()


@pytest.fixture(scope="module")
def simulator_path(toy_log, tmp_path_factory):
    from rlrec.simulator import build_simulator

    cache_dir = tmp_path_factory.mktemp("toy-item-index")  # keep toy matrices out of $RLREC_CACHE
    config = SimulatorConfig(epochs=1, batch_size=256, num_clusters=4, bootstrap=0, max_feedback_contexts=200,
                             embedding_dim=8, hidden=[16], min_support=1, knn_neighbors=10, cache_dir=str(cache_dir))
    path = tmp_path_factory.mktemp("toy-simulator")
    build_simulator(config, toy_log, path, HashEmbedder(), EMBEDDER, show_progress=False)
    return path


@pytest.fixture()
def sim_resources(toy_log, simulator_path):
    """Resources serving the toy catalogue, the hash embedder (+ its cache) and the toy simulator."""
    from rlrec.simulator import Simulator

    config = Config()
    embedder = HashEmbedder()
    resources = Resources(config)
    resources.provide(catalog_key(config), toy_log.catalog)
    resources.provide(embedder_key(EMBEDDER), embedder)
    cache = EmbeddingCache(embedder)
    for precision in ("float32", "bfloat16", "auto"):
        resources.provide(embeddings_key(EMBEDDER, precision), cache)
    simulator = Simulator.load(simulator_path, catalog=toy_log.catalog, embedder=embedder)
    return resources.provide("simulator", simulator)


def _history(log, user, n=5):
    return [e.item_id for e in reversed(log.histories[user][-n:])]  # most recent first


def test_ctcvr_is_the_normalised_simulator_score_of_the_grounded_item(sim_resources, toy_log):
    reward = make_reward("ctcvr", resources=sim_resources)
    simulator = sim_resources.simulator()
    users = ["u0", "u1", "u2"]
    histories = [_history(toy_log, u) for u in users]
    items = [toy_log.catalog[i] for i in ("i00", "i21", "i34")]
    completions = [completion(it.title, it.categories) for it in items]  # exact catalogue texts
    values = reward(["p"] * 3, completions, user_id=users, history_item_ids=histories)
    expected = simulator.normalized_ctcvr(users, [it.item_id for it in items], histories)
    lo, hi = simulator.normalization["lo"], simulator.normalization["hi"]
    raw = simulator.ctcvr(users, [it.item_id for it in items], histories)
    assert values == pytest.approx(expected.tolist(), abs=1e-6)
    assert values == pytest.approx(np.clip((raw - lo) / (hi - lo), 0, 1).tolist(), abs=1e-5)  # Taiji's min-max
    assert reward.extra_stats()["grounding_exact_rate"] == 1.0


def test_grounder_matches_the_simulator_index(sim_resources, toy_log):
    simulator = sim_resources.simulator()
    grounder = make_grounder(sim_resources, simulator)
    texts = ["Item title: Fruits item 3; Category L1: Produce; Category L2: Fruits", "milk item", "chips snacks 4",
             "vegetables item 2 produce", "milk item"]
    ids, sims, how = grounder.ground_top1(texts)
    ref_ids, ref_sims = simulator.index.ground(texts, 1)
    assert ids == [r[0] for r in ref_ids]
    np.testing.assert_allclose(sims, ref_sims[:, 0], atol=1e-5)
    assert how.tolist() == [EXACT, SEARCHED, SEARCHED, SEARCHED, SEARCHED]
    assert grounder.ground_top1(["milk item"])[2].tolist() == [REMEMBERED]
    # one grounding concept: the cached grounder is an rlrec.eval.Grounder and answers like the index
    assert isinstance(grounder, Grounder) and isinstance(simulator.index, Grounder)
    proto_ids, proto_sims = grounder.ground(texts, 1)
    assert proto_ids == ref_ids and proto_sims.shape == (5, 1)
    np.testing.assert_allclose(proto_sims, ref_sims, atol=1e-5)
    top3_ids, _ = grounder.ground(texts[:2], 3)
    assert top3_ids == simulator.index.ground(texts[:2], 3)[0]


def test_per_batch_min_similarity_unparseable_and_missing_columns(sim_resources, toy_log):
    history = _history(toy_log, "u0")
    pair = [completion("Fruits item 1", ("Produce", "Fruits")), completion("Chips item 2", ("Snacks", "Chips"))]
    per_batch = make_reward("ctcvr", {"per_batch": True}, resources=sim_resources)
    assert sorted(per_batch(["p"] * 2, pair, user_id=["u0"] * 2, history_item_ids=[history] * 2)) == [0.0, 1.0]

    reward = make_reward("ctcvr", {"min_similarity": 0.5, "ungrounded_value": -1.0}, resources=sim_resources)
    comps = [pair[0], completion("zebra quantum violin"), "no answer"]
    values = reward(["p"] * 3, comps, user_id=["u0"] * 3, history_item_ids=[history] * 3)
    simulator = sim_resources.simulator()
    (grounded,), _ = simulator.index.ground([parse_answer(pair[0]).item_text()], 1)
    assert values[0] == pytest.approx(simulator.normalized_ctcvr(["u0"], grounded, [history])[0], abs=1e-6)
    assert values[1] == -1.0 and values[2] is None
    assert reward.stats.pop("ctcvr")["reward/ctcvr/unparseable"] == 1.0
    with pytest.raises(MissingColumnError, match="'user_id'"):
        reward(["p"], [pair[0]], history_item_ids=[history])


def test_novelty_cluster_mode(sim_resources, toy_log):
    reward = make_reward("novelty", {"mode": "cluster"}, resources=sim_resources)
    clusters = sim_resources.simulator().clusters
    history = ["i00", "i01"]  # Fruits aisle only
    comps = [completion("Fruits item 4", ("Produce", "Fruits")), completion("Milk item 3", ("Dairy", "Milk"))]
    values = reward(["p", "p"], comps, history_item_ids=[history, history])
    fruit, milk = clusters.of(["i04", "i23"]).tolist()
    seen = set(clusters.of(history).tolist())
    assert values == [float(fruit not in seen), float(milk not in seen)]
    assert values == [0.0, 1.0]  # the hash embedder clusters the aisles apart


def test_resources_load_a_simulator_folder_and_explain_a_missing_one(simulator_path, toy_log, tmp_path):
    config = Config()
    config.artifacts_dir = str(tmp_path / "artifacts")
    resources = Resources(config).provide(catalog_key(config), toy_log.catalog)
    resources.provide(embedder_key(EMBEDDER), HashEmbedder())
    simulator = resources.simulator(str(simulator_path))
    assert simulator.embedder_name == EMBEDDER and resources.simulator(str(simulator_path)) is simulator
    with pytest.raises(FileNotFoundError, match="build_simulator"):
        resources.simulator()


def test_alignment_score_on_cluster_names(sim_resources, tiny_rm_path):
    from reward_toys import logit

    from rewards.alignment_score import sigmoid

    reward = make_reward("alignment_score", {"path": str(tiny_rm_path), "context_len": 2}, resources=sim_resources)
    clusters = sim_resources.simulator().clusters
    history = ["i21", "i00", "i01"]  # most recent first: Milk, then Fruits
    value = reward(["p"], [completion("Chips item 1", ("Snacks", "Chips"))], history_item_ids=[history])[0]
    fruit, milk, chips = clusters.of(["i00", "i21", "i31"]).tolist()
    text = (f"Recent interest clusters: {clusters.names[fruit]} | {clusters.names[milk]}\n"
            f"Next interest cluster: {clusters.names[chips]}")
    assert value == pytest.approx(float(sigmoid(logit(tiny_rm_path, text))), abs=1e-5)


class StrictHashEmbedder(HashEmbedder):
    """Refuses what a Hugging Face fast tokenizer refuses: text that cannot be encoded as UTF-8."""

    def encode(self, texts, **kwargs):
        for text in texts:
            try:
                text.encode("utf-8")
            except UnicodeEncodeError as err:
                raise TypeError("TextEncodeInput must be Union[TextInputSequence, Tuple[InputSequence, …]]") from err
        return super().encode(texts, **kwargs)


def test_ctcvr_sanitises_lone_surrogates_before_encoding(sim_resources, toy_log):
    """Issue 14 #10: an answer with a lone surrogate crashed the grounding encode; it is replaced and counted."""
    cache = EmbeddingCache(StrictHashEmbedder())
    for precision in ("float32", "bfloat16", "auto"):
        sim_resources.provide(embeddings_key(EMBEDDER, precision), cache)
    reward = make_reward("ctcvr", resources=sim_resources)
    values = reward(["p"] * 2, [completion("Fruits item \udc803", ("Produce",)), completion("milk item")],
                    user_id=["u0", "u1"], history_item_ids=[_history(toy_log, "u0"), _history(toy_log, "u1")])
    assert all(isinstance(v, float) and 0.0 <= v <= 1.0 for v in values)
    assert reward.extra_stats()["sanitized_texts"] == 1.0
