"""A reward set: the rewards of one run, their initial weights and metadata, built from ``config.reward``."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rewards.core.base import REWARDS, Reward, RewardError, make_reward
from rewards.core.params import validate_params
from rlrec.config import Config, RewardConfig
from rlrec.plugins import load_plugins


@dataclass
class RewardSet:
    """The K rewards of a run, in a fixed order (the column order of every [B*G, K] reward matrix).

    ``functions`` go to TRL's ``reward_funcs`` as they are (each has ``__name__`` = its name);
    ``initial_weights`` seed the weighting strategy; ``metadata`` is saved with the run.
    """

    name: str
    rewards: list[Reward]
    initial_weights: list[float]

    def __post_init__(self) -> None:
        if len(self.rewards) != len(self.initial_weights):
            raise RewardError(f"{len(self.rewards)} rewards but {len(self.initial_weights)} initial weights")
        names = self.names
        if len(set(names)) != len(names):
            raise RewardError(f"reward names in set {self.name!r} must be unique, got {names}")

    @property
    def names(self) -> list[str]:
        return [r.__name__ for r in self.rewards]

    @property
    def functions(self) -> list[Reward]:
        return list(self.rewards)

    def __len__(self) -> int:
        return len(self.rewards)

    @property
    def metadata(self) -> dict[str, dict[str, Any]]:
        """name → {reward, higher_is_better, range, description, columns, unparseable_value, params}."""
        out = {}
        for reward in self.rewards:
            meta = REWARDS.metadata(reward.name)
            meta["range"] = list(meta["range"])
            meta["unparseable_value"] = reward.params.unparseable_value
            out[reward.__name__] = {"reward": reward.name, **meta, "params": dataclasses.asdict(reward.params)}
        return out

    def card(self) -> dict[str, Any]:
        """JSON-ready description of the set, saved with every run (``reward_set.json``)."""
        return {
            "name": self.name,
            "names": self.names,
            "initial_weights": list(self.initial_weights),
            "metadata": _json_safe(self.metadata),
        }

    def score(self, prompts: Sequence[Any], completions: Sequence[Any], **columns: Any) -> np.ndarray:
        """Reward matrix [N, K] (NaN where a reward returned None); also counted in :meth:`pop_stats`."""
        out = np.full((len(completions), len(self.rewards)), np.nan, dtype=np.float64)  # [N, K]
        for k, reward in enumerate(self.rewards):
            values = reward(prompts, completions, **columns)
            out[:, k] = [np.nan if v is None else v for v in values]
        return out

    def pop_stats(self) -> dict[str, float]:
        """``reward/<name>/{mean,std,nan_frac,seconds,unparseable,unparseable_frac,…}`` since the last call."""
        stats: dict[str, float] = {}
        for reward in self.rewards:
            stats.update(reward.stats.pop(reward.__name__))
            stats.update({f"reward/{reward.__name__}/{k}": float(v) for k, v in reward.extra_stats().items()})
        return stats


def build_reward_set(cfg: RewardConfig | Config, resources: Any = None) -> RewardSet:
    """Instantiate the rewards of ``cfg`` (``config.reward``, or the root config) in composition order.

    Unknown reward names raise with a "did you mean"; unknown or mistyped parameters raise naming the term
    and the key. ``resources`` defaults to a :class:`rewards.Resources` of the root config (or defaults).
    """
    from rewards.core.resources import Resources

    root = cfg if isinstance(cfg, Config) else None
    reward_cfg = cfg.reward if isinstance(cfg, Config) else cfg
    if resources is None:
        resources = Resources(root)
    if root is not None:
        load_plugins(root.plugins)  # rewards defined outside this package (rlrec.plugins)
    if not reward_cfg.terms:
        raise RewardError(
            "the reward set is empty: choose one in conf/reward/ (e.g. reward=taiji) or list rewards with "
            "reward=[semantic_cosine,format]"
        )
    rewards, weights = [], []
    for term_name, term in reward_cfg.terms.items():
        term = _as_term(term)
        registry_name = term.get("reward") or term_name
        REWARDS.entry(registry_name)  # unknown name -> RegistryError with "did you mean"
        rewards.append(make_reward(registry_name, term.get("params"), resources, term=term_name))
        weight = float(term.get("weight", 1.0))
        if not (weight >= 0.0 and math.isfinite(weight)):
            raise RewardError(f"reward {term_name!r}: weight must be a finite number >= 0, got {weight}")
        weights.append(weight)
    name = reward_cfg.name or "+".join(reward_cfg.terms)
    return RewardSet(name=name, rewards=rewards, initial_weights=weights)


def _as_term(term: Any) -> dict[str, Any]:
    if dataclasses.is_dataclass(term) and not isinstance(term, type):
        return {f.name: getattr(term, f.name) for f in dataclasses.fields(term)}
    if isinstance(term, dict):
        return term
    raise RewardError(f"a reward term must be a mapping with weight/params, got {term!r}")


def _json_safe(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return str(obj)  # JSON has no inf/nan
    return obj


def requirements(cfg: RewardConfig | Config) -> list[str]:
    """The stage products the rewards of ``cfg`` need (``Reward.requires``), first-asked first, without repeats:
    what the pipeline runs before it builds the set, whichever rewards ask."""
    root = cfg if isinstance(cfg, Config) else None
    reward_cfg = cfg.reward if isinstance(cfg, Config) else cfg
    if root is not None:
        load_plugins(root.plugins)
    needed: list[str] = []
    for term_name, term in reward_cfg.terms.items():
        term = _as_term(term)
        cls = REWARDS.get(term.get("reward") or term_name)
        params = validate_params(cls.Params, term.get("params"), where=f"reward {term_name!r}")
        needed += [n for n in cls.requires(params) if n not in needed]
    return needed
