"""Grounding on a toy catalogue with known answers, the on-disk cache, unparseable answers."""

from __future__ import annotations

import numpy as np
import pytest
from sim_toys import FakeEmbedder, toy_catalog

from rlrec.answer import format_completion
from rlrec.simulator.grounding import ItemIndex, embedder_fingerprint, ground_answers


def test_ground_returns_known_items_best_first(tmp_path, fake_embedder):
    index = ItemIndex.build(toy_catalog(), fake_embedder, tmp_path, "fake", show_progress=False)
    ids, sims = index.ground(["Item title: apple; Category L1: produce", "milk"], k=2)
    assert [row[0] for row in ids] == ["B", "C"]
    assert sims.shape == (2, 2) and np.all(sims[:, 0] >= sims[:, 1])
    assert sims[1, 0] == pytest.approx(float(index.encode(["milk"])[0] @ index.matrix[2]))
    # k larger than the catalogue returns every item
    all_ids, all_sims = index.ground(["banana"], k=10)
    assert sorted(all_ids[0]) == ["A", "B", "C", "D"] and all_ids[0][0] == "A"


def test_item_matrix_is_cached_by_embedder_and_catalogue(tmp_path):
    first = FakeEmbedder()
    ItemIndex.build(toy_catalog(), first, tmp_path, "embedded:fake", show_progress=False)
    assert first.texts_encoded == 4
    cached = ItemIndex.cache_path(tmp_path, "embedded:fake", toy_catalog().content_hash())
    assert cached.exists()
    second = FakeEmbedder()
    index = ItemIndex.build(toy_catalog(), second, tmp_path, "embedded:fake", show_progress=False)
    assert second.texts_encoded == 0  # read from disk
    assert index.matrix.shape == (4, 64)
    # another embedder name is another cache file
    third = FakeEmbedder()
    ItemIndex.build(toy_catalog(), third, tmp_path, "other", show_progress=False)
    assert third.texts_encoded == 4


def test_corrupt_cache_is_rebuilt(tmp_path):
    path = ItemIndex.cache_path(tmp_path, "fake", toy_catalog().content_hash())
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, np.zeros((2, 3), dtype=np.float32))  # wrong number of rows
    embedder = FakeEmbedder()
    index = ItemIndex.build(toy_catalog(), embedder, tmp_path, "fake", show_progress=False)
    assert embedder.texts_encoded == 4 and index.matrix.shape == (4, 64)
    assert np.load(path).shape == (4, 64)


def test_ground_answers_parses_and_counts_unparseable(tmp_path, fake_embedder):
    index = ItemIndex.build(toy_catalog(), fake_embedder, tmp_path, "fake", show_progress=False)
    completions = [
        format_completion("likes fruit", "banana", ["produce", "fruit"]),
        [{"role": "assistant", "content": "<think>x</think><answer>Item title: yogurt; Category L1: dairy</answer>"}],
        "I would recommend some yogurt",  # no answer block, no title: grounded from the raw text
    ]
    result = ground_answers(index, completions, k=1)
    assert [row[0] for row in result.item_ids] == ["A", "D", "D"]
    assert result.unparseable == 1
    assert result.texts[2] == "I would recommend some yogurt"
    assert result.statuses["ok"] == 2


def test_embedder_fingerprint_tells_embedders_apart():
    assert embedder_fingerprint(FakeEmbedder()) == embedder_fingerprint(FakeEmbedder())
    assert embedder_fingerprint(FakeEmbedder()) != embedder_fingerprint(FakeEmbedder(salt="x"))


def test_text_cache_encodes_each_distinct_text_once_and_is_bounded(tmp_path):
    embedder = FakeEmbedder()
    index = ItemIndex.build(toy_catalog(), embedder, tmp_path, "fake", show_progress=False)
    index.text_cache = 2
    before = embedder.texts_encoded
    first = index.encode(["milk", "apple", "milk", "banana"])
    assert embedder.texts_encoded - before == 3  # distinct texts only, even beyond the cache size
    assert np.allclose(first[0], first[2])
    again = index.encode(["banana", "apple"])  # both still cached (the two most recent)
    assert embedder.texts_encoded - before == 3 and np.allclose(again[0], first[3])
    index.encode(["milk"])  # evicted earlier: encoded again
    assert embedder.texts_encoded - before == 4
    index.clear_cache()
    index.encode(["apple"])
    assert embedder.texts_encoded - before == 5
