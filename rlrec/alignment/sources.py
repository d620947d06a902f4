"""Everything seed 003 needs from the data layer and the simulator, behind one adapter.

* cluster names and every user's chronological cluster sequence (``Simulator.clusters``, ids as strings);
* the collective feedback export (``rlrec.simulator.load_feedback``): its :class:`FeedbackPoint` /
  :class:`FeedbackPair` records with string cluster ids;
* simulated engagement E(user, cluster): exactly the simulator's definition when it built the feedback —
  the mean pCTCVR of the user's top ``served_items`` items among the cluster's ``pool_size`` most popular
  items (a backbone serving the best items of the cluster) — with the user in their latest logged state.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rlrec.config import Config
from rlrec.simulator.feedback import FeedbackPair, FeedbackPoint

log = logging.getLogger(__name__)


@dataclass
class AlignmentSources:
    simulator_dir: Path
    fingerprint: str  # identifies the simulator artifact + data (keys the alignment artifacts)
    names: dict[str, str]  # cluster id → name
    sequences: dict[str, list[str]]  # user → chronological cluster ids (consecutive repeats collapsed)
    ordered_context: bool  # the simulator's contexts: oldest → newest (True) or sorted ids (a set)
    points: list[FeedbackPoint]
    pairs: list[FeedbackPair]
    engagement: Callable[[Sequence[str], Sequence[str]], np.ndarray]  # (user ids, cluster ids) → E [P]
    engagement_description: str


def resolve_simulator_dir(config: Config, catalog_hash: str, run_simulator: str | Path | None = None) -> Path:
    """``alignment.simulator`` if set, else the run's simulator, else the newest one for this catalogue
    (:func:`rlrec.simulator.artifact.resolve_simulator`, the one lookup policy)."""
    from rlrec.simulator.artifact import resolve_simulator

    return resolve_simulator(config.alignment.simulator, run_simulator, config.artifacts_dir, catalog_hash,
                             config.data.name, "alignment.simulator")


def feedback_records(feedback: Any) -> tuple[list[FeedbackPoint], list[FeedbackPair]]:
    """The records of the simulator's :class:`~rlrec.simulator.CollectiveFeedback`, with string cluster ids."""
    return [p.with_string_ids() for p in feedback.pointwise], [p.with_string_ids() for p in feedback.pairwise]


def cluster_engagement(
    ctcvr: Callable[[list[str], list[str]], np.ndarray],
    clusters: Any,
    catalog_ids: list[str],
    item_counts: dict[str, int],
    pool_size: int,
    served_items: int,
) -> Callable[[Sequence[str], Sequence[str]], np.ndarray]:
    """E(user, cluster) [P] for P pairs: the mean ``ctcvr`` of the user's top ``served_items`` items among the
    cluster's ``pool_size`` most popular items (popularity = ``item_counts``; ties by catalogue order)."""
    from rlrec.simulator.serving import cluster_pools, top_n_mean

    popularity = np.array([item_counts.get(i, 0) for i in catalog_ids], dtype=np.float64)  # [I]
    pools = cluster_pools(clusters.of(catalog_ids), popularity, clusters.k, pool_size)  # [k, pool] rows, -1 padded

    def engagement(user_ids: Sequence[str], cluster_ids: Sequence[str]) -> np.ndarray:
        rows = pools[np.array([int(c) for c in cluster_ids], dtype=np.int64)]  # [P, pool]
        valid = rows >= 0
        users = np.repeat(np.array(list(user_ids), dtype=object), rows.shape[1])[valid.ravel()]
        values = np.zeros(rows.shape, dtype=np.float64)
        values[valid] = ctcvr(list(users), [catalog_ids[r] for r in rows[valid].tolist()])
        return top_n_mean(values, valid, served_items)  # [P]

    return engagement


def load_sources(config: Config, simulator_dir: str | Path | None = None) -> AlignmentSources:
    """Load the log (``config.data``) and its simulator artifact (``simulator_dir``: the run's; see
    :func:`resolve_simulator_dir`); check the context length agrees."""
    from rlrec.artifacts import config_hash
    from rlrec.data import load_log
    from rlrec.simulator import Simulator, load_feedback

    data = load_log(config.data)
    sim_dir = resolve_simulator_dir(config, data.catalog.content_hash(), simulator_dir)
    sim = Simulator.load(sim_dir, catalog=data.catalog)
    feedback = load_feedback(sim_dir)
    k, ordered = int(feedback.meta.get("context_len", 0)), bool(feedback.meta.get("ordered_context", True))
    if k != config.alignment.context_len:
        raise ValueError(
            f"alignment.context_len={config.alignment.context_len} but the simulator artifact {sim_dir} aggregated its "
            f"feedback over the last {k} clusters: set alignment.context_len={k}, or rebuild the simulator with "
            f"simulator.context_len={config.alignment.context_len}"
        )
    clusters = sim.clusters
    names = {str(c): name for c, name in enumerate(clusters.names)}
    sequences = {
        user: [str(c) for c in clusters.sequence([e.item_id for e in events], most_recent_first=False)]
        for user, events in data.histories.items()
    }
    points, pairs = feedback_records(feedback)
    log.info("alignment sources: simulator %s, %d clusters, %d users, %d pointwise / %d pairwise feedback rows",
             sim_dir, len(names), len(sequences), len(points), len(pairs))

    sim_config = sim.meta["config"]
    pool_size, served_items = int(sim_config["pool_size"]), int(sim_config["served_items"])
    counts: dict[str, int] = {}
    for events in data.histories.values():
        for e in events:
            counts[e.item_id] = counts.get(e.item_id, 0) + 1
    engagement = cluster_engagement(sim.ctcvr, clusters, list(data.catalog.ids), counts, pool_size, served_items)

    return AlignmentSources(
        simulator_dir=Path(sim_dir),
        fingerprint=config_hash(str(Path(sim_dir).resolve()), sim.data_hash, sim.meta.get("created"), config.data),
        names=names,
        sequences=sequences,
        ordered_context=ordered,
        points=points,
        pairs=pairs,
        engagement=engagement,
        engagement_description=(
            f"mean simulated pCTCVR of the user's top {served_items} items among the cluster's {pool_size} most "
            "popular items (the simulator's feedback definition), user in their latest logged state"
        ),
    )
