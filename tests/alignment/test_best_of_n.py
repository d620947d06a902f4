"""Best-of-n selection, the control arms and the serving metrics against hand-computed values."""

import numpy as np
import pytest

from rlrec.alignment.best_of_n import (
    bootstrap_difference,
    per_user_engagement,
    plain_k,
    random_k_of_n,
    select_top_k,
    serve_arms,
    serving_metrics,
)


def test_select_top_k_dedupes_and_drops_invalid():
    candidates = ["a", None, "b", "a", "c", "d"]
    scores = [0.1, 9.0, 0.5, 0.7, 0.5, -1.0]
    # a keeps its best score 0.7; b and c tie at 0.5 → sample order (b first); None never served
    assert select_top_k(candidates, scores, 3) == ["a", "b", "c"]
    assert select_top_k(candidates, scores, 10) == ["a", "b", "c", "d"]
    with pytest.raises(ValueError, match="3 candidates but 2 scores"):
        select_top_k(["a", "b", "c"], [1, 2], 1)


def test_plain_and_random_arms():
    candidates = ["a", "a", None, "b", "c", "d"]
    assert plain_k(candidates, 3) == ["a"]  # first 3 samples: a, a, invalid
    picks = random_k_of_n(candidates, 3, np.random.default_rng(0))
    assert len(picks) == 3 and len(set(picks)) == 3 and set(picks) <= {"a", "b", "c", "d"}


def test_serving_metrics_hand_computed():
    served = {"u1": ["a", "b"], "u2": ["a", "c", "a"]}  # u2 served a twice: one unique pair
    engaged_before = {"u1": {"a"}, "u2": set()}
    table = {("u1", "a"): 0.5, ("u1", "b"): 0.1, ("u2", "a"): 0.2, ("u2", "c"): 0.4}

    def engagement(users, clusters):
        return np.array([table[(u, c)] for u, c in zip(users, clusters)])

    m = serving_metrics(served, engaged_before, engagement)
    # unique pairs: (u1,a) old, (u1,b) novel, (u2,a) novel, (u2,c) novel
    assert m.users == 2 and m.served_per_user == 2.0
    assert m.novelty_rate == pytest.approx(3 / 4)
    assert m.engagement == pytest.approx((0.5 + 0.1 + 0.2 + 0.4) / 4)
    assert m.engagement_novel == pytest.approx((0.1 + 0.2 + 0.4) / 3)
    assert m.ueuc == pytest.approx(1.2 / 2) and m.ueuc_novel == pytest.approx(0.7 / 2)


def test_serving_metrics_nothing_served():
    m = serving_metrics({"u1": []}, {}, lambda u, c: np.zeros(len(u)))
    assert m.served_per_user == 0.0 and np.isnan(m.novelty_rate)


def test_serve_arms_uses_the_scores_only_for_best_of_n():
    candidates = {("x", "y"): ["a", "b", "c", "d", "e", "f"]}
    scores = {("x", "y"): [0.0, 0.1, 0.2, 0.3, 0.9, 0.8]}
    arms = serve_arms(candidates, scores, k=2, seed=0)
    assert arms["plain"] == {("x", "y"): ["a", "b"]}
    assert arms["best_of_n"] == {("x", "y"): ["e", "f"]}
    assert len(arms["random_of_n"][("x", "y")]) == 2


def test_per_user_engagement_and_bootstrap_difference():
    table = {("u1", "a"): 0.5, ("u1", "b"): 0.1, ("u2", "a"): 0.2}
    engagement = lambda users, clusters: np.array([table[(u, c)] for u, c in zip(users, clusters)])  # noqa: E731
    per_user = per_user_engagement({"u1": ["a", "b", "a"], "u2": ["a"], "u3": []}, engagement)
    assert per_user == {"u1": pytest.approx(0.3), "u2": pytest.approx(0.2)}
    diff = bootstrap_difference({"u1": 0.5, "u2": 0.4, "u3": 0.9}, {"u1": 0.3, "u2": 0.3}, draws=500)
    assert diff["users"] == 2 and diff["mean"] == pytest.approx(0.15)
    assert 0.1 - 1e-9 <= diff["lo"] <= diff["mean"] <= diff["hi"] <= 0.2 + 1e-9  # resampled means of {0.2, 0.1}
