"""The reward base class, its registry and the ``@register_reward`` decorator.

A reward is a TRL-compatible callable ``(prompts, completions, **columns) -> list[float | None]``
(None = not applicable; TRL turns it into NaN). :class:`Reward` does the shared work once: it checks the
dataset columns the reward declares, parses every completion with :func:`rlrec.answer.parse_answer`,
gives completions the reward cannot score its documented ``unparseable_value`` and counts them, turns an
infinite value into None (like NaN, "not applicable") with a warning naming the reward and counts it, times the call and
records per-step statistics. A subclass only implements :meth:`Reward.score` on the scorable
completions.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from rewards.core.params import RewardParams, validate_params
from rewards.core.stats import RewardStats
from rlrec.answer import ParsedAnswer, completion_text, parse_answer
from rlrec.registry import Registry

REWARDS: Registry[type[Reward]] = Registry("reward")

log = logging.getLogger("rlrec")

# Keyword arguments TRL adds next to the dataset columns; never mistaken for a missing column.
TRL_KWARGS = frozenset({"completion_ids", "trainer_state", "log_extra", "log_metric", "environments"})


class RewardError(ValueError):
    """A reward was used wrongly (missing column, wrong output length, bad parameters)."""


class MissingColumnError(RewardError, KeyError):
    """A dataset column a reward needs is absent from the batch."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class Reward:
    """Base class of every reward.

    Subclasses declare:

    * ``Params`` — a dataclass subclassing :class:`RewardParams` (its fields are the keys allowed under
      ``params:`` in ``conf/reward/<name>.yaml``; ``unparseable_value`` is inherited);
    * ``columns`` — the dataset columns :meth:`score` reads (checked on every call);
    * :meth:`score` — values for the scorable completions; :meth:`scorable` to change which those are;
    * :meth:`requires` — the trained artifacts (stage products) it needs, when it needs any.

    ``resources`` (a :class:`rewards.Resources`) gives shared heavy objects (embedder, simulator, models).
    """

    Params: ClassVar[type[RewardParams]] = RewardParams
    columns: ClassVar[tuple[str, ...]] = ()
    name: ClassVar[str] = ""  # set by @register_reward

    @classmethod
    def requires(cls, params: RewardParams) -> tuple[str, ...]:
        """Stage products this reward needs from the run (e.g. ``("alignment_models",)``): the pipeline runs those
        stages first and hands their products over in ``resources.products``. Default: none."""
        return ()

    def __init__(self, params: RewardParams | None = None, resources: Any = None, *, term: str | None = None) -> None:
        self.params = params if params is not None else self.Params()
        value = self.params.unparseable_value
        if value is not None and not math.isfinite(value):  # it would be excluded and warned about on every call
            raise RewardError(f"reward {term or self.name!r}: params.unparseable_value must be a finite number or null "
                              f"(not applicable), got {value}")
        self.resources = resources
        # The name TRL logs (``rewards/<__name__>/mean``): the term name, which is the registry name unless
        # a set holds the same reward twice under two names.
        self.__name__ = term or self.name
        self.stats = RewardStats()

    # ------------------------------------------------------------------ to implement in subclasses

    def score(self, prompts: list[Any], parsed: list[ParsedAnswer], columns: dict[str, list[Any]]) -> Sequence[float | None]:
        """One value (or None) per scorable completion, in order. ``columns`` holds the declared columns."""
        raise NotImplementedError

    def parse(self, completion: Any) -> Any:
        """The parsed view of one completion that :meth:`scorable` and :meth:`score` receive. Default: the answer
        format's :func:`rlrec.answer.parse_answer`; a task with another output format (RecGPT's tag lists,
        ``rlrec.recgpt.parsing``) overrides it with that format's one parser."""
        return parse_answer(completion)

    def scorable(self, parsed: ParsedAnswer) -> bool:
        """Whether :meth:`score` can score this completion; others get ``params.unparseable_value``.

        Default: an item title was parsed (``parsed.status.has_title``).
        """
        return parsed.status.has_title

    def extra_stats(self) -> dict[str, float]:
        """Reward-specific figures since the last call (e.g. a cache hit rate); reset on read."""
        return {}

    # ------------------------------------------------------------------ the TRL entry point

    def __call__(self, prompts: Sequence[Any], completions: Sequence[Any], **kwargs: Any) -> list[float | None]:
        start = time.perf_counter()
        n = len(completions)
        if len(prompts) != n:
            raise RewardError(f"reward {self.__name__!r}: got {len(prompts)} prompts for {n} completions")
        columns = self._columns(kwargs, n)
        parsed = [self.parse(c) for c in completions]
        keep = [i for i, p in enumerate(parsed) if self.scorable(p)]
        values: list[float | None] = [self.params.unparseable_value] * n
        if keep:
            scored = self.score(
                [prompts[i] for i in keep],
                [parsed[i] for i in keep],
                {name: [col[i] for i in keep] for name, col in columns.items()},
            )
            if len(scored) != len(keep):
                raise RewardError(f"reward {self.__name__!r} returned {len(scored)} values for {len(keep)} completions")
            for i, value in zip(keep, scored):
                values[i] = _as_value(value)
        # An infinite value would reach TRL's group mean and std (inf - inf = NaN) and zero the advantage of every
        # completion it touches: it is excluded like None instead, counted and named.
        nonfinite = 0
        for i, value in enumerate(values):
            if value is not None and math.isinf(value):
                values[i], nonfinite = None, nonfinite + 1
        if nonfinite:
            log.warning(
                "reward %r returned %d non-finite value(s) (inf) in %d completions; they are excluded like None "
                "(reward/%s/nonfinite counts them). Fix the reward so it returns a finite number or None.",
                self.__name__, nonfinite, n, self.__name__,
            )
        self.stats.record(values, unparseable=n - len(keep), seconds=time.perf_counter() - start, nonfinite=nonfinite)
        return values

    def _columns(self, kwargs: dict[str, Any], n: int) -> dict[str, list[Any]]:
        out = {}
        for column in self.columns:
            if column not in kwargs:
                present = sorted(k for k in kwargs if k not in TRL_KWARGS)
                raise MissingColumnError(
                    f"reward {self.__name__!r} needs the dataset column {column!r}, which the batch does not have "
                    f"(columns present: {', '.join(present) or 'none'}). Add it to the dataset records "
                    f"(rlrec.data.Example.to_record) or drop {self.__name__!r} from the reward set (conf/reward/)."
                )
            values = list(kwargs[column])
            if len(values) != n:
                raise RewardError(
                    f"reward {self.__name__!r}: column {column!r} has {len(values)} values for {n} completions"
                )
            out[column] = values
        return out

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.__name__!r}, params={self.params})"


def _as_value(value: Any) -> float | None:
    """None and NaN both mean "not applicable" and are returned as None (TRL turns it into NaN); ±inf is returned
    as is, for the caller to count and exclude."""
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def register_reward(
    name: str,
    higher_is_better: bool = True,
    range: tuple[float, float] = (0.0, 1.0),  # noqa: A002 - the name the registry contract uses
    description: str = "",
    **metadata: Any,
) -> Callable[[type[Reward]], type[Reward]]:
    """Class decorator: register a :class:`Reward` subclass under ``name`` with its metadata.

    ``higher_is_better`` and ``range`` (lo, hi; ``math.inf`` for unbounded) are saved with every run so
    analysis reads each objective's direction instead of hard-coding it. The class's ``Params`` is also
    stored in Hydra's ConfigStore as ``reward_schema/<name>``, so ``conf/reward/<name>.yaml`` is validated
    when a config is composed.
    """
    lo, hi = (float(v) for v in range)
    if not lo <= hi:
        raise ValueError(f"reward {name!r}: range must be (lo, hi) with lo <= hi, got {range}")

    def deco(cls: type[Reward]) -> type[Reward]:
        if not (isinstance(cls, type) and issubclass(cls, Reward)):
            raise TypeError(f"@register_reward({name!r}) decorates a subclass of rewards.Reward, got {cls!r}")
        if not (dataclasses.is_dataclass(cls.Params) and issubclass(cls.Params, RewardParams)):
            raise TypeError(f"{cls.__qualname__}.Params must be a @dataclass subclassing rewards.RewardParams")
        cls.name = name
        REWARDS.add(
            name,
            cls,
            higher_is_better=bool(higher_is_better),
            range=(lo, hi),
            description=description or (cls.__doc__ or "").strip().split("\n")[0],
            columns=list(cls.columns),
            unparseable_value=cls.Params().unparseable_value,
            **metadata,
        )
        from rewards.core.schemas import store_params_schema

        store_params_schema(name, cls.Params)
        return cls

    return deco


def make_reward(name: str, params: Any = None, resources: Any = None, term: str | None = None) -> Reward:
    """Instantiate registered reward ``name`` from a params mapping/dataclass (validated) and resources
    (default: a :class:`rewards.Resources` of the default config)."""
    cls = REWARDS.get(name)
    if resources is None:
        from rewards.core.resources import Resources

        resources = Resources()
    return cls(validate_params(cls.Params, params, where=f"reward {term or name!r}"), resources, term=term)


def prompt_text(prompt: Any) -> str:
    """Text of a prompt as TRL passes it (a string or chat messages)."""
    return completion_text(prompt)
