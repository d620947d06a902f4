"""Fixtures for the simulator tests (the toy data builders live in sim_toys.py)."""

from __future__ import annotations

import pytest
from sim_toys import FakeEmbedder


@pytest.fixture()
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()
