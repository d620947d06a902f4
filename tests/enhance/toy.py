"""A hand-built rating log with two taste groups, and cohort helpers for the enhancer tests (no data files)."""

from __future__ import annotations

import numpy as np

from rlrec.config import EnhanceConfig, SimulatorConfig
from rlrec.data.schema import Catalog, Interaction, InteractionLog, Item, UserProfile

GROUPS = ("drama", "comedy")
CATALOG = Catalog([Item(f"{g[0]}{i}", f"{g.title()} film {i}", (g, f"{g} {i % 3}")) for g in GROUPS for i in range(15)])


def toy_log(users: int = 40, events: int = 24, seed: int = 0) -> InteractionLog:
    """``users`` users on one unix clock; user k prefers group k % 2: they rate its films 5 and others 2."""
    rng = np.random.default_rng(seed)
    histories, profiles = {}, {}
    for k in range(users):
        user, group = f"u{k:02d}", GROUPS[k % 2]
        picks = rng.choice(len(CATALOG), size=events, replace=False)
        histories[user] = [Interaction(user, CATALOG.ids[j], time=1000.0 * k + 10.0 * t, seq=t, behavior="rating",
                                       rating=5.0 if CATALOG[CATALOG.ids[j]].categories[0] == group else 2.0)
                           for t, j in enumerate(picks)]
        profiles[user] = UserProfile(user, {"age": str(20 + 10 * (k % 3))})
    return InteractionLog("toy-ratings", CATALOG, histories, profiles=profiles, time_unit_s=1.0)


def toy_configs(**enhance) -> tuple[SimulatorConfig, EnhanceConfig]:
    sim = SimulatorConfig(labels="rating_threshold", holdout_fraction=0.25, history_len=8, negative_ratio=2)
    cfg = EnhanceConfig(**{"users": 32, "train_fraction": 0.5, "min_history": 5, "pq_subquantizers": 4, "pq_nbits": 2,
                           "neighbors": 1, "neighbor_events": 10, "epochs": 3, "seeds": [0], "bootstrap_samples": 50,
                           "embedding_dim": 8, "hidden": [16], "attention_hidden": 8, **enhance})
    return sim, cfg


def group_embeddings(users: list[str], dim: int = 16, noise: float = 0.1, seed: int = 0) -> np.ndarray:
    """``[U, dim]``: one direction per taste group plus noise (what an embedder makes of the group's outputs)."""
    rng = np.random.default_rng(seed)
    centres = np.eye(dim, dtype=np.float32)[:2] * 3.0
    return np.stack([centres[int(u[1:]) % 2] + noise * rng.standard_normal(dim) for u in users]).astype(np.float32)
