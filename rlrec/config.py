"""Typed run configuration: plain dataclasses, one per config group under ``conf/``.

The Hydra entry points (``experiments/``) register these as structured-config schemas, so a typo in a key
fails at compose time, and convert the composed config into a :class:`Config` once. Nothing below the
entry point sees a ``DictConfig``; this module imports neither Hydra nor OmegaConf.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

# Names the libraries accept, checked here so a typo fails when the config is composed, not when its stage starts
# (tests/test_config.py checks each list against the installed library).
LR_SCHEDULERS = (  # transformers.SchedulerType
    "linear", "cosine", "cosine_with_restarts", "polynomial", "constant", "constant_with_warmup", "inverse_sqrt",
    "reduce_lr_on_plateau", "cosine_with_min_lr", "cosine_warmup_with_min_lr", "warmup_stable_decay", "greedy",
)
GRPO_LOSS_TYPES = ("grpo", "bnpo", "dr_grpo", "dapo", "cispo", "sapo", "luspo", "vespo")  # TRL GRPOConfig.loss_type
REWARD_SCALES = ("group", "batch", "none")  # TRL GRPOConfig.scale_rewards
REWARD_AGGREGATIONS = ("sum_then_normalize", "normalize_then_sum")  # TRL GRPOConfig.multi_objective_aggregation
VLLM_MODES = ("colocate", "server")  # TRL GRPOConfig.vllm_mode


class ConfigError(ValueError):
    """A config value a user can fix; the message names the key and the fix (entry points print it without a
    traceback)."""


def check_choice(key: str, value: Any, choices: tuple[str, ...]) -> None:
    """Raise naming ``key``, the bad ``value``, the closest choice and all of them."""
    if value not in choices:
        import difflib

        close = difflib.get_close_matches(str(value), choices, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"{key}={value!r} is not one of {', '.join(choices)}.{hint}")


def check_positive(where: str, **values: float) -> None:
    """Raise naming every ``<where>.<name>`` of ``values`` that is not > 0."""
    bad = [f"{where}.{k}={v}" for k, v in values.items() if not v > 0]
    if bad:
        raise ValueError(f"{', '.join(bad)}: must be > 0")

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
        if self.catalogue not in ("logged", "full"):
            raise ValueError(f"data.catalogue must be 'logged' or 'full', got {self.catalogue!r}")
        if self.duplicates not in ("drop", "keep"):
            raise ValueError(f"data.duplicates must be 'drop' or 'keep', got {self.duplicates!r}")
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


# ------------------------------------------------------------------------------------------- distill


@dataclass
class TeacherConfig:
    """The CoT teacher (Taiji §2.1.2). ``backend`` is a name in ``rlrec.distill.TEACHERS``: hf | openai."""

    backend: str = "hf"
    # hf: "embedded:smollm2", a local path or an HF id; openai: the model name the endpoint serves
    model: str = "embedded:smollm2"
    # sampling (both backends)
    max_new_tokens: int = 512
    temperature: float = 0.8
    top_p: float = 0.95
    # hf backend
    batch_size: int = 8  # prompts per generate() call
    dtype: str = "float32"
    device: Optional[str] = None  # None: cuda when available, else cpu
    # openai-compatible chat/completions endpoint (vLLM, SGLang, a hosted API)
    base_url: str = "http://127.0.0.1:8000/v1"
    api_key_env: Optional[str] = "OPENAI_API_KEY"  # NAME of the env var holding the key; the key never goes in a config
    concurrency: int = 8  # requests in flight
    timeout_s: float = 300.0  # per request
    max_retries: int = 5  # on timeouts, connection errors, 429 and 5xx
    backoff_s: float = 1.0  # first retry delay; doubles each retry (with jitter)
    backoff_max_s: float = 60.0

    def __post_init__(self) -> None:
        if self.concurrency < 1 or self.batch_size < 1 or self.max_retries < 0:
            raise ValueError(
                f"distill.teacher: concurrency ({self.concurrency}) and batch_size ({self.batch_size}) must be >= 1 "
                f"and max_retries ({self.max_retries}) >= 0"
            )


@dataclass
class PPLFilterConfig:
    """PPL rejection sampling (Taiji Eq. 1): keep candidates whose true-answer PPL is below R."""

    enabled: bool = True  # false: keep every screened candidate (the "w/o PPL filter" ablation)
    scorer: Optional[str] = None  # model scoring PPL; None = the student base model (model.policy)
    percentile: float = 50.0  # R = this percentile of PPL over the validation subset (paper: the median)
    threshold: Optional[float] = None  # a fixed R instead of the percentile (paper §3.1.1: 4.6)
    validation_size: Optional[int] = None  # candidates sampled (seeded) to set R; None = all of them
    batch_size: int = 8
    max_length: Optional[int] = None  # truncate the context from the left beyond this many tokens; None = never

    def __post_init__(self) -> None:
        if not 0.0 <= self.percentile <= 100.0:
            raise ValueError(f"distill.ppl.percentile must be in [0, 100], got {self.percentile}")
        if self.threshold is not None and self.threshold <= 0:
            raise ValueError(f"distill.ppl.threshold must be > 0 (a perplexity), got {self.threshold}")


@dataclass
class DistillConfig:
    """RUPR distillation (Taiji §2.1.2) of k candidate CoTs per SFT-split prompt, then the PPL filter."""

    rupr: bool = True  # false: "w/o RUPR" (Table 3) — the teacher sees no true item and writes its own answer
    num_candidates: int = 3  # k
    max_examples: Optional[int] = None  # first N examples of the SFT split; None = all
    min_cot_chars: int = 20  # shorter CoTs are rejected as empty
    # A RUPR CoT matching any of these (case-insensitive regexes) refers to being given the answer: rejected.
    leakage_patterns: list[str] = field(
        default_factory=lambda: [
            r"\bground[\s-]*truth\b",
            r"\bgiven that the user (?:has |had |will |would )?(?:bought|buys|purchased|purchases|buy|purchase)\b",
            r"\bthe (?:correct |final |true |right )?answer is\b",
            r"\bwe (?:are|were|have been) (?:told|given|informed)\b",
            r"\b(?:i|you) (?:am|are|was|were|have been) (?:told|given|informed)\b",
            r"\bthe (?:actual|true|real|given|target) (?:next )?(?:item|purchase|product)\b",
            r"\bas (?:stated|given|mentioned|provided) (?:in|by) the (?:prompt|question|task|instructions?)\b",
        ]
    )
    # Distillation prompts. {prompt}: the example prompt; {target_text}: the true item (RUPR only);
    # {answer_format}: the answer template. Both are part of the prompt hash that keys the candidate store.
    rupr_template: str = (
        "{prompt}\n\nThe item this user actually purchased next is:\n{target_text}\n\n"
        "Reconstruct the user's preference reasoning: explain step by step how the user's profile and recent "
        "behaviour lead to this purchase. Write it as an analyst predicting the purchase from the information "
        "above; never say that the item was given to you. Put the reasoning inside <think></think>."
    )
    direct_template: str = (
        "{prompt}\n\nThink step by step about the user's preferences inside <think></think>, then name the one "
        "item the user will buy next inside <answer></answer>, exactly in this format:\n"
        "<think>your reasoning</think><answer>{answer_format}</answer>"
    )
    store: Optional[str] = None  # candidate JSONL; None = <artifacts_dir>/distill/<hash of data + teacher>/candidates.jsonl
    teacher: TeacherConfig = field(default_factory=TeacherConfig)
    ppl: PPLFilterConfig = field(default_factory=PPLFilterConfig)

    def __post_init__(self) -> None:
        if self.num_candidates < 1:
            raise ValueError(f"distill.num_candidates must be >= 1, got {self.num_candidates}")


# ----------------------------------------------------------------------------------------------- sft


@dataclass
class LoraConfig:
    enabled: bool = False  # false: full fine-tuning (the paper)
    r: int = 16
    alpha: int = 32
    dropout: float = 0.05
    target_modules: list[str] = field(default_factory=lambda: ["all-linear"])
    merge: bool = True  # save the merged model, so the RL stage loads a plain checkpoint

    def __post_init__(self) -> None:
        check_positive("lora", r=self.r, alpha=self.alpha)
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"lora.dropout must be in [0, 1), got {self.dropout}")


@dataclass
class SFTConfig:
    """ORFT (Taiji Eq. 2): TRL SFTTrainer on the kept samples, loss over the completion (think + answer) only."""

    train_file: Optional[str] = None  # sft_data.jsonl written by `distill`; None = run the distill stage first
    model: Optional[str] = None  # the student; None = model.policy
    epochs: float = 1.0
    learning_rate: float = 1e-7  # paper §3.1.3 (full fine-tuning of a 7B model)
    lr_scheduler: str = "cosine"
    warmup_ratio: float = 0.03
    weight_decay: float = 0.0
    batch_size: int = 32  # per device
    grad_accum: int = 1
    max_length: Optional[int] = 4096  # prompt + completion tokens; longer samples are truncated (keep start)
    gradient_checkpointing: bool = False
    bf16: bool = False
    logging_steps: int = 10
    lora: LoraConfig = field(default_factory=LoraConfig)
    # Table 3 format metrics on the held-out (test) split, base vs SFT model
    eval_examples: Optional[int] = 64  # None = the whole test split
    eval_max_new_tokens: Optional[int] = None  # None = model.max_new_tokens
    eval_temperature: float = 0.0  # 0 = greedy
    eval_batch_size: int = 8

    def __post_init__(self) -> None:
        check_choice("sft.lr_scheduler", self.lr_scheduler, LR_SCHEDULERS)
        check_positive("sft", epochs=self.epochs, learning_rate=self.learning_rate, batch_size=self.batch_size,
                       grad_accum=self.grad_accum, logging_steps=self.logging_steps, eval_batch_size=self.eval_batch_size)
        if self.eval_max_new_tokens is not None:
            check_positive("sft", eval_max_new_tokens=self.eval_max_new_tokens)


# ---------------------------------------------------------------------------------------------- eval


@dataclass
class EvalConfig:
    """Test-split evaluation (Taiji Tables 1 and 3, RecGPT-style health) with bootstrap CIs."""

    checkpoint: Optional[str] = None  # model folder / id to evaluate; None = model.policy
    label: str = "policy"  # results go to <run_dir>/eval/<label>/ and to summary keys eval/<label>/<metric>
    split: str = "test"
    max_examples: Optional[int] = None  # first N examples of the split; None = all
    # generation: backend is a name in rlrec.eval.generate.BACKENDS (hf | vllm)
    backend: str = "hf"
    num_samples: int = 1  # completions per prompt (> 1 needs temperature > 0)
    temperature: float = 0.0  # 0 = greedy
    top_p: float = 1.0
    max_new_tokens: Optional[int] = None  # None = model.max_new_tokens
    batch_size: Optional[int] = None  # None = model.generation_batch_size
    # metrics
    hit_ks: list[int] = field(default_factory=lambda: [50, 100])  # Title_Hit-Rate@K
    head_fraction: float = 0.2  # head items = this most popular fraction of the catalogue
    simulator: Optional[str] = None  # simulator artifact folder; None = look it up; missing = grounding metrics skipped
    objectives: list[str] = field(default_factory=lambda: ["Semantic_Cosine", "CTCVR"])  # summary objective/<name>
    # bootstrap
    bootstrap_samples: int = 1000
    confidence: float = 0.95
    seed: int = 0

    def __post_init__(self) -> None:
        if self.num_samples < 1 or (self.num_samples > 1 and self.temperature <= 0):
            raise ValueError(
                f"eval.num_samples={self.num_samples} with eval.temperature={self.temperature}: "
                "use num_samples=1 for greedy decoding, or set temperature > 0 to sample several completions"
            )
        if not 0.0 < self.confidence < 1.0 or self.bootstrap_samples < 1:
            raise ValueError(
                f"eval.confidence must be in (0, 1) (got {self.confidence}) and "
                f"eval.bootstrap_samples >= 1 (got {self.bootstrap_samples})"
            )
        if not self.hit_ks or min(self.hit_ks) < 1:
            raise ValueError(f"eval.hit_ks must be positive integers, got {self.hit_ks}")


# -------------------------------------------------------------------------------------------- logger


@dataclass
class LoggerConfig:
    """Run logging. A local run dir (config.yaml, metrics.jsonl, summary.json) is always written."""

    backends: list[str] = field(default_factory=lambda: ["local"])  # names in rlrec.logging.LOGGERS: local, wandb
    project: str = "rlrec"  # W&B project
    entity: Optional[str] = None  # W&B entity (team / user); None = the key's default
    group: Optional[str] = None  # W&B group: the runs of one sweep share it (sweep presets set it)
    name: Optional[str] = None  # run name; None = the run dir's name
    tags: list[str] = field(default_factory=list)
    mode: str = "offline"  # offline | online | disabled; online needs WANDB_API_KEY, else falls back to offline

    def __post_init__(self) -> None:
        check_choice("logger.mode", self.mode, ("offline", "online", "disabled"))


# ----------------------------------------------------------------------------------------- alignment


@dataclass
class NoveltyConfig:
    """The novelty model (seed 003 §3): light SFT of the policy LM on novel cluster transitions."""

    model: Optional[str] = None  # base LM to fine-tune; None = model.policy
    examples: int = 256  # novel transitions to train on (paper: < 8k, kept small to preserve the LM's knowledge)
    epochs: float = 1.0
    learning_rate: float = 1e-4
    batch_size: int = 8
    logging_steps: int = 10


@dataclass
class RewardModelConfig:
    """The alignment reward model (seed 003 §4.1): a causal-LM backbone with a scalar head."""

    backbone: str = "embedded:smollm2"  # any causal LM: "embedded:smollm2", a local path, an HF id
    modes: list[str] = field(default_factory=lambda: ["pointwise", "pairwise"])  # names in rlrec.alignment.RM_MODES
    lora: LoraConfig = field(default_factory=LoraConfig)  # enabled: false = full fine-tuning; saved merged
    train_layers: Optional[int] = 4  # train only the top N blocks + norm + head (CPU-sized); None = all
    max_steps: int = 100
    learning_rate: float = 1e-4
    weight_decay: float = 0.0
    warmup_ratio: float = 0.05
    batch_size: int = 16  # examples (pointwise) or pairs (pairwise) per step
    max_length: int = 128  # tokens per input (truncated from the left)
    use_margin: bool = False  # pairwise: subtract the feedback margin inside the Bradley-Terry sigmoid
    center_rewards: Optional[float] = None  # pairwise: TRL's center_rewards_coefficient
    logging_steps: int = 10
    # offline evaluation (§5.2) and checkpoint selection by F1@K
    eval_every: int = 25  # optimizer steps between F1@K / NDCG@K evaluations
    eval_fraction: float = 0.2  # held-out share of the rankable cluster sequences
    max_eval_groups: Optional[int] = 40  # cap on held-out sequences (eval cost); None = all
    random_draws: int = 20  # random rankings per held-out sequence for the baseline

    def __post_init__(self) -> None:
        if self.lora.enabled and self.train_layers is not None:
            raise ValueError(
                "alignment.reward_model: lora.enabled=true and train_layers are alternatives (LoRA adapts every "
                "block); set train_layers=null to use LoRA, or lora.enabled=false to train the top blocks"
            )
        if self.eval_every < 1 or self.max_steps < 1:
            raise ValueError(f"alignment.reward_model.eval_every ({self.eval_every}) and max_steps ({self.max_steps}) must be >= 1")


@dataclass
class BestOfNConfig:
    """Best-of-n inference scaling (seed 003 §4.2): sample n = m x k, keep the RM's top k."""

    oversample: int = 5  # m
    temperature: float = 1.2  # high, for diverse candidates
    top_p: float = 1.0
    max_new_tokens: int = 16  # cluster names are short
    batch_size: int = 16  # prompts per generate() call
    mode: str = "pointwise"  # which trained reward model selects
    reward_model: Optional[str] = None  # checkpoint folder; None = the one train_alignment saved for this config
    novelty_model: Optional[str] = None  # model folder; None = the one train_alignment saved for this config
    users: int = 100  # evaluation users (seeded sample of users with >= K clusters)


@dataclass
class AlignmentConfig:
    """Seed 003: novelty model, alignment reward model, best-of-n. ``experiments/train_alignment.py`` and
    ``experiments/best_of_n.py``."""

    simulator: Optional[str] = None  # simulator artifact folder; None = the newest one under artifacts_dir
    context_len: int = 2  # K: a user is represented by the names of their last K interest clusters
    served_k: int = 3  # k clusters served per user; also the K of F1@K / NDCG@K
    novelty: NoveltyConfig = field(default_factory=NoveltyConfig)
    reward_model: RewardModelConfig = field(default_factory=RewardModelConfig)
    best_of_n: BestOfNConfig = field(default_factory=BestOfNConfig)

    def __post_init__(self) -> None:
        if self.context_len < 1 or self.served_k < 1 or self.best_of_n.oversample < 1:
            raise ValueError(
                f"alignment.context_len ({self.context_len}), served_k ({self.served_k}) and "
                f"best_of_n.oversample ({self.best_of_n.oversample}) must be >= 1"
            )


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
        if self.index_encoder not in ("embedder", "static"):
            raise ValueError(f"simulator.index_encoder must be 'embedder' or 'static', got {self.index_encoder!r}")
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


# ---------------------------------------------------------------------------------------------- root


@dataclass
class Config:
    """Root config. Each field mirrors one config group (``conf/<group>/*.yaml``)."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    distill: DistillConfig = field(default_factory=DistillConfig)
    sft: SFTConfig = field(default_factory=SFTConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    logger: LoggerConfig = field(default_factory=LoggerConfig)
    alignment: AlignmentConfig = field(default_factory=AlignmentConfig)
    simulator: SimulatorConfig = field(default_factory=SimulatorConfig)
    reward: RewardConfig = field(default_factory=RewardConfig)
    rl: RLConfig = field(default_factory=RLConfig)
    weighting: WeightingConfig = field(default_factory=WeightingConfig)
    # Modules outside rlrec that register rewards / weighting strategies (rlrec.plugins), e.g.
    # [my_pkg.my_reward]; their YAML goes on Hydra's searchpath (hydra.searchpath=[file:///…/conf]).
    # Given on the command line (or in $RLREC_PLUGINS) they are imported before compose, so their params are
    # checked then; listed in a YAML file they are imported after compose and checked when built.
    plugins: list[str] = field(default_factory=list)
    experiment_name: str = "default"
    seed: int = 0
    artifacts_dir: str = "artifacts"  # stage outputs keyed by config hash (reruns resume)

    def __post_init__(self) -> None:
        # Checks across groups; each group checks itself in its own __post_init__. All run when the entry point
        # converts the composed config, before the first stage.
        weights, terms = self.weighting.initial_weights, self.reward.terms
        if weights is not None:
            if terms and len(weights) != len(terms):
                raise ValueError(
                    f"weighting.initial_weights has {len(weights)} values for {len(terms)} rewards "
                    f"({', '.join(terms)}); give one weight per reward, in that order, or null to use the reward set's"
                )
            if min(weights, default=0.0) < 0 or not sum(weights) > 0:
                raise ValueError(f"weighting.initial_weights must be >= 0 with a positive sum, got {list(weights)}")
