"""PQ encode/decode against faiss' own reconstruction; similar-user retrieval on a toy set with known neighbours."""

from __future__ import annotations

import faiss
import numpy as np
import pytest

from rlrec.enhance.features import fit_pq, fit_similar_users, future_answer_rate, neighbour_sequences


def _data(n=200, d=32, seed=0):
    return np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32)


def test_pq_ids_decode_to_faiss_reconstruction_and_its_error():
    x = _data()
    codes = fit_pq(x[:150], subquantizers=4, nbits=4, seed=1)
    ids = codes.encode(x)
    assert ids.shape == (200, 4) and ids.min() >= 0 and ids.max() < 16
    ours = codes.decode(ids)
    theirs = codes.pq.decode(codes.pq.compute_codes(x))  # faiss' own encode -> decode
    np.testing.assert_allclose(ours, theirs, atol=1e-6)
    err = ((x - ours) ** 2).sum(1).mean()
    assert err == pytest.approx(((x - theirs) ** 2).sum(1).mean(), rel=1e-6)
    # each id is the nearest centroid of its sub-vector (what PQ encoding means)
    centroids = codes.centroids()  # [M, ksub, dsub]
    sub = x.reshape(200, 4, 8)
    nearest = np.stack([((sub[:, m, None, :] - centroids[m][None]) ** 2).sum(-1).argmin(1) for m in range(4)], 1)
    np.testing.assert_array_equal(ids, nearest)
    # quantization beats the mean vector, and more bits reconstruct better
    assert err < ((x - x[:150].mean(0)) ** 2).sum(1).mean()
    finer = fit_pq(x[:150], subquantizers=4, nbits=6, seed=1)
    assert ((x - finer.decode(finer.encode(x))) ** 2).sum(1).mean() < err


def test_pq_refuses_what_it_cannot_fit():
    with pytest.raises(ValueError, match="pq_subquantizers=5 must divide"):
        fit_pq(_data(), subquantizers=5, nbits=2)
    with pytest.raises(ValueError, match="pq_nbits=4 needs >= 16 training users"):
        fit_pq(_data(n=10), subquantizers=4, nbits=4)


def test_retrieval_finds_the_planted_neighbour_and_never_the_user_itself():
    rng = np.random.default_rng(0)
    base = rng.standard_normal((6, 16)).astype(np.float32)
    # users 0..5 and their near-copies 6..11 (scaled: cosine ignores the norm)
    x = np.vstack([base, 3.0 * base + 0.01 * rng.standard_normal((6, 16)).astype(np.float32)])
    index = fit_similar_users(x, pool=np.arange(12))
    users, cos = index.search(x, np.arange(12), k=2)
    np.testing.assert_array_equal(users[:, 0], np.r_[np.arange(6, 12), np.arange(6)])
    assert (users != np.arange(12)[:, None]).all()
    assert (cos[:, 0] > 0.99).all() and (cos[:, 0] >= cos[:, 1]).all()
    expected = (x[0] / np.linalg.norm(x[0])) @ (x[users[0, 1]] / np.linalg.norm(x[users[0, 1]]))
    assert cos[0, 1] == pytest.approx(expected, abs=1e-5)
    assert faiss.IndexFlatIP is type(index.index)


def test_pool_of_training_users_only():
    x = np.eye(4, dtype=np.float32)
    x[2], x[3] = x[1] + 0.1, x[0] + 0.1  # users 2, 3 are not indexed: they find 1 and 0, never each other
    index = fit_similar_users(x[[0, 1]], pool=np.array([0, 1]))
    users, _ = index.search(x, np.arange(4), k=1)
    assert users[:, 0].tolist() == [1, 0, 1, 0]


def test_neighbour_sequence_is_recent_and_before_the_cutoffs():
    rows = [np.array([1, 2, 3, 4, 5]), np.array([7, 8])]
    times = [np.array([1.0, 2.0, 3.0, 4.0, 5.0]), np.array([1.0, 2.0])]
    neighbours = np.array([[1], [0]])
    out = neighbour_sequences(neighbours, rows, np.array([9.0, 3.5]), times, length=3, shared_clock=False)
    assert out.tolist() == [[-1, 7, 8], [3, 4, 5]]
    clocked = neighbour_sequences(neighbours, rows, np.array([9.0, 3.5]), times, length=3, shared_clock=True)
    assert clocked.tolist() == [[-1, 7, 8], [1, 2, 3]]  # user 1's cut-off is at 3.5: its neighbour's later events go


def test_future_answer_rate_reads_the_answer_title():
    outputs = ["<think>a</think><answer>Item title: Banana; Category L1: produce</answer>",
               "<think>a</think><answer>Item title: Milk</answer>", "no answer at all"]
    rate, hits = future_answer_rate(outputs, [{"banana"}, {"bread"}, {"no answer at all"}])
    assert hits.tolist() == [True, False, False] and rate == pytest.approx(1 / 3)
