"""The testbed's typed config: the task (front shape, model size, evaluation) plus the usual ``rl`` and ``weighting``.

``conf/testbed.yaml`` is its Hydra root; ``rl`` and ``weighting`` are the same dataclasses (and presets) as in a
real run, so a strategy is tested with the parameters it will be run with.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rlrec.config import LoggerConfig, RLConfig, WeightingConfig

__all__ = ["TaskConfig", "TestbedConfig"]


@dataclass
class TaskConfig:
    """The controlled task: T tokens from {a, b}, rewards ``x`` and ``1 - x^p`` (x = share of ``a``), scaled."""

    completion_tokens: int = 8  # T: tokens per completion; the front has T + 1 vertices (x = 0, 1/T, ..., 1)
    exponent: float = 2.0  # p >= 1 in a_thrift = 1 - x^p (p = 1: a straight front; larger p: more convex)
    scales: list[float] = field(default_factory=lambda: [1.0, 1.0])  # multipliers of (a_share, a_thrift)
    prompts: int = 64  # rows of the (identical-prompt) training set; TRL cycles through it
    eval_samples: int = 512  # completions sampled to estimate a policy's expected reward vector
    layers: int = 36  # decoder layers of the tiny Llama (36 = Qwen3-8B's, so lu_gradient's layers 10-25 exist)
    hidden: int = 16  # hidden size (tiny: the task needs no capacity, the trainer does the work)
    threads: int = 1  # torch CPU threads; the matrices are tiny, so more threads only contend (and slow 30x on a busy host)

    def __post_init__(self) -> None:
        if min(self.completion_tokens, self.prompts, self.layers, self.threads) < 1 or self.eval_samples < 2:
            raise ValueError("task.completion_tokens, prompts, layers, threads must be >= 1 and task.eval_samples >= 2")
        if not self.exponent >= 1.0:
            raise ValueError(f"task.exponent must be >= 1 (a convex cost keeps the front closed-form), got {self.exponent}")
        if len(self.scales) != 2 or min(self.scales) <= 0:
            raise ValueError(f"task.scales must be two positive numbers (a_share, a_thrift), got {self.scales}")
        if self.hidden < 4 or self.hidden % 4:
            raise ValueError(f"task.hidden must be a positive multiple of 4 (2 heads of even size), got {self.hidden}")


@dataclass
class TestbedConfig:
    """Root of ``conf/testbed.yaml``."""

    __test__ = False  # not a pytest test class

    experiment_name: str = "known_front"
    seed: int = 0
    plugins: list[str] = field(default_factory=list)  # modules registering extra strategies (rlrec.plugins)
    task: TaskConfig = field(default_factory=TaskConfig)
    rl: RLConfig = field(default_factory=RLConfig)
    weighting: WeightingConfig = field(default_factory=WeightingConfig)
    logger: LoggerConfig = field(default_factory=LoggerConfig)  # local run dir always (metrics.jsonl, summary.json)

    def __post_init__(self) -> None:
        length = self.rl.max_completion_length
        if length is not None and length != self.task.completion_tokens:
            raise ValueError(
                f"rl.max_completion_length={length} but task.completion_tokens={self.task.completion_tokens}: the "
                "front is for T-token completions; set rl.max_completion_length=null (it follows the task)"
            )
