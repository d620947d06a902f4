"""Reward-weighting strategies (Taiji §2.3.3): fixed weights, POPO (Eq. 5–6), POPO-light (Eq. 7).

``maths`` holds the pure tensor functions (tested against hand-computed values), ``advantages`` the
advantage of the weighted reward (Eq. 8–9) as a function of the weights, ``strategies`` the stateful,
checkpointable objects (one module each, with its own ``Params``) registered in :data:`WEIGHTING_STRATEGIES`
by :func:`register_strategy` and built by :func:`build_strategy`.
"""

from rlrec.weighting.advantages import AdvantageMoments, advantage_moments, combined_advantages, per_reward_advantages
from rlrec.weighting.strategies import (
    WEIGHTING_STRATEGIES,
    FixedWeights,
    GradientSpec,
    Popo,
    PopoLight,
    StrategyParams,
    WeightingStrategy,
    build_strategy,
    register_strategy,
)

__all__ = [
    "WEIGHTING_STRATEGIES",
    "AdvantageMoments",
    "FixedWeights",
    "GradientSpec",
    "Popo",
    "PopoLight",
    "StrategyParams",
    "WeightingStrategy",
    "advantage_moments",
    "build_strategy",
    "combined_advantages",
    "per_reward_advantages",
    "register_strategy",
]
