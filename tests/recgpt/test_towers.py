"""Tri-tower retrieval (RecGPT §2.3): the losses and metrics against hand-computed values, and training on a toy
catalogue whose answer is known (users buy in one category; tags name a category)."""

import math

import numpy as np
import pytest
import torch

from rlrec.data.schema import Catalog, Interaction, Item
from rlrec.recgpt.retrieval import TowerRetriever, category_hits, exposure, fuse, gini, hits, retrieval_report
from rlrec.recgpt.towers import TowerConfig, history_before, info_nce, item_tag_texts, train_towers, training_pairs

CATS = ["fruit", "dairy", "bakery", "frozen"]


def test_info_nce_hand_computed():
    q = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    k = torch.tensor([[1.0, 0.0], [0.6, 0.8]])
    # row 0: logits (1, 0.6)/τ; row 1: (0, 0.8)/τ, τ = 0.5
    expected = 0.5 * (-math.log(math.exp(2) / (math.exp(2) + math.exp(1.2)))
                      - math.log(math.exp(1.6) / (math.exp(0) + math.exp(1.6))))
    got = info_nce(q, k, torch.zeros(2, 2, dtype=torch.bool), 0.5)
    assert float(got) == pytest.approx(expected, rel=1e-6)
    # a masked "negative" (same item as the positive) leaves only the positive: loss 0
    assert float(info_nce(q, k, torch.ones(2, 2, dtype=torch.bool), 0.5)) == pytest.approx(0.0, abs=1e-7)


def test_fuse_gini_hits():
    assert torch.allclose(fuse(torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0]), 0.25), torch.tensor([0.25, 0.75]))
    with pytest.raises(ValueError, match="beta"):
        fuse(torch.zeros(1), torch.zeros(1), 1.5)
    assert gini(np.array([1, 1, 1, 1])) == 0.0
    assert gini(np.array([0, 0, 0, 4])) == pytest.approx(3 / 4)  # (n - 1) / n
    assert gini(np.array([1, 2, 3])) == pytest.approx((-2 * 1 + 0 * 2 + 2 * 3) / (3 * 6))  # 2/9
    ranks = np.array([[0, 1], [2, 3], [-1, -1]])
    assert hits(ranks, np.array([1, 0, 2])).tolist() == [1.0, 0.0, 0.0]
    cats = np.array([0, 0, 1, 1])
    assert category_hits(ranks, np.array([1, 3, 2]), cats).tolist() == [1.0, 1.0, 0.0]
    ex = exposure(ranks, 4, popular=np.array([0]), item_category=cats)
    assert ex["coverage"] == 1.0 and ex["gini"] == 0.0 and ex["head_share"] == pytest.approx(1 / 4)
    assert ex["categories_per_list"] == pytest.approx((1 + 1 + 0) / 3)


def _toy():
    items = [Item(f"{c}{j}", f"{c} item {j}", (c,)) for c in CATS for j in range(6)]
    catalog = Catalog(items)
    rng = np.random.default_rng(0)
    histories = {}
    for u in range(48):
        cat = CATS[u % 4]
        events = [Interaction(f"u{u}", f"{cat}{int(rng.integers(6))}", float(order), seq=order * 3 + s,
                              group=f"u{u}o{order}") for order in range(6) for s in range(3)]
        histories[f"u{u}"] = events
    return catalog, histories


def test_training_pairs_stop_before_the_target_moment():
    events = [Interaction("u", f"i{n}", float(n // 2), seq=n, group=f"o{n // 2}") for n in range(6)]  # 3 baskets
    users, hist, targets = training_pairs({"u": events}, {"u": 4}, history_len=10)
    assert targets == ["i2", "i3"] and hist == [["i1", "i0"], ["i1", "i0"]]  # basket 1 given basket 0
    assert history_before(events, 5, 10) == ["i3", "i2", "i1", "i0"]  # event 5's basket starts at 4


def test_toy_towers_retrieve_the_known_category():
    catalog, histories = _toy()
    assert item_tag_texts(catalog["fruit0"]) == ["fruit item 0", "fruit"]
    pairs = training_pairs(histories, {}, history_len=10)
    cfg = TowerConfig(dim=16, hidden=32, history_len=10, epochs=20, batch_size=64, learning_rate=1e-2, id_dropout=0.5)
    model, vocab, losses = train_towers(catalog, sorted(histories), pairs, cfg)
    assert losses[-1]["col"] < losses[0]["col"] and losses[-1]["tag"] < losses[0]["tag"]
    retriever = TowerRetriever(model, vocab, catalog)
    cat_of = np.array([CATS.index(item.categories[0]) for item in catalog])
    # a cold user who bought dairy items, asked with the tag "fruit": β = 0 → dairy, β = 1 → fruit
    hist = [["dairy1", "dairy3", "dairy0"]]
    dairy, _ = retriever.rank(["new user"], hist, [["fruit"]], beta=0.0, k=6)
    fruit, _ = retriever.rank(["new user"], hist, [["fruit"]], beta=1.0, k=6)
    assert set(cat_of[dairy[0]]) == {CATS.index("dairy")}
    assert set(cat_of[fruit[0]]) == {CATS.index("fruit")}
    # every category's name retrieves that category's six items first (semantic objective)
    for c in CATS:
        ranked, _ = retriever.rank(["new user"], [[]], [[c]], beta=1.0, k=6)
        assert set(cat_of[ranked[0]]) == {CATS.index(c)}
    # HR@6 at category level is 1 for every trained user by the collaborative score alone
    users = sorted(histories)
    ranks, no_tags = retriever.rank(users, [[e.item_id for e in histories[u]][::-1] for u in users], None, 0.0, 6)
    targets = np.array([catalog.index(histories[u][-1].item_id) for u in users])
    assert no_tags == len(users) and category_hits(ranks, targets, cat_of).mean() == 1.0
    report = retrieval_report({"two": ranks, "same": ranks}, targets, cat_of, np.ones(len(catalog)), baseline="two",
                              n_resamples=50)
    assert report["same"]["CatHR"]["value"] == 1.0 and report["same"]["HR_minus_two"]["value"] == 0.0
