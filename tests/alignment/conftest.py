"""Tiny hand-built collective feedback shared by the alignment tests."""

from __future__ import annotations

import pytest

from rlrec.simulator.feedback import FeedbackPair, FeedbackPoint

NAMES = {"c0": "dairy eggs", "c1": "fresh fruits", "c2": "snacks chips", "c3": "frozen meals", "c4": "bakery bread",
         "c5": "pet food", "c6": "coffee tea"}

# (context ids, next id, normalised score)
POINTS = [
    (("c0", "c1"), "c2", 0.9), (("c0", "c1"), "c3", 0.1), (("c0", "c1"), "c4", 0.5), (("c0", "c1"), "c5", 0.3),
    (("c1", "c2"), "c0", 0.2), (("c1", "c2"), "c4", 0.8), (("c1", "c2"), "c6", 0.6), (("c1", "c2"), "c5", 0.0),
    (("c3", "c4"), "c6", 1.0), (("c3", "c4"), "c0", 0.4),
]


def transition(ctx, nxt, score, support=10) -> FeedbackPoint:
    return FeedbackPoint(ctx, tuple(NAMES[c] for c in ctx), nxt, NAMES[nxt], score, support=support)


def preferences(points: list[FeedbackPoint]) -> list[FeedbackPair]:
    """Every ordered pair with a strictly higher score, per context (the paper's K-choose-2 examples)."""
    out = []
    for a in points:
        for b in points:
            if a.context_ids == b.context_ids and a.score > b.score:
                out.append(FeedbackPair(a.context_ids, a.context_names, a.next_id, a.next_name, b.next_id, b.next_name,
                                      round(a.score - b.score, 6)))
    return out


@pytest.fixture()
def toy_points() -> list[FeedbackPoint]:
    return [transition(*p) for p in POINTS]


@pytest.fixture()
def toy_pairs(toy_points) -> list[FeedbackPair]:
    return preferences(toy_points)


@pytest.fixture()
def toy_names() -> dict[str, str]:
    return dict(NAMES)
