"""Per-reward statistics accumulated between two log steps, under fixed metric names."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


@dataclass
class RewardStats:
    """Values, unparseable and non-finite counts and seconds of one reward since the last :meth:`pop`.

    The trainer may call a reward several times per logged step (gradient accumulation); everything is
    accumulated until :meth:`pop`.
    """

    values: list[float] = field(default_factory=list)  # NaN where the reward returned None
    unparseable: int = 0
    nonfinite: int = 0  # values the reward returned as inf / NaN, excluded like None
    seconds: float = 0.0
    calls: int = 0

    def record(self, values: list[float | None], unparseable: int, seconds: float, nonfinite: int = 0) -> None:
        self.values.extend(math.nan if v is None else float(v) for v in values)
        self.unparseable += unparseable
        self.nonfinite += nonfinite
        self.seconds += seconds
        self.calls += 1

    def pop(self, name: str) -> dict[str, float]:
        """``reward/<name>/{mean,std,nan_frac,seconds,unparseable,unparseable_frac,nonfinite}`` then reset.

        mean/std are over the non-NaN values; std uses Bessel's correction like TRL's ``nanstd`` (NaN when
        fewer than two values). Returns ``{}`` when the reward was not called since the last pop.
        """
        if not self.calls:
            return {}
        x = np.asarray(self.values, dtype=np.float64)  # [N]
        finite = x[~np.isnan(x)]
        n = len(x)
        out = {
            f"reward/{name}/mean": float(finite.mean()) if len(finite) else math.nan,
            f"reward/{name}/std": float(finite.std(ddof=1)) if len(finite) > 1 else math.nan,
            f"reward/{name}/nan_frac": float(1.0 - len(finite) / n) if n else 0.0,
            f"reward/{name}/seconds": float(self.seconds),
            f"reward/{name}/unparseable": float(self.unparseable),
            f"reward/{name}/unparseable_frac": float(self.unparseable / n) if n else 0.0,
            f"reward/{name}/nonfinite": float(self.nonfinite),
        }
        self.values, self.unparseable, self.nonfinite, self.seconds, self.calls = [], 0, 0, 0.0, 0
        return out
