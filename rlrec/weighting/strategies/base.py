"""The strategy base class, its registry, ``@register_strategy`` and :func:`build_strategy`.

A strategy holds the weights ``w`` [K] of the K rewards and updates them from what the trainer shows it:

* ``observe_rewards(rewards [B*G, K], G)`` — every rollout batch, with the rewards gathered from all ranks;
* ``observe_gram(gram [K, K], lr)`` — gradient-based strategies only (``gradient_spec`` is not None): the
  all-reduced Gram matrix of the per-reward policy gradients of the same step.

Both inputs are identical on every rank, and the updates are deterministic, so the weights are identical on
every rank. ``state_dict()`` / ``load_state_dict()`` carry the state through checkpoints, with the strategy's
name. A strategy owns its parameters as a nested ``Params`` dataclass (the keys allowed under ``params:`` in
``conf/weighting/<name>.yaml``); the Hydra entry points store it in the ConfigStore as
``weighting_schema/<name>`` (``experiments/common.py``), so typos fail when the config is composed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor

from rlrec.config import WeightingConfig
from rlrec.params import validate_params
from rlrec.registry import Registry
from rlrec.weighting.maths import normalize_simplex

__all__ = [
    "WEIGHTING_STRATEGIES", "StrategyParams", "GradientSpec", "WeightingStrategy", "register_strategy",
    "build_strategy",
]

WEIGHTING_STRATEGIES: Registry[type[WeightingStrategy]] = Registry("weighting strategy")


@dataclass
class StrategyParams:
    """Fields every strategy has (none yet). A strategy's ``Params`` subclasses this."""


@dataclass(frozen=True)
class GradientSpec:
    """What a gradient-based strategy asks the trainer to compute each update."""

    params: tuple[str, ...] = ()  # regexes over trainable parameter names; () = all trainable parameters
    include_kl: bool = False  # add β·KL to each per-reward objective
    every: int = 1  # rollout batches between weight updates


class WeightingStrategy:
    """Base class: K named rewards and their simplex weights. Subclasses override the ``observe_*`` hooks.

    Subclasses declare ``Params`` (a dataclass subclassing :class:`StrategyParams`) and read ``self.params``.
    """

    Params: ClassVar[type[StrategyParams]] = StrategyParams
    name: ClassVar[str] = ""  # set by @register_strategy
    gradient_spec: GradientSpec | None = None  # not None: the trainer computes per-reward gradients

    def __init__(
        self, names: Sequence[str], initial_weights: Sequence[float] | None = None, params: Any = None
    ) -> None:
        self.params = validate_params(self.Params, params, where=f"weighting {self.name or type(self).__name__!r}")
        self.names = tuple(names)
        if not self.names or len(set(self.names)) != len(self.names):
            raise ValueError(f"a weighting strategy needs distinct reward names, got {list(self.names)}")
        initial = [1.0] * len(self.names) if initial_weights is None else [float(w) for w in initial_weights]
        if len(initial) != len(self.names):
            raise ValueError(
                f"weighting.initial_weights has {len(initial)} values for {len(self.names)} rewards "
                f"({', '.join(self.names)}); give one weight per reward or null to use the reward set's"
            )
        simplex = normalize_simplex(torch.tensor(initial, dtype=torch.float64))
        if simplex is None or min(initial) < 0:
            raise ValueError(f"initial weights must be >= 0 with a positive sum, got {initial}")
        self._weights = simplex
        self.updates = 0  # weight updates so far

    def weights(self) -> Tensor:
        """Current weights ``w`` [K] (float32, on the simplex, in reward-name order)."""
        return self._weights.float()

    def observe_rewards(self, rewards: Tensor, num_generations: int) -> dict[str, float]:
        """Sees the gathered rewards ``[B*G, K]`` of a rollout batch; returns metrics to log. Default: nothing."""
        return {}

    def advantages(self, rewards: Tensor, num_generations: int) -> Tensor | None:
        """The advantage ``[B*G]`` of every gathered row, for strategies that combine per-reward advantages themselves
        (GDPO, MO-GRPO, DVAO, SAW on advantages); ``None`` (default) = TRL's advantage of ``Σ_k w_k r_k``.

        Called in training right after :meth:`observe_rewards`, with the same ``rewards`` ``[B*G, K]``; the
        trainer keeps its rank's rows. Not combined with ``gradient_spec`` (POPO re-forms TRL's advantage).
        """
        return None

    def observe_gram(self, gram: Tensor, lr: float) -> dict[str, float]:
        """Sees the all-reduced Gram matrix ``[K, K]`` of the per-reward gradients (only if ``gradient_spec``)."""
        raise NotImplementedError(f"{type(self).__name__} has no gradient_spec and never receives a Gram matrix")

    def weight_metrics(self) -> dict[str, float]:
        """``weights/<name>`` per reward (the float64 state; strategies that report other weights override)."""
        return {f"weights/{name}": float(w) for name, w in zip(self.names, self._weights)}

    def state_dict(self) -> dict[str, Any]:
        return {"strategy": self.name, "names": list(self.names), "weights": self._weights.tolist(), "updates": self.updates}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict`'s output. A state written by another strategy raises, naming both and the fix.

        States from before strategies were plugins carry no ``strategy``; only the built-in ones existed then, and
        the writer is told by the state: ``log_weights`` = POPO; updated weights without them = POPO-light; else
        fixed, or POPO-light before its first update (the same weights: either may load it).
        """
        saved = state.get("strategy")
        if saved is None:
            if "log_weights" in state:
                saved = "popo"
            elif int(state.get("updates", 0)) > 0:
                saved = "popo_light"
            elif set(self.state_dict()) - {"strategy"} != set(state):
                saved = "fixed"
        if saved is not None and saved != self.name:
            self._refuse(saved)
        if list(state["names"]) != list(self.names):
            raise ValueError(
                f"weighting state is for rewards {state['names']} but this run has {list(self.names)}; "
                "resume with the same reward set (same names, same order)"
            )
        self._weights = torch.tensor(state["weights"], dtype=torch.float64)
        self.updates = int(state["updates"])

    def _refuse(self, saved: str) -> None:
        """Raise: the state was written by strategy ``saved``, not by this one."""
        raise ValueError(
            f"weighting state is for strategy {saved!r} but this run uses weighting={self.name}: its weights would "
            f"not be this strategy's. To continue that run, resume with weighting={saved}; to train with "
            f"weighting={self.name}, start afresh (rl.resume_from_checkpoint=null)"
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(names={list(self.names)}, params={self.params})"


def register_strategy(name: str, **metadata: Any) -> Callable[[type[WeightingStrategy]], type[WeightingStrategy]]:
    """Class decorator: register a :class:`WeightingStrategy` subclass under ``name`` with its metadata.

    ``metadata`` (e.g. ``equation="Taiji Eq. 7"``) is stored with the registry entry. The class's ``Params``
    must be a dataclass subclassing :class:`StrategyParams`.
    """

    def deco(cls: type[WeightingStrategy]) -> type[WeightingStrategy]:
        if not (isinstance(cls, type) and issubclass(cls, WeightingStrategy)):
            raise TypeError(f"@register_strategy({name!r}) decorates a subclass of WeightingStrategy, got {cls!r}")
        if not (dataclasses.is_dataclass(cls.Params) and issubclass(cls.Params, StrategyParams)):
            raise TypeError(f"{cls.__qualname__}.Params must be a @dataclass subclassing StrategyParams")
        WEIGHTING_STRATEGIES.add(name, cls, **metadata)
        cls.name = name
        return cls

    return deco


def build_strategy(
    config: WeightingConfig, names: Sequence[str], initial_weights: Sequence[float] | None = None
) -> WeightingStrategy:
    """The strategy named ``config.name`` for rewards ``names``, with parameters ``config.params`` (validated).

    Initial weights: ``config.initial_weights`` when set, else ``initial_weights`` (the reward set's, e.g.
    Taiji's 0.5 / 0.5), else uniform.
    """
    cls = WEIGHTING_STRATEGIES.get(config.name)  # unknown name -> RegistryError with "did you mean"
    initial = config.initial_weights if config.initial_weights is not None else initial_weights
    return cls(names, initial, config.params)
