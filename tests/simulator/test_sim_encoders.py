"""Index encoders: the one-time item encode (dedup, threads, chunks) and the model2vec static encoder distilled
locally from a (tiny) sentence-transformers embedder, cached once per embedder."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sim_toys import FakeEmbedder, toy_catalog

from rlrec.config import SimulatorConfig
from rlrec.data.schema import Catalog, Item
from rlrec.simulator import encoders
from rlrec.simulator.encoders import StaticEncoder, index_encoder, index_encoder_name
from rlrec.simulator.grounding import ItemIndex, encode_items


def test_encode_items_encodes_each_distinct_text_once_in_order_and_restores_threads():
    embedder = FakeEmbedder()
    texts = ["milk", "apple", "milk", "bread", "apple"]
    before = torch.get_num_threads()
    out = encode_items(texts, embedder, batch_size=2, precision="float32", progress=False, threads=1, chunk=2)
    assert embedder.texts_encoded == 3  # milk, apple, bread
    assert embedder.calls == 2  # chunks of 2 distinct texts
    np.testing.assert_allclose(out, FakeEmbedder().encode(texts), atol=1e-6)
    assert torch.get_num_threads() == before


def test_index_encoder_names_key_separate_caches_and_bad_kind_is_named():
    assert index_encoder_name("embedded:minilm", "embedder") == "embedded:minilm"
    assert index_encoder_name("embedded:minilm", "static") == "embedded:minilm+static"
    with pytest.raises(ValueError, match="simulator.index_encoder='onnx' is not one of embedder, static"):
        index_encoder(FakeEmbedder(), "fake", "onnx")
    with pytest.raises(ValueError, match="simulator.index_encoder='onnx' is not one of embedder, static"):
        SimulatorConfig(index_encoder="onnx")
    embedder = FakeEmbedder()
    assert index_encoder(embedder, "fake", "embedder") is embedder


@pytest.fixture(scope="module")
def static_setup(tiny_embedder_path, tmp_path_factory):
    from sentence_transformers import SentenceTransformer

    embedder = SentenceTransformer(str(tiny_embedder_path), device="cpu")
    root = tmp_path_factory.mktemp("static")
    return embedder, root, index_encoder(embedder, "tiny", "static", threads=1, cache_root=root)


def test_static_encoder_is_distilled_once_and_reloaded_from_the_cache(static_setup, monkeypatch):
    embedder, root, static = static_setup
    assert isinstance(static, StaticEncoder)
    assert len(list(root.iterdir())) == 1  # <slug>__<fingerprint>/
    monkeypatch.setattr(encoders, "_distill", lambda *a, **k: pytest.fail("distilled again despite the cache"))
    again = index_encoder(embedder, "tiny", "static", cache_root=root)
    texts = ["Item title: Banana; Category L1: produce", "Item title: Whole Milk; Category L1: dairy eggs"]
    np.testing.assert_allclose(again.encode(texts), static.encode(texts), atol=1e-6)


def test_static_index_grounds_exact_item_texts_to_themselves(static_setup, tmp_path):
    _, _, static = static_setup
    catalog = Catalog([Item("a", "Organic Banana", ("produce", "fresh fruits")),
                       Item("b", "Whole Milk", ("dairy eggs", "milk")),
                       Item("c", "Sourdough Bread", ("bakery", "bread")),
                       *toy_catalog()])
    index = ItemIndex.build(catalog, static, tmp_path, index_encoder_name("tiny", "static"), show_progress=False)
    assert index.matrix.shape[0] == len(catalog)
    np.testing.assert_allclose(np.linalg.norm(index.matrix, axis=1), 1.0, atol=1e-5)
    ids, sims = index.ground([item.text() for item in catalog], k=1)
    assert [row[0] for row in ids] == catalog.ids
    assert np.all(sims[:, 0] > 0.999)
