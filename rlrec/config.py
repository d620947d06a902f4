"""Typed run configuration: plain dataclasses, one per config group under ``conf/``.

The Hydra entry points (``experiments/``) register these as structured-config schemas, so a typo in a key
fails at compose time, and convert the composed config into a :class:`Config` once. Nothing below the
entry point sees a ``DictConfig``; this module imports neither Hydra nor OmegaConf.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

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
    category_levels: int = 2  # categories shown per item in prompts and answers (L1..Ln)
    prompt_token_budget: Optional[int] = 1536  # drop oldest history lines first; null = no limit
    compress_history: bool = False  # RecGPT §2.1.1 time-period x behaviour grouping
    # example construction
    min_history: int = 5  # a target needs at least this many earlier interactions
    max_targets_per_user: int = 1  # latest eligible targets per user
    exclude_repurchase: bool = False  # basket data: target must be new to the user
    min_target_rating: Optional[float] = None  # rating data: only liked items are targets
    max_users: Optional[int] = None  # subsample users (seeded) for quick runs
    split: SplitConfig = field(default_factory=SplitConfig)
    seed: int = 0


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


# ---------------------------------------------------------------------------------------------- root


@dataclass
class Config:
    """Root config. Each field mirrors one config group (``conf/<group>/*.yaml``)."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    experiment_name: str = "default"
    seed: int = 0
    artifacts_dir: str = "artifacts"  # stage outputs keyed by config hash (reruns resume)
    demo_prompts: int = 3  # pipeline: test prompts answered by the base model as a smoke check
