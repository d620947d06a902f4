"""Rewards as evaluation metrics: a registered reward is scored on the test completions and reported under
its term name, with the direction and range it was registered with — no edit to evaluation code.

``rlrec`` never imports ``rewards``: the caller passes :class:`RewardObjective` records (the entry points
build them from the run's reward set with ``rewards.core.objectives.eval_objectives``). A reward is a TRL
reward callable ``f(prompts, completions, **columns) -> list[float | None]``; here ``prompts`` and the
columns are the examples' training records (``Example.to_record()``), exactly what TRL hands it in training.
Name one in ``eval.objectives`` and it becomes ``objective/<name>`` in the run summary, which ``analysis/``
reads (with ``higher_is_better``) for Pareto fronts and hypervolumes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rlrec.eval.results import MetricInfo, metric_info

__all__ = ["REWARD_GROUP", "RewardObjective", "reward_values"]

REWARD_GROUP = "Reward"  # the markdown table group of reward metrics


@dataclass(frozen=True)
class RewardObjective:
    """One reward to evaluate on the test split, with its registry metadata."""

    name: str  # the reward term's name: the metric name, and objective/<name> in the summary
    fn: Callable[..., Sequence[float | None]]  # TRL reward callable; None = not applicable (skipped in means)
    higher_is_better: bool = True
    range: tuple[float, float] | None = None  # the reward's declared value range
    description: str = ""

    @property
    def info(self) -> MetricInfo:
        return MetricInfo(REWARD_GROUP, self.higher_is_better, self.description or f"reward {self.name!r}", self.range)


def _is_metric(name: str) -> bool:
    """True for a built-in evaluation metric name (``Category_L<n>_ACC`` and ``Title_Hit-Rate@<k>`` included)."""
    try:
        metric_info(name)
    except KeyError:
        return False
    return True


def _record(example: Any) -> dict[str, Any]:
    """The training record of an example (what TRL passes to rewards as prompt + columns)."""
    if hasattr(example, "to_record"):
        return dict(example.to_record())
    if dataclasses.is_dataclass(example) and not isinstance(example, type):
        return dataclasses.asdict(example)
    return dict(vars(example))


def reward_values(
    objectives: Sequence[RewardObjective], examples: Sequence[Any], completions: Sequence[str]
) -> dict[str, np.ndarray]:
    """``{name: values [M]}`` for the ``M`` completions, ``examples [M]`` being each completion's example;
    None (not applicable) becomes NaN, so per-example means skip it."""
    if len(examples) != len(completions):
        raise ValueError(f"{len(examples)} examples for {len(completions)} completions")
    clash = [o.name for o in objectives if _is_metric(o.name)]
    if clash:
        raise ValueError(f"reward term(s) {clash} share a name with an evaluation metric; rename the term in "
                         "conf/reward/ (e.g. reward.terms.<new name>.reward=<registered name>)")
    names = [o.name for o in objectives]
    if len(set(names)) != len(names):
        raise ValueError(f"reward objectives must have distinct names, got {names}")
    if not objectives or not completions:
        return {o.name: np.zeros(0) for o in objectives}
    records = [_record(e) for e in examples]
    shared = set(records[0]).intersection(*records[1:])
    prompts = [r.get("prompt") for r in records]
    columns = {key: [r[key] for r in records] for key in sorted(shared) if key != "prompt"}
    out = {}
    for objective in objectives:
        values = objective.fn(prompts, list(completions), **columns)
        if len(values) != len(completions):
            raise ValueError(f"reward {objective.name!r} returned {len(values)} values for {len(completions)} completions")
        out[objective.name] = np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)
    return out
