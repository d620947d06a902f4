"""Distillation (RUPR teacher, PPL filter), LoRA and SFT groups."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from rlrec.config.base import LR_SCHEDULERS, check_choice, check_positive

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
    # A CoT in which one word 4-gram occurs more than this many times is rejected as a loop; None = no screen.
    max_ngram_repeats: Optional[int] = None
    # RUPR CoTs the teacher never closed (its max_new_tokens cut them off) are cut back to their last complete
    # sentence, so SFT learns to close the think block where a thought ends; none: rejected as "truncated".
    cut_truncated_cot: bool = False
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
        if self.max_ngram_repeats is not None and self.max_ngram_repeats < 1:
            raise ValueError(
                f"distill.max_ngram_repeats must be >= 1 or null (no loop screen), got {self.max_ngram_repeats}"
            )


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
