"""Data layer: loaders (registry), examples (Taiji prompts + targets), user-disjoint splits, data card.

Public contract::

    load_log(cfg) -> InteractionLog              # DATA_LOADERS: instacart, movielens100k, jsonl
    prepare_data(cfg, out_dir, tokenizer=None) -> PreparedData(log, splits, card)
    load_split(path) -> list[Example]

Formats and choices are documented in docs/data_format.md.
"""

from rlrec.data.examples import BuildReport, Example, build_examples, category_levels, select_targets
from rlrec.data.loaders import DATA_LOADERS, DataFormatError, load_log
from rlrec.data.prepare import PreparedData, load_split, prepare_data, sample_users, split_users
from rlrec.data.prompt import TokenCounter
from rlrec.data.schema import Catalog, Interaction, InteractionLog, Item, UserProfile

__all__ = [
    "DATA_LOADERS", "DataFormatError", "load_log",
    "Example", "BuildReport", "build_examples", "category_levels", "select_targets",
    "PreparedData", "prepare_data", "load_split", "sample_users", "split_users", "TokenCounter",
    "Catalog", "Interaction", "InteractionLog", "Item", "UserProfile",
]
