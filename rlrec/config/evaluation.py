"""Evaluation, logging and alignment (seed 003) groups."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from rlrec.config.base import check_choice
from rlrec.config.training import LoraConfig

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
