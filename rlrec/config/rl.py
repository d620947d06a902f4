"""Reward set, simulator, weighting and RL groups."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from rlrec.config.base import (
    GRPO_LOSS_TYPES,
    INDEX_ENCODERS,
    LR_SCHEDULERS,
    REWARD_AGGREGATIONS,
    REWARD_SCALES,
    VLLM_MODES,
    check_choice,
    check_positive,
)
from rlrec.config.training import LoraConfig

# -------------------------------------------------------------------------------------------- reward


@dataclass
class RewardTermConfig:
    """One reward of a reward set: ``conf/reward/<name>.yaml`` (see ``rewards/__init__.py``).

    ``params`` is checked against the reward's own ``Params`` dataclass: at compose time once the ``rewards``
    package is imported (it registers each schema in Hydra's ConfigStore), and again when the set is built.
    """

    weight: float = 1.0  # initial weight w_k of this reward (Taiji §3.1.3: w_s = w_id = 0.5)
    reward: Optional[str] = None  # registry name; None = this term's key in ``RewardConfig.terms``
    # the reward's parameters: its ``Params`` dataclass once composed (``optional /reward_schema@params`` merges the
    # schema in), or a mapping (Python callers), validated when the reward is built
    params: Any = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not (self.weight >= 0.0 and self.weight < float("inf")):
            raise ValueError(f"reward weight must be a finite number >= 0, got {self.weight}")


@dataclass
class RewardConfig:
    """The reward set (``conf/reward/<set>.yaml``): which rewards, in which order, with which initial weights."""

    name: str = ""  # the set's name, saved with runs; "" = the term names joined with "+"
    terms: dict[str, RewardTermConfig] = field(default_factory=dict)  # term name -> term, in composition order


# ----------------------------------------------------------------------------------------- simulator


@dataclass
class SimulatorConfig:
    """Offline simulator (Taiji §2.3.2; seed 003 §4.1): ESMM CTCVR model, grounding index, interest clusters,
    collective feedback. ``experiments/build_simulator.py``; the card documents every choice below."""

    # labels: a name in rlrec.simulator.LABELERS (basket_repurchase | rating_threshold) or "auto" (by dataset)
    labels: str = "auto"
    conversion_horizon: int = 3  # basket data: conversion = the product is bought again within the next H orders
    # rating data: conversion = rating >= this; null = 0.8 x the log's top rating (4 on 1-5 stars, 8 on 1-10)
    conversion_min_rating: Optional[float] = None
    holdout_fraction: float = 0.1  # last share of each user's labelled orders / events, held out for evaluation
    # sampled negative impressions, drawn from train popularity ** alpha (alpha 0 = uniform, 1 = popularity)
    negative_ratio: int = 4
    negative_alpha: float = 0.75
    # ESMM model
    history_len: int = 50  # most recent interactions pooled into the user state (and counted for the target)
    embedding_dim: int = 16
    hidden: list[int] = field(default_factory=lambda: [64, 32])
    id_dropout: float = 0.05  # share of training rows whose user / item id is replaced by the cold-start id
    # training
    epochs: int = 3
    batch_size: int = 2048
    learning_rate: float = 3e-3
    weight_decay: float = 1e-6
    # reward normalisation: min-max over these quantiles of pCTCVR on the training impressions
    norm_quantiles: list[float] = field(default_factory=lambda: [0.001, 0.999])
    # evaluation (hold-out, with popularity and item-kNN baselines in the same run)
    knn_neighbors: int = 100  # item-kNN: co-occurrence neighbours kept per item
    ece_bins: int = 15
    bootstrap: int = 100  # user-level bootstrap resamples for the AUC margin CI (0 = none)
    # grounding index (item matrix cached on disk keyed by embedder + catalogue hash)
    cache_dir: Optional[str] = None  # None = $RLREC_CACHE/item_index
    encode_batch_size: int = 256
    encode_precision: str = "auto"  # auto (bf16 autocast where the CPU / GPU supports it) | float32 | bfloat16
    # what encodes the index (rlrec/simulator/encoders.py): "embedder" = model.embedder (MiniLM: 131 items/s on 2
    # cores); "static" = a model2vec model distilled locally from it (20 s once, then ~12k items/s; top-1 agreement
    # with MiniLM 0.65 and Title HR@1 halved on real answers: docs/results/index_bench)
    index_encoder: str = "embedder"
    encode_threads: Optional[int] = None  # torch threads for the one-time item encode; null = every core
    # interest clusters and collective feedback
    num_clusters: int = 32
    context_len: int = 2  # K: a user is represented by the last K distinct clusters of their history
    ordered_context: bool = True  # true: oldest → newest; false: a set (sorted ids), more users share one
    explore_per_context: int = 4  # random novel clusters "served" per sampled user state, besides the organic one
    max_feedback_contexts: int = 20000  # sampled user states (seeded subsample above this)
    pool_size: int = 50  # a cluster's most popular items the backbone may serve
    served_items: int = 5  # engagement = mean pCTCVR of the user's top-n items of the pool
    min_support: int = 3  # drop transitions seen by fewer distinct users
    score_norm: str = "log_minmax"  # a name in rlrec.simulator.feedback.SCORE_NORMALISERS
    round_to: float = 0.05  # round normalised scores to this interval
    pair_min_margin: float = 0.05  # pairwise: minimum rounded score gap between preferred and rejected
    max_pairs_per_context: int = 20
    # torch intra-op threads while building (training, scoring); 1 avoids OpenMP oversubscription on a shared
    # CPU (2 threads were 10-30x slower for this small model with other jobs running); null = torch default
    torch_threads: Optional[int] = 1
    seed: int = 0
    rebuild: bool = False  # entry point: rebuild even when the artifact for this config exists

    def __post_init__(self) -> None:
        if self.conversion_horizon < 1 or self.negative_ratio < 1 or self.history_len < 1 or self.num_clusters < 2:
            raise ValueError(
                f"simulator: conversion_horizon ({self.conversion_horizon}), negative_ratio ({self.negative_ratio}) "
                f"and history_len ({self.history_len}) must be >= 1 and num_clusters ({self.num_clusters}) >= 2"
            )
        if not 0.0 < self.holdout_fraction < 1.0:
            raise ValueError(f"simulator.holdout_fraction must be in (0, 1), got {self.holdout_fraction}")
        if self.conversion_min_rating is not None and not abs(self.conversion_min_rating) < float("inf"):  # NaN, inf
            raise ValueError(f"simulator.conversion_min_rating must be a finite rating or null (0.8 x the log's top "
                             f"rating), got {self.conversion_min_rating}")
        lo, hi = self.norm_quantiles
        check_choice("simulator.index_encoder", self.index_encoder, INDEX_ENCODERS)
        if not 0.0 <= lo < hi <= 1.0:
            raise ValueError(f"simulator.norm_quantiles must be [lo, hi] with 0 <= lo < hi <= 1, got {self.norm_quantiles}")
        if self.round_to < 0 or self.context_len < 1 or self.min_support < 1:
            raise ValueError(
                f"simulator: round_to ({self.round_to}) must be >= 0, context_len ({self.context_len}) and "
                f"min_support ({self.min_support}) >= 1"
            )


# ------------------------------------------------------------------------------------- rl, weighting


@dataclass
class WeightingConfig:
    """Reward-weighting strategy (Taiji §2.3.3): ``conf/weighting/<name>.yaml``.

    ``name`` is a key of ``rlrec.weighting.WEIGHTING_STRATEGIES`` (fixed | popo | popo_light, or a plugin's).
    ``params`` holds the strategy's own parameters, the fields of its ``Params`` dataclass (e.g.
    ``rlrec.weighting.Popo.Params``: mu, eta, clip, smoothing, grad_params, include_kl, every; ``PopoLight.Params``:
    eps). The YAML's ``optional /weighting_schema@params`` default merges that dataclass in at compose time, so a
    misspelt or mistyped ``weighting.params.*`` key fails there; at run time it is that dataclass (or a mapping,
    validated when the strategy is built).
    """

    name: str = "fixed"  # registry name of the strategy
    initial_weights: Optional[list[float]] = None  # one per reward, reward-set order; None = the reward set's weights
    params: Any = field(default_factory=dict)  # the strategy's Params (a dataclass once composed) or a mapping


@dataclass
class RLConfig:
    """GRPO stage (Taiji §2.3, §3.1.3): TRL's GRPOTrainer with a reward-weighting strategy (``weighting``)."""

    init_from: Optional[str] = None  # policy to start from (the SFT checkpoint); None = model.policy
    max_prompts: Optional[int] = None  # first N examples of the RL split; None = all
    # rollouts (paper: G = 4)
    num_generations: int = 4  # G
    batch_size: int = 16  # completions per device per micro-batch (TRL per_device_train_batch_size); multiple of G
    grad_accum: int = 1
    max_completion_length: Optional[int] = None  # None = model.max_new_tokens
    temperature: Optional[float] = None  # None = model.temperature
    top_p: Optional[float] = None  # None = model.top_p
    # optimisation (paper: 1 epoch, lr 2e-5)
    learning_rate: float = 2e-5
    lr_scheduler: str = "linear"
    warmup_ratio: float = 0.0
    weight_decay: float = 0.0
    epochs: float = 1.0
    max_steps: int = -1  # > 0 overrides epochs
    # GRPO objective (Eq. 8) and TRL's ablation axes
    beta: float = 0.0  # KL coefficient β; > 0 loads a reference model (the SFT policy)
    epsilon: float = 0.2  # clipping ε
    epsilon_high: Optional[float] = None  # None = epsilon (symmetric clipping)
    loss_type: str = "grpo"  # TRL loss_type; "grpo" = Eq. 8's per-sequence mean
    num_iterations: int = 1
    scale_rewards: str = "group"  # group | batch | none
    multi_objective_aggregation: str = "sum_then_normalize"  # | normalize_then_sum (GDPO)
    mask_truncated_completions: bool = False
    # runtime
    lora: LoraConfig = field(default_factory=LoraConfig)
    use_vllm: bool = False
    vllm_mode: str = "colocate"
    bf16: bool = False
    gradient_checkpointing: bool = False
    logging_steps: int = 1
    save_steps: int = 50
    save_total_limit: Optional[int] = 2
    resume_from_checkpoint: Optional[str] = None  # a checkpoint-N folder to resume from
    log_completions: bool = False

    def __post_init__(self) -> None:
        if self.num_generations < 2 or self.batch_size % self.num_generations:
            raise ValueError(
                f"rl.num_generations must be >= 2 (got {self.num_generations}) and rl.batch_size "
                f"({self.batch_size}) a multiple of it (TRL groups the G completions of a prompt)"
            )
        check_choice("rl.loss_type", self.loss_type, GRPO_LOSS_TYPES)
        check_choice("rl.scale_rewards", self.scale_rewards, REWARD_SCALES)
        check_choice("rl.multi_objective_aggregation", self.multi_objective_aggregation, REWARD_AGGREGATIONS)
        check_choice("rl.lr_scheduler", self.lr_scheduler, LR_SCHEDULERS)
        check_choice("rl.vllm_mode", self.vllm_mode, VLLM_MODES)
        check_positive("rl", learning_rate=self.learning_rate, epochs=self.epochs, epsilon=self.epsilon,
                       grad_accum=self.grad_accum, num_iterations=self.num_iterations,
                       logging_steps=self.logging_steps, save_steps=self.save_steps)
        optional = {"max_completion_length": self.max_completion_length, "top_p": self.top_p,
                    "epsilon_high": self.epsilon_high}
        check_positive("rl", **{k: v for k, v in optional.items() if v is not None})
        if self.beta < 0 or (self.temperature is not None and self.temperature < 0):
            raise ValueError(f"rl.beta ({self.beta}) and rl.temperature ({self.temperature}) must be >= 0")
