"""Interest clusters: naming, item → cluster, history → cluster sequence / last-K context."""

from __future__ import annotations

import numpy as np
from sim_toys import toy_catalog

from rlrec.simulator.clusters import InterestClusters, last_distinct, name_clusters


def _clusters(labels) -> InterestClusters:
    catalog = toy_catalog()
    labels = np.array(labels)
    k = int(labels.max()) + 1
    return InterestClusters(catalog.ids, labels, name_clusters(labels, catalog, k), np.zeros((k, 2)))


def test_names_from_most_common_categories_and_made_unique():
    catalog = toy_catalog()  # A banana (produce, fruit), B apple (produce, fruit), C milk (dairy, milk), D (dairy, yogurt)
    assert name_clusters(np.array([0, 0, 1, 1]), catalog, 2) == ["fruit / produce", "dairy / milk"]
    # A and B alone produce the same name twice, with no third category to tell them apart
    assert name_clusters(np.array([0, 1, 2, 2]), catalog, 3) == ["fruit / produce #0", "fruit / produce #1",
                                                                 "dairy / milk"]


def test_of_sequence_and_context():
    clusters = _clusters([0, 1, 2, 2])  # A→0, B→1, C→2, D→2
    assert clusters.of(["D", "nope", "A"]).tolist() == [2, -1, 0]
    # most recent first (Example.history_item_ids): chronological A, C, D, X, B
    history = ["B", "X", "D", "C", "A"]
    assert clusters.sequence(history) == [0, 2, 1]  # C, D collapse; unknown X dropped
    assert clusters.sequence(history[::-1], most_recent_first=False) == [0, 2, 1]
    assert clusters.context(history, k=2) == (2, 1)  # last two distinct, oldest first
    assert clusters.context(history, k=2, ordered=False) == (1, 2)
    assert clusters.context(history, k=3) == (0, 2, 1)
    assert clusters.context(["A", "B"], k=3) is None


def test_last_distinct_skips_repeats():
    assert last_distinct([3, 1, 3, 3, 2, 3], 2) == (2, 3)
    assert last_distinct([3, 1, 3, 3, 2, 3], 3) == (1, 2, 3)
    assert last_distinct([5, 5], 2) is None


def test_fit_separates_well_separated_groups(tmp_path):
    catalog = toy_catalog()
    matrix = np.array([[1, 0], [0.99, 0.1], [0, 1], [0.1, 0.99]], dtype=np.float32)
    clusters = InterestClusters.fit(matrix, catalog, k=2, seed=0)
    assert clusters.labels[0] == clusters.labels[1] != clusters.labels[2] == clusters.labels[3]
    assert sorted(clusters.names) == ["dairy / milk", "fruit / produce"]
    clusters.save(tmp_path)
    loaded = InterestClusters.load(tmp_path, catalog.ids)
    assert loaded.names == clusters.names and loaded.of(["C"]).tolist() == clusters.of(["C"]).tolist()
    assert loaded.sizes.tolist() == [2, 2]
