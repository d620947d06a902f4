"""A run's reward terms as evaluation objectives (:class:`rlrec.eval.objectives.RewardObjective`), with the
direction, range and description each reward was registered with (``rewards.register_reward``).

The entry points pass these to ``rlrec.eval.session.run_evaluation``; naming a term in ``eval.objectives``
(``eval.objectives=[Semantic_Cosine,CTCVR,my_reward]``) makes it ``objective/my_reward`` in the run summary,
read by ``analysis/`` — a reward written outside the repository included, with no edit to evaluation code.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from rewards.core.base import REWARDS
from rewards.core.reward_set import RewardSet, build_reward_set
from rlrec.config import Config
from rlrec.eval.objectives import RewardObjective

__all__ = ["eval_objectives", "build_eval_objectives"]


def eval_objectives(reward_set: RewardSet, names: Sequence[str] | None = None) -> list[RewardObjective]:
    """The terms of ``reward_set`` (those in ``names``, or all) as evaluation objectives, in set order."""
    out = []
    for reward in reward_set.rewards:
        if names is not None and reward.__name__ not in names:
            continue
        meta = REWARDS.metadata(reward.name)
        span = meta.get("range")
        out.append(RewardObjective(reward.__name__, reward, bool(meta.get("higher_is_better", True)),
                                   (float(span[0]), float(span[1])) if span is not None else None,
                                   str(meta.get("description", ""))))
    return out


def build_eval_objectives(config: Config, resources: Any = None) -> list[RewardObjective]:
    """The reward terms of ``config.reward`` named in ``config.eval.objectives``, built through the registry
    (only those: an evaluation does not load the models of rewards it does not report). [] when none is named."""
    wanted = {name: term for name, term in config.reward.terms.items() if name in config.eval.objectives}
    if not wanted:
        return []
    subset = dataclasses.replace(config, reward=dataclasses.replace(config.reward, terms=wanted))
    return eval_objectives(build_reward_set(subset, resources))
