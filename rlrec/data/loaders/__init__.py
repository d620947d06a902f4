"""Dataset loaders, one module each, registered in :data:`DATA_LOADERS` on import."""

from rlrec.data.loaders import instacart, jsonl, movielens  # noqa: F401  (registers the loaders)
from rlrec.data.loaders.base import DATA_LOADERS, DataFormatError, load_log

__all__ = ["DATA_LOADERS", "DataFormatError", "load_log"]
