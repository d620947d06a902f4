"""Heavy objects rewards need (embedder, simulator, reward models, catalogue), loaded lazily and shared.

Two rewards that use the same embedder get the same object and the same :class:`EmbeddingCache`; loaded
objects are cached per process (keyed by what identifies them: model name or path, precision, simulator folder), so a
second :class:`Resources` — e.g. the evaluator next to the trainer — does not load them again. Objects
given with :meth:`Resources.provide` (tests, benchmarks, callers that already hold them) stay private to
that instance and take precedence.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any

from rewards.core.embedding_cache import EmbeddingCache
from rlrec.config import Config

log = logging.getLogger(__name__)

_SHARED: dict[Hashable, Any] = {}  # process-wide: key -> loaded object
_LOCK = threading.RLock()


class Resources:
    """Lazy, shared access to the heavy objects of one run configuration.

    >>> resources = Resources(config)
    >>> resources.embedder() is Resources(config).embedder()   # loaded once per process
    True
    """

    def __init__(self, config: Config | None = None, simulator_dir: str | Path | None = None,
                 products: dict[str, Any] | None = None) -> None:
        self.config = config or Config()
        # what the run's stages produced (``rlrec.stages.RunContext.products``: "simulator", "alignment_models", …)
        self.products = products if products is not None else {}
        # the run's simulator artifact: the simulator stage's product; None = the newest one for this catalogue
        self.simulator_dir = simulator_dir or self.products.get("simulator")
        self._provided: dict[Hashable, Any] = {}

    def product(self, name: str) -> Any | None:
        """What the run's stage ``name`` produced (None outside a pipeline / stage run)."""
        return self.products.get(name)

    # ------------------------------------------------------------------ generic

    def shared(self, key: Hashable, load: Callable[[], Any]) -> Any:
        """The object under ``key``: provided to this instance, already loaded in this process, or ``load()``."""
        if key in self._provided:
            return self._provided[key]
        with _LOCK:
            if key not in _SHARED:
                _SHARED[key] = load()
            return _SHARED[key]

    def local(self, key: Hashable, load: Callable[[], Any]) -> Any:
        """Like :meth:`shared`, but cached in this instance only (objects built from provided ones)."""
        if key not in self._provided:
            self._provided[key] = load()
        return self._provided[key]

    def provide(self, key: Hashable, obj: Any) -> Resources:
        """Use ``obj`` for ``key`` in this instance (see the ``*_key`` helpers for the keys); returns self."""
        self._provided[key] = obj
        return self

    # ------------------------------------------------------------------ embedder

    def embedder_name(self, name: str | None = None) -> str:
        return name or self.config.model.embedder

    def embedder(self, name: str | None = None) -> Any:
        """A sentence-transformers model (``name`` or ``config.model.embedder``), fp32, on CPU."""
        name = self.embedder_name(name)

        def load() -> Any:
            from rlrec.assets import load_embedder

            return load_embedder(name)

        return self.shared(embedder_key(name), load)

    def embeddings(self, name: str | None = None, precision: str = "float32", max_items: int = 100_000,
                   batch_size: int = 256) -> EmbeddingCache:
        """The text → embedding cache of that embedder (one per embedder and precision, whatever the caller;
        the first caller's ``max_items`` / ``batch_size`` are kept)."""
        name = self.embedder_name(name)
        return self.shared(
            embeddings_key(name, precision),
            lambda: EmbeddingCache(self.embedder(name), max_items=max_items, batch_size=batch_size, precision=precision),
        )

    # ------------------------------------------------------------------ data

    def catalog(self) -> Any:
        """The catalogue of ``config.data`` (an :class:`rlrec.data.Catalog`)."""
        return self.shared(catalog_key(self.config), lambda: self.log().catalog)

    def log(self) -> Any:
        """The interaction log of ``config.data`` (loaded once per process)."""

        def load() -> Any:
            from rlrec.data import load_log

            return load_log(self.config.data)

        return self.shared(("log", repr(self.config.data)), load)

    # ------------------------------------------------------------------ simulator

    def simulator(self, path: str | None = None) -> Any:
        """The offline simulator (``rlrec.simulator.Simulator``) at ``path``, checked against this config's
        catalogue and loaded with the shared embedder it was built with.

        ``path`` None: the run's ``simulator_dir`` when given, else the newest complete artifact for this
        catalogue under ``<artifacts_dir>/simulator/``.
        """
        if path is None and "simulator" in self._provided:
            return self._provided["simulator"]
        folder = self.simulator_path(path)

        def load() -> Any:
            import json

            from rlrec.simulator import Simulator
            from rlrec.simulator.artifact import META_FILE

            try:
                embedder_name = json.loads((folder / META_FILE).read_text())["embedder_name"]
            except (OSError, ValueError, KeyError):
                embedder_name = None  # Simulator.load reports the broken artifact
            embedder = self.embedder(embedder_name) if embedder_name else None
            return Simulator.load(folder, catalog=self.catalog(), embedder=embedder)

        return self.shared(simulator_key(str(folder)), load)

    def simulator_path(self, path: str | None = None) -> Path:
        """``path``, the run's ``simulator_dir``, or the newest simulator artifact built for this config's
        catalogue (:func:`rlrec.simulator.artifact.resolve_simulator`, the one lookup policy)."""
        from rlrec.simulator.artifact import resolve_simulator

        catalog_hash = "" if (path or self.simulator_dir) else self.catalog().content_hash()
        return resolve_simulator(path, self.simulator_dir, self.config.artifacts_dir, catalog_hash,
                                 self.config.data.name, "the reward's params.simulator")

    # ------------------------------------------------------------------ models

    def sequence_classifier(self, path: str) -> tuple[Any, Any]:
        """(model, tokenizer) of a saved ``AutoModelForSequenceClassification`` (num_labels=1), in eval mode."""
        from rlrec.assets import resolve_model_path

        resolved = resolve_model_path(path)

        def load() -> tuple[Any, Any]:
            from rlrec.alignment.reward_model import load_reward_model

            model, tokenizer = load_reward_model(resolved)
            model.eval()
            return model, tokenizer

        return self.shared(("sequence_classifier", resolved), load)

    def causal_lm(self, name: str, dtype: str = "float32") -> tuple[Any, Any]:
        """(model, tokenizer) of a causal LM (``embedded:smollm2``, a folder or an HF id), in eval mode."""

        def load() -> tuple[Any, Any]:
            from rlrec.assets import load_causal_lm

            model, tokenizer = load_causal_lm(name, dtype=dtype)
            model.eval()
            return model, tokenizer

        return self.shared(("causal_lm", name, dtype), load)


# Keys, so callers can :meth:`Resources.provide` an object in place of a loaded one.
def embedder_key(name: str) -> tuple:
    return ("embedder", name)


def embeddings_key(name: str, precision: str = "float32") -> tuple:
    return ("embeddings", name, precision)


def simulator_key(folder: str) -> tuple:
    return ("simulator", folder)


def catalog_key(config: Config) -> tuple:
    return ("catalog", repr(config.data))


def clear_shared() -> None:
    """Forget every process-wide object (tests; frees memory between runs in one process)."""
    with _LOCK:
        _SHARED.clear()
