"""What encodes the grounding index (``simulator.index_encoder``): the configured embedder, or a static model
distilled from it.

* ``embedder`` — ``model.embedder`` itself (MiniLM by default): 75 items/s on 1 core, 131 on 2, in fp32 on the
  2-core reference machine, so the one-time encode of a catalogue runs on every core (``simulator.encode_threads``).
* ``static`` — a model2vec static embedding model distilled locally from the same embedder (one forward pass
  per vocabulary token, 20 s on 2 cores, cached in ``$RLREC_CACHE/static_embedders/``). Encoding is a
  token-embedding lookup + mean: ~12,700 items/s; the full Instacart catalogue from cold in 24 s, distillation
  included. It costs quality: top-1 agreement with MiniLM 0.65 and Title Hit-Rate@1 halved on real answers
  (``python -m experiments.benchmarks.index_bench``, docs/results/index_bench), so it is not the default.

Both yield L2-normalised ``[N, D]`` float32 matrices through the sentence-transformers ``encode`` signature,
so :class:`rlrec.simulator.grounding.ItemIndex` treats them alike. The item-matrix cache is keyed by
:func:`index_encoder_name`, so the two never share a cached matrix.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rlrec.config.base import INDEX_ENCODERS, check_choice

__all__ = ["INDEX_ENCODERS", "StaticEncoder", "index_encoder", "index_encoder_name", "torch_threads",
           "static_model_dir"]

logger = logging.getLogger(__name__)



@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run with ``n`` torch intra-op threads (restored afterwards); None leaves the setting alone."""
    import torch

    if n is None:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def index_encoder_name(embedder_name: str, kind: str) -> str:
    """The name that keys the item-matrix cache: the embedder's, plus ``+static`` for the distilled model."""
    return embedder_name if kind == "embedder" else f"{embedder_name}+static"


class StaticEncoder:
    """A model2vec ``StaticModel`` behind the sentence-transformers ``encode`` signature (rows L2-normalised)."""

    device = "cpu"

    def __init__(self, model: Any) -> None:
        self.model = model

    def encode(self, texts: Sequence[str], batch_size: int = 1024, normalize_embeddings: bool = True,
               convert_to_numpy: bool = True, show_progress_bar: bool = False) -> np.ndarray:
        emb = np.asarray(self.model.encode(list(texts), batch_size=max(batch_size, 1024),
                                           show_progress_bar=show_progress_bar, use_multiprocessing=False),
                         dtype=np.float32)
        if normalize_embeddings:
            emb /= np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
        return emb


def static_model_dir(embedder_name: str, fingerprint: str, cache_root: Path | None = None) -> Path:
    from rlrec.assets import cache_dir
    from rlrec.simulator.grounding import slug

    return (cache_root or cache_dir() / "static_embedders") / f"{slug(embedder_name)}__{fingerprint}"


def _distill(embedder: Any, target: Path, threads: int | None) -> None:
    """Distil ``embedder`` (a sentence-transformers model) into a model2vec static model saved at ``target``."""
    try:
        from model2vec.distill import distill_from_model
    except ImportError as err:  # model2vec is a dependency; distill also needs skeletoken
        raise ImportError(f"simulator.index_encoder=static needs model2vec's distillation ({err}): "
                          "pip install 'model2vec>=0.10,<0.11' 'skeletoken>=0.6,<0.7'") from err
    transformer = embedder[0].auto_model
    logger.info("distilling a static model from the embedder (one forward pass per vocabulary token) into %s",
                target)
    with torch_threads(threads or os.cpu_count()):
        model = distill_from_model(transformer, embedder.tokenizer, pca_dims=None, device="cpu")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    model.save_pretrained(str(tmp))
    try:
        os.replace(tmp, target)  # a concurrent builder that finished first wins; ours is discarded
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)


def index_encoder(embedder: Any, embedder_name: str, kind: str, threads: int | None = None,
                  cache_root: Path | None = None) -> Any:
    """The encoder of the grounding index for ``simulator.index_encoder = kind`` (see the module docstring)."""
    check_choice("simulator.index_encoder", kind, INDEX_ENCODERS)
    if kind == "embedder":
        return embedder
    from model2vec import StaticModel

    from rlrec.simulator.grounding import embedder_fingerprint

    target = static_model_dir(embedder_name, embedder_fingerprint(embedder), cache_root)
    if not (target / "config.json").exists():
        _distill(embedder, target, threads)
    return StaticEncoder(StaticModel.from_pretrained(str(target)))
