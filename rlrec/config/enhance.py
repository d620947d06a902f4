"""The ``enhance`` group: Taiji Stage 4 (§2.4, Table 2), the LLM as an enhancer of a ranking model."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from rlrec.config.base import check_choice, check_positive

ENHANCE_POLICIES = ("base", "sft", "rl")  # model.policy, the sft stage's checkpoint, the rl stage's final policy


@dataclass
class EnhanceConfig:
    """Intra-user PQ features + cross-user sequences from each policy's output, fed to a ranking model
    (``rlrec.enhance``, ``experiments/enhance.py``). Generation is the cost: ``users`` x len(``policies``)
    completions with the eval generation settings (``eval.*``, ``model.max_new_tokens``)."""

    policies: list[str] = field(default_factory=lambda: list(ENHANCE_POLICIES))  # which LLMs enhance (any of base, sft, rl)
    # users: drawn (seeded) from the log's users that no policy trained on (the data split's test users and the users
    # outside data.max_users); each must have >= min_history events before their cut-off and a labelled hold-out
    users: int = 48
    train_fraction: float = 0.5  # share of ``users`` whose rows train the ranker and fit codebooks / the index
    min_history: int = 5  # events before the cut-off a user needs
    # time split: a user's cut-off is their first hold-out context of the simulator's labels (simulator.labels,
    # conversion_horizon, conversion_min_rating); rows are the hold-out contexts. null = simulator.holdout_fraction
    holdout_fraction: Optional[float] = None
    # intra-user feature quantization (Taiji §2.4; faiss ProductQuantizer): M sub-codes of nbits bits each
    pq_subquantizers: int = 8  # M; must divide the embedder's dimension (MiniLM: 384)
    pq_nbits: int = 3  # 2**nbits centroids per sub-space; needs >= 2**nbits training users
    # cross-user sequence retrieval (Taiji §2.4: top-1 similar user, recent-100 behaviours)
    neighbors: int = 1  # k most similar other users by cosine of the output embeddings (faiss IndexFlatIP)
    neighbor_events: int = 100  # the neighbours' most recent N events before the cut-off
    # a neighbour's events must also precede the querying user's cut-off when timestamps share one clock;
    # null = when the log's time unit is seconds (unix timestamps, MovieLens / jsonl), not for per-user clocks
    shared_clock: Optional[bool] = None
    # the ranker: ESMM towers (Ma et al. 2018) over DIN-style target attention (Zhou et al. 2018)
    embedding_dim: int = 16
    hidden: list[int] = field(default_factory=lambda: [64, 32])
    attention_hidden: int = 32
    epochs: int = 8
    batch_size: int = 256
    learning_rate: float = 0.003
    weight_decay: float = 1.0e-6
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])  # ranker seeds; metrics average over them
    torch_threads: Optional[int] = 1  # ranker training threads (1: small batches, a shared CPU); null = torch default
    # report
    long_tail_quantile: float = 0.3  # long-tail = eval users with pre-cut-off history <= this quantile of train users'
    bootstrap_samples: int = 500  # paired bootstrap over eval users
    confidence: float = 0.95
    # leakage screen: share of users whose answer names an item they first meet at/after the cut-off; above it the
    # run stops (a policy that saw the users' future, e.g. trained on them, or prompts built past the cut-off)
    max_future_answer_rate: float = 0.5
    seed: int = 0  # user sample, train/eval split, negatives

    def __post_init__(self) -> None:
        for name in self.policies:
            check_choice("enhance.policies", name, ENHANCE_POLICIES)
        if not self.policies:
            raise ValueError(f"enhance.policies is empty; choose some of {', '.join(ENHANCE_POLICIES)}")
        check_positive("enhance", users=self.users, pq_subquantizers=self.pq_subquantizers, pq_nbits=self.pq_nbits,
                       neighbors=self.neighbors, neighbor_events=self.neighbor_events, epochs=self.epochs,
                       batch_size=self.batch_size, learning_rate=self.learning_rate, bootstrap_samples=self.bootstrap_samples)
        if not 0.0 < self.train_fraction < 1.0:
            raise ValueError(f"enhance.train_fraction={self.train_fraction} must be in (0, 1)")
        if self.holdout_fraction is not None and not 0.0 < self.holdout_fraction < 1.0:
            raise ValueError(f"enhance.holdout_fraction={self.holdout_fraction} must be in (0, 1) or null")
        if not 0.0 < self.long_tail_quantile < 1.0 or not 0.0 < self.confidence < 1.0:
            raise ValueError(f"enhance.long_tail_quantile ({self.long_tail_quantile}) and enhance.confidence "
                             f"({self.confidence}) must be in (0, 1)")
        if self.pq_nbits > 16:
            raise ValueError(f"enhance.pq_nbits={self.pq_nbits}: at most 16 bits per sub-code")
        if not self.seeds:
            raise ValueError("enhance.seeds is empty; give at least one ranker seed, e.g. [0]")
