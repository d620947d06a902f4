"""The reward registry and every reward.

A reward is one decorated class in one module of this package plus one YAML file under ``conf/reward/``::

    # rewards/my_reward.py
    @register_reward("my_reward", higher_is_better=True, range=(0.0, 1.0), description="…")
    class MyReward(Reward):
        @dataclass
        class Params(RewardParams):
            scale: float = 1.0
        columns = ("target_title",)          # dataset columns it reads (checked on every call)

        def score(self, prompts, parsed, columns):   # only completions it can score (see Reward.scorable)
            return [self.params.scale * (p.title == t) for p, t in zip(parsed, columns["target_title"])]

    # conf/reward/my_reward.yaml
    # @package reward.terms.my_reward
    defaults:
      - optional /reward_schema@params: my_reward
      - _self_
    weight: 1.0
    params:
      scale: 1.0

Every module of this package is imported when ``rewards`` is (modules starting with ``_`` and the
subpackages are helpers), so nothing else changes. Use it with ``reward=my_reward`` (a set of one),
``reward=[taiji,my_reward]`` (added to a set) or in a set file's defaults list. Rewards defined outside
the package are plugins: an importable module named in the top-level ``plugins`` list (``rlrec.plugins``),
its YAML on Hydra's searchpath.

Public API: :data:`REWARDS`, :func:`register_reward`, :class:`Reward`, :class:`RewardParams`,
:class:`Resources`, :func:`build_reward_set`, :class:`RewardSet`.
"""

from __future__ import annotations

import importlib
import pkgutil

from rewards.core.base import REWARDS, MissingColumnError, Reward, RewardError, make_reward, register_reward
from rewards.core.embedding_cache import EmbeddingCache
from rewards.core.params import RewardParams
from rewards.core.resources import Resources
from rewards.core.reward_set import RewardSet, build_reward_set, requirements

__all__ = [
    "REWARDS", "register_reward", "Reward", "RewardParams", "RewardError", "MissingColumnError", "make_reward",
    "Resources", "EmbeddingCache", "RewardSet", "build_reward_set", "requirements", "discover",
]


def discover() -> list[str]:
    """Import every reward module of this package (idempotent); returns the module names."""
    names = []
    for info in pkgutil.iter_modules(__path__):
        if info.ispkg or info.name.startswith("_"):
            continue
        importlib.import_module(f"{__name__}.{info.name}")
        names.append(info.name)
    return names


discover()
