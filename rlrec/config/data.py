"""Data and model groups: ``data`` (loaders, prompts, splits) and ``model`` (policy, embedder, generation)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from rlrec.config.base import CATALOGUE_POOLS, DUPLICATE_POLICIES, check_choice, check_positive

# ---------------------------------------------------------------------------------------------- data


@dataclass
class SplitConfig:
    """User-disjoint split fractions (must sum to 1)."""

    sft: float = 0.6
    rl: float = 0.2
    test: float = 0.2

    def __post_init__(self) -> None:
        total = self.sft + self.rl + self.test
        if min(self.sft, self.rl, self.test) < 0 or abs(total - 1.0) > 1e-6:
            raise ValueError(f"data.split fractions must be >= 0 and sum to 1, got sft={self.sft} rl={self.rl} test={self.test}")


@dataclass
class DataConfig:
    # which loader (registry name: instacart, movielens100k, jsonl) and where its files are
    name: str = "instacart"
    path: Optional[str] = None  # jsonl: folder with items.jsonl, interactions.jsonl[, users.jsonl]
    # prompt serialization (Taiji §2.1.1)
    query: str = (
        "You are a professional e-commerce analyst. Based on the following information, reason about the "
        "user's preferences and predict the next item the user will purchase."
    )
    history_len: int = 50  # most recent N interactions, reverse chronological
    # categories shown per item in prompts and answers (L1..Ln); null = the catalogue's depth (0 when no item has a
    # category: prompts and answers then carry titles only)
    category_levels: Optional[int] = None
    prompt_token_budget: Optional[int] = 1536  # drop oldest history lines first; null = no limit
    compress_history: bool = False  # RecGPT §2.1.1 time-period x behaviour grouping
    # example construction
    min_history: int = 5  # a target needs at least this many earlier interactions
    max_targets_per_user: int = 1  # latest eligible targets per user
    exclude_repurchase: bool = False  # basket data: target must be new to the user
    min_target_rating: Optional[float] = None  # rating data: only liked items are targets
    max_users: Optional[int] = None  # subsample users (seeded) for quick runs
    # identical interaction rows (same user, item, time, behaviour, rating, label, group): "drop" keeps the first
    # (counted in the data card's skipped rows) or "keep" keeps them all (counted in the data card too)
    duplicates: str = "drop"
    # fail when a loader skips more than this share of the interaction rows (unknown item ids, bad values), 0..1
    max_skipped_share: float = 0.25
    # candidate pool that answers are grounded against (simulator index, evaluation): "logged" = the items that
    # occur in the log (Instacart 14,190), "full" = the loader's whole catalogue (Instacart 49,688 products)
    catalogue: str = "logged"
    split: SplitConfig = field(default_factory=SplitConfig)
    seed: int = 0

    def __post_init__(self) -> None:
        check_choice("data.catalogue", self.catalogue, CATALOGUE_POOLS)
        check_choice("data.duplicates", self.duplicates, DUPLICATE_POLICIES)
        if not 0.0 <= self.max_skipped_share <= 1.0:
            raise ValueError(f"data.max_skipped_share must be in [0, 1], got {self.max_skipped_share}")
        if self.category_levels is not None and self.category_levels < 0:
            raise ValueError(f"data.category_levels must be >= 0 or null (the catalogue's depth), "
                             f"got {self.category_levels}")


# --------------------------------------------------------------------------------------------- model


@dataclass
class ModelConfig:
    # "embedded:smollm2" (shipped GGUF, converted once), a local path, or a Hugging Face id
    policy: str = "embedded:smollm2"
    # "embedded:minilm" (shipped sentence-transformers folder), a local path, or an id
    embedder: str = "embedded:minilm"
    dtype: str = "float32"  # bfloat16 on GPUs
    # generation defaults (overridden per stage)
    max_new_tokens: int = 160
    temperature: float = 0.7
    top_p: float = 0.95
    generation_batch_size: int = 8

    def __post_init__(self) -> None:
        check_positive("model", max_new_tokens=self.max_new_tokens, generation_batch_size=self.generation_batch_size)
        if self.temperature < 0 or not 0 < self.top_p <= 1:
            raise ValueError(f"model.temperature ({self.temperature}) must be >= 0 and model.top_p ({self.top_p}) in (0, 1]")
