"""A built simulator, loaded from its artifact folder: CTCVR scoring, normalisation, grounding, clusters.

Artifact layout (written by :func:`rlrec.simulator.build_simulator`)::

    simulator.json        format version, dataset, data / catalogue hashes, embedder name + fingerprint,
                          config, label semantics, metrics, normalisation statistics, counts
    model.pt              ESMM state dict
    features.npz/.json    id vocabularies (FeatureSpace)
    state.npz             every logged user's latest history rows and profile indices
    clusters.npz/.json    interest cluster per catalogue item, names, centroids
    feedback/             pointwise.jsonl, pairwise.jsonl, meta.json (collective feedback)
    reliability.png, simulator_card.md
"""

from __future__ import annotations

import json
import pickle
import zipfile
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rlrec.data.schema import Catalog
from rlrec.simulator.clusters import InterestClusters
from rlrec.simulator.encoders import index_encoder, index_encoder_name
from rlrec.simulator.esmm import ESMM
from rlrec.simulator.features import FeatureSpace
from rlrec.simulator.grounding import ItemIndex, default_cache_dir, embedder_fingerprint
from rlrec.simulator.scoring import Scorer

__all__ = ["Simulator", "SimulatorArtifactError", "SimulatorMismatchError", "find_simulator", "resolve_simulator", "FORMAT_VERSION",
           "META_FILE", "minmax_normalize"]

FORMAT_VERSION = 1
META_FILE = "simulator.json"
REQUIRED = (META_FILE, "model.pt", "features.npz", "features.json", "state.npz", "clusters.npz", "clusters.json")
# the artifact folder is keyed by the config, so a plain rerun would reuse the broken one: force the rebuild
BUILD_HINT = ("rebuild it by adding simulator.rebuild=true to the command that built it, e.g. "
              "`python -m experiments.build_simulator data=<dataset> simulator.rebuild=true` (or the pipeline's "
              "command with simulator.rebuild=true)")


class SimulatorArtifactError(ValueError):
    """The folder is not a (complete, readable) simulator artifact."""


class SimulatorMismatchError(ValueError):
    """The artifact was built for another catalogue or embedder than the one given."""


def minmax_normalize(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """``clip((x - lo) / (hi - lo), 0, 1)``; all zeros when ``hi <= lo``."""
    if hi <= lo:
        return np.zeros_like(x, dtype=np.float32)
    return np.clip((x - lo) / (hi - lo), 0.0, 1.0).astype(np.float32)


class Simulator:
    """Loaded simulator. Ids are strings; arrays are ``[N]`` per (user, item) pair."""

    def __init__(self, path: Path, meta: dict, scorer: Scorer, clusters: InterestClusters,
                 catalog: Catalog | None = None, embedder: Any = None, cache_dir: str | Path | None = None) -> None:
        self.path = Path(path)
        self.meta = meta
        self.scorer = scorer
        self.clusters = clusters
        self._catalog = catalog
        self._embedder = embedder
        self._cache_dir = cache_dir
        self._index: ItemIndex | None = None

    # ------------------------------------------------------------------------------------------- loading

    @classmethod
    def load(cls, path: str | Path, catalog: Catalog | None = None, embedder: Any = None,
             embedder_name: str | None = None, cache_dir: str | Path | None = None) -> Simulator:
        """Load an artifact. With ``catalog`` / ``embedder_name`` / ``embedder`` given, check they are the ones
        it was built with (:class:`SimulatorMismatchError` naming both hashes otherwise)."""
        import torch

        path = Path(path)
        missing = [name for name in REQUIRED if not (path / name).exists()]
        if missing:
            raise SimulatorArtifactError(f"{path} is not a complete simulator artifact (missing {', '.join(missing)}); "
                                         f"{BUILD_HINT}")
        try:
            meta = json.loads((path / META_FILE).read_text())
        except (OSError, json.JSONDecodeError) as err:
            raise SimulatorArtifactError(f"{path / META_FILE} is unreadable ({err}); {BUILD_HINT}") from err
        if meta.get("format_version") != FORMAT_VERSION:
            raise SimulatorArtifactError(f"{path / META_FILE} has format_version {meta.get('format_version')!r}, this "
                                         f"code reads {FORMAT_VERSION}; {BUILD_HINT}")
        if catalog is not None and catalog.content_hash() != meta["catalog_hash"]:
            raise SimulatorMismatchError(
                f"simulator artifact {path} was built for catalogue {meta['catalog_hash']} ({meta['catalog_size']} items, "
                f"dataset {meta['dataset']!r}) but the catalogue given hashes to {catalog.content_hash()} "
                f"({len(catalog)} items): load the artifact built for this data, or {BUILD_HINT}")
        if embedder_name is not None and embedder_name != meta["embedder_name"]:
            raise SimulatorMismatchError(
                f"simulator artifact {path} was built with embedder {meta['embedder_name']!r} "
                f"(fingerprint {meta['embedder_fingerprint']}) but {embedder_name!r} was given: use the same "
                f"model.embedder, or {BUILD_HINT}")
        if embedder is not None:
            given = embedder_fingerprint(embedder)
            if given != meta["embedder_fingerprint"]:
                raise SimulatorMismatchError(
                    f"simulator artifact {path} was built with embedder {meta['embedder_name']!r} fingerprint "
                    f"{meta['embedder_fingerprint']}, but the embedder given has fingerprint {given}: its vectors "
                    f"differ, so grounding would not match the cached item matrix; {BUILD_HINT}")
        try:
            features = FeatureSpace.load(path)
            dims = meta["model"]
            model = ESMM(dims["num_users"], dims["num_items"], dims["category_sizes"], dims["profile_sizes"],
                         dim=dims["dim"], hidden=dims["hidden"])
            model.load_state_dict(torch.load(path / "model.pt", map_location="cpu", weights_only=True))
            state = np.load(path / "state.npz")
            scorer = Scorer(model, features, state["users"].tolist(), state["hist"], state["profile"])
            clusters = InterestClusters.load(path, features.item_ids)
        except (OSError, KeyError, ValueError, RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile) as err:
            raise SimulatorArtifactError(f"simulator artifact {path} is corrupt ({type(err).__name__}: {err}); "
                                         f"{BUILD_HINT}") from err
        return cls(path, meta, scorer, clusters, catalog, embedder, cache_dir)

    # ------------------------------------------------------------------------------------------ identity

    @property
    def catalog_hash(self) -> str:
        return self.meta["catalog_hash"]

    @property
    def data_hash(self) -> str:
        return self.meta["data_hash"]

    @property
    def embedder_name(self) -> str:
        return self.meta["embedder_name"]

    @property
    def metrics(self) -> dict:
        return self.meta["metrics"]

    @property
    def normalization(self) -> dict:
        """``{"lo", "hi", "quantiles", "source"}``: the fixed min-max statistics of raw pCTCVR."""
        return self.meta["normalization"]

    @property
    def unknown_counts(self) -> Counter:
        """Pairs scored with a cold-start fallback since loading: unknown_user, cold_user, unknown_item, cold_item."""
        return self.scorer.unknown_counts

    # ------------------------------------------------------------------------------------------- scoring

    def predict(self, user_ids: Sequence[str], item_ids: Sequence[str], histories: Sequence[Sequence[str]] | None = None,
                most_recent_first: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(pCTR, pCVR, pCTCVR), each ``[N]`` float32. ``histories``: see :meth:`ctcvr`."""
        p_ctr, p_cvr = self.scorer.predict(user_ids, item_ids, histories, most_recent_first)
        return p_ctr, p_cvr, p_ctr * p_cvr

    def ctcvr(self, user_ids: Sequence[str], item_ids: Sequence[str], histories: Sequence[Sequence[str]] | None = None,
              most_recent_first: bool = True) -> np.ndarray:
        """Raw pCTCVR = P(click ∧ conversion | user, item), ``[N]``.

        By default the user is in their latest logged state. ``histories`` (one per pair, item ids, most
        recent first like ``Example.history_item_ids``) conditions on that history instead, e.g. the one a
        prompt showed, so the score cannot see past the prompt's time.
        """
        return self.predict(user_ids, item_ids, histories, most_recent_first)[2]

    def ctr(self, user_ids: Sequence[str], item_ids: Sequence[str], histories: Sequence[Sequence[str]] | None = None,
            most_recent_first: bool = True) -> np.ndarray:
        """pCTR, ``[N]``."""
        return self.predict(user_ids, item_ids, histories, most_recent_first)[0]

    def normalized_ctcvr(self, user_ids: Sequence[str], item_ids: Sequence[str],
                         histories: Sequence[Sequence[str]] | None = None, per_batch: bool = False,
                         most_recent_first: bool = True) -> np.ndarray:
        """Min-max normalised pCTCVR in [0, 1] (Taiji §2.3.2), ``[N]``.

        Default: fixed statistics (``lo``, ``hi`` = quantiles of pCTCVR over the training impressions,
        see :attr:`normalization`), so a reward means the same in every batch; values outside are clipped.
        ``per_batch=True``: min-max over this batch (a constant batch maps to 0).
        """
        raw = self.ctcvr(user_ids, item_ids, histories, most_recent_first)
        if per_batch:
            return minmax_normalize(raw, float(raw.min()), float(raw.max())) if len(raw) else raw
        return minmax_normalize(raw, self.normalization["lo"], self.normalization["hi"])

    # --------------------------------------------------------------------------------------- grounding

    @property
    def index(self) -> ItemIndex:
        """The grounding index (built on first use; the item matrix comes from the embedding cache)."""
        if self._index is None:
            from rlrec.assets import load_embedder

            config = self.meta["config"]
            kind = config.get("index_encoder", "embedder")
            embedder = self._embedder if self._embedder is not None else load_embedder(self.embedder_name)
            embedder = index_encoder(embedder, self.embedder_name, kind, config.get("encode_threads"))
            name = index_encoder_name(self.embedder_name, kind)
            cache_dir = self._cache_dir or config.get("cache_dir") or default_cache_dir()
            kwargs = {"batch_size": config["encode_batch_size"], "precision": config["encode_precision"]}
            if self._catalog is not None:
                self._index = ItemIndex.build(self._catalog, embedder, cache_dir, name, threads=config.get(
                    "encode_threads"), **kwargs)
            else:
                cached = ItemIndex.cache_path(cache_dir, name, self.catalog_hash)
                if not cached.exists():
                    raise SimulatorArtifactError(
                        f"the item embeddings of catalogue {self.catalog_hash} are not cached at {cached}: pass the "
                        "catalogue (Simulator.load(path, catalog=log.catalog)) so they can be computed")
                self._index = ItemIndex(self.scorer.features.item_ids, np.load(cached), embedder, name,
                                        **kwargs)
        return self._index


def find_simulator(artifacts_dir: str | Path, catalog_hash: str | None = None) -> Path | None:
    """The newest complete simulator artifact under ``<artifacts_dir>/simulator/`` (optionally for one
    catalogue hash), or None."""
    root = Path(artifacts_dir) / "simulator"
    found = []
    for meta_path in root.glob(f"*/{META_FILE}"):
        if not all((meta_path.parent / name).exists() for name in REQUIRED):
            continue
        try:
            meta = json.loads(meta_path.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        if catalog_hash is None or meta.get("catalog_hash") == catalog_hash:
            found.append((meta_path.stat().st_mtime, meta_path.parent))
    return max(found)[1] if found else None


def resolve_simulator(explicit: str | Path | None, run_simulator: str | Path | None, artifacts_dir: str | Path,
                      catalog_hash: str, data_name: str, setting: str) -> Path:
    """The one lookup policy for "which simulator": ``explicit`` (a config value, e.g. a reward's
    ``params.simulator``), else the run's own (the simulator stage's product), else the newest complete artifact
    built for this catalogue under ``<artifacts_dir>/simulator/``; FileNotFoundError naming the build command
    and ``setting`` when there is none."""
    chosen = explicit or run_simulator or find_simulator(artifacts_dir, catalog_hash)
    if chosen is None:
        raise FileNotFoundError(
            f"no simulator artifact for the {data_name} catalogue ({catalog_hash}) under {Path(artifacts_dir) / 'simulator'}:"
            f" build one with `python -m experiments.build_simulator data={data_name}` (the pipeline builds it), or set "
            f"{setting}=<artifact folder>")
    return Path(chosen).expanduser().resolve()
