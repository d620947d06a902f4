"""The simulator adapter: feedback export → records, and the engagement definition on a toy catalogue."""

import numpy as np

from rlrec.alignment.sources import cluster_engagement, feedback_records
from rlrec.simulator.clusters import InterestClusters
from rlrec.simulator.feedback import FeedbackPair, FeedbackPoint


def test_feedback_records_convert_ids_to_strings():
    point = FeedbackPoint((3, 1), ("dairy", "fruit"), 7, "snacks", 0.45, 1.2e-4, 12, 30)
    pair = FeedbackPair((3, 1), ("dairy", "fruit"), 7, "snacks", 2, "bakery", 0.25, 0.45, 0.2)
    (p,), (q,) = feedback_records(type("FB", (), {"pointwise": [point], "pairwise": [pair]})())
    assert (p.context_ids, p.context_names, p.next_id, p.next_name, p.score, p.support) == (
        ("3", "1"), ("dairy", "fruit"), "7", "snacks", 0.45, 12)
    assert (q.preferred_id, q.rejected_id, q.rejected_name, q.margin) == ("7", "2", "bakery", 0.25)
    # one record type: the conversion keeps every other field
    assert (type(p), p.raw_score, p.impressions) == (FeedbackPoint, 1.2e-4, 30)
    assert (type(q), q.preferred_score, q.rejected_score) == (FeedbackPair, 0.45, 0.2)


def test_cluster_engagement_is_mean_of_the_users_top_items_in_the_popular_pool():
    ids = ["i1", "i2", "i3", "i4", "i5"]
    clusters = InterestClusters(ids, np.array([0, 0, 0, 1, 1]), ["dairy", "fruit"], np.zeros((2, 1)))
    counts = {"i1": 5, "i2": 3, "i3": 1, "i4": 2, "i5": 2}  # pools of 2: c0 = [i1, i2] (i3 least popular), c1 = [i4, i5]
    table = {("u", "i1"): 0.1, ("u", "i2"): 0.3, ("u", "i3"): 0.9, ("u", "i4"): 0.2, ("u", "i5"): 0.4,
             ("v", "i1"): 0.5, ("v", "i2"): 0.0, ("v", "i3"): 0.0, ("v", "i4"): 0.0, ("v", "i5"): 0.0}
    calls = []

    def ctcvr(users, items):
        calls.append(len(users))
        return np.array([table[(u, i)] for u, i in zip(users, items)])

    top1 = cluster_engagement(ctcvr, clusters, ids, counts, pool_size=2, served_items=1)
    np.testing.assert_allclose(top1(["u", "u", "v"], ["0", "1", "0"]), [0.3, 0.4, 0.5])  # i3 is outside the pool
    mean2 = cluster_engagement(ctcvr, clusters, ids, counts, pool_size=2, served_items=2)
    np.testing.assert_allclose(mean2(["u", "v"], ["0", "1"]), [0.2, 0.0])
    assert calls[-1] == 4  # one batched call: 2 pairs x pool of 2
