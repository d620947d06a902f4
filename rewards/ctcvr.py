"""``ctcvr`` (Taiji Eq. 4): the simulator's min-max normalised P(click ∧ conversion | user, grounded item)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rewards.core.base import Reward, register_reward
from rewards.core.grounding import grounding_rates, make_grounder
from rewards.core.params import RewardParams
from rlrec.answer import ParsedAnswer


@register_reward("ctcvr",  # higher_is_better=True, range=(0, 1): the defaults
                 description="Taiji Eq. 4: min-max normalised simulated CTCVR(user, answer grounded to a catalogue item)")
class CTCVR(Reward):
    """r_id = minmax(CTCVR(u, i)) where i is the catalogue item the answer is grounded to.

    Grounding is the simulator's (top-1 cosine of the answer's ``Item title: …; Category …`` text against
    every item's text, see :mod:`rewards.core.grounding` for the exact shortcuts); CTCVR comes from the
    simulator's ESMM (pCTR × pCVR) with the user in the state the prompt showed (``history_item_ids``),
    normalised with the simulator's fixed min-max statistics (``per_batch: true``: over the batch).
    ``min_similarity``: answers grounded below this cosine (nothing in the catalogue resembles them) get
    ``ungrounded_value`` instead of the CTCVR of an arbitrary item. Unparseable (no item title): None. Lone
    surrogate characters are replaced before encoding (:func:`rlrec.semantic.encodable_texts`) and the texts so
    changed counted in ``reward/<name>/sanitized_texts``.
    """

    columns = ("user_id", "history_item_ids")

    @dataclass
    class Params(RewardParams):
        unparseable_value: float | None = None
        simulator: str | None = None  # artifact folder; None = the newest one built for this catalogue
        condition_on_prompt: bool = True  # score the user as of the prompt's history (else: latest logged state)
        per_batch: bool = False  # min-max over the batch instead of the simulator's fixed statistics
        min_similarity: float | None = None  # grounding cosine below this -> ungrounded_value; None = off
        ungrounded_value: float | None = 0.0

    def __init__(self, params: Params | None = None, resources: Any = None, *, term: str | None = None) -> None:
        super().__init__(params, resources, term=term)
        self.simulator = resources.simulator(self.params.simulator)
        self.grounder = make_grounder(resources, self.simulator)
        self._how: list[np.ndarray] = []
        self._sims: list[np.ndarray] = []
        self._sanitized = 0  # answer texts sent to the encoder with lone surrogates replaced

    def score(self, prompts: list[Any], parsed: list[ParsedAnswer], columns: dict[str, list[Any]]) -> Sequence[float | None]:
        before = self.grounder.cache.sanitized
        item_ids, sims, how = self.grounder.ground_top1([p.item_text() for p in parsed])  # [N], [N], [N]
        self._sanitized += self.grounder.cache.sanitized - before
        self._how.append(how)
        self._sims.append(sims)
        histories = [list(h or []) for h in columns["history_item_ids"]] if self.params.condition_on_prompt else None
        users = [str(u) for u in columns["user_id"]]
        values = self.simulator.normalized_ctcvr(users, item_ids, histories, per_batch=self.params.per_batch)  # [N]
        out: list[float | None] = [float(v) for v in values]
        if self.params.min_similarity is not None:
            for i in np.flatnonzero(sims < self.params.min_similarity):
                out[i] = self.params.ungrounded_value
        return out

    def extra_stats(self) -> dict[str, float]:
        """Grounding shortcut rates, the mean grounding cosine and ``sanitized_texts`` since the last read."""
        how = np.concatenate(self._how) if self._how else np.zeros(0, dtype=np.int64)
        sims = np.concatenate(self._sims) if self._sims else np.zeros(0)
        sanitized = self._sanitized
        self._how, self._sims, self._sanitized = [], [], 0
        out = grounding_rates(how)
        if len(sims):
            out["grounding_similarity"] = float(sims.mean())
            out["sanitized_texts"] = float(sanitized)
        return out
