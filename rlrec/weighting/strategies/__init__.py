"""Reward-weighting strategies, one module each; every module of this package is imported here.

A strategy is one decorated class in one module plus one YAML file under ``conf/weighting/``::

    # rlrec/weighting/strategies/my_strategy.py  (or any importable module listed in ``plugins``)
    @register_strategy("my_strategy", equation="…")
    class MyStrategy(WeightingStrategy):
        @dataclass
        class Params(StrategyParams):
            temperature: float = 1.0

        def observe_rewards(self, rewards, num_generations):   # rewards [B*G, K]
            self._weights = torch.softmax(rewards.nanmean(0).double() / self.params.temperature, 0)
            self.updates += 1
            return {}

    # conf/weighting/my_strategy.yaml
    defaults:
      - optional /weighting_schema@params: my_strategy
      - _self_
    name: my_strategy
    initial_weights: null
    params:
      temperature: 1.0

Modules starting with ``_`` and ``base`` are helpers. Strategies defined outside rlrec are imported through
the top-level ``plugins`` config list (:mod:`rlrec.plugins`).
"""

from __future__ import annotations

import importlib
import pkgutil

from rlrec.weighting.strategies.base import (
    WEIGHTING_STRATEGIES,
    GradientSpec,
    StrategyParams,
    WeightingStrategy,
    build_strategy,
    register_strategy,
)


def discover() -> list[str]:
    """Import every strategy module of this package (idempotent); returns the module names."""
    names = []
    for info in pkgutil.iter_modules(__path__):
        if info.ispkg or info.name.startswith("_") or info.name == "base":
            continue
        importlib.import_module(f"{__name__}.{info.name}")
        names.append(info.name)
    return names


discover()

from rlrec.weighting.strategies.fixed import FixedWeights  # noqa: E402  (imported by discover())
from rlrec.weighting.strategies.popo import Popo  # noqa: E402
from rlrec.weighting.strategies.popo_light import PopoLight  # noqa: E402

__all__ = [
    "WEIGHTING_STRATEGIES", "WeightingStrategy", "StrategyParams", "GradientSpec", "register_strategy",
    "build_strategy", "discover", "FixedWeights", "Popo", "PopoLight",
]
