"""Batched pCTR / pCVR / pCTCVR for (user, item) pairs: the trained ESMM plus the stored user states.

A user's *state* is their user embedding, profile and last ``L`` interactions. The stored state of every
user in the log is their latest ``L`` interactions; callers can pass other histories (e.g. the history a
prompt showed, so nothing after the prompt's time leaks into the score).

Fallbacks, counted in :attr:`Scorer.unknown_counts` (one count per scored pair):

* ``unknown_user`` — not in the log: cold-start user embedding, empty history, no profile;
* ``cold_user`` — in the log but without training impressions: cold-start embedding, real history/profile;
* ``unknown_item`` — not in the catalogue: cold-start item embedding, unknown categories;
* ``cold_item`` — in the catalogue but never clicked in training: cold-start embedding, real categories.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch

from rlrec.data.schema import UserProfile
from rlrec.simulator.esmm import ESMM, ITEM_COLD
from rlrec.simulator.features import FeatureSpace, target_counts
from rlrec.simulator.labels import PAD

__all__ = ["Scorer"]


class Scorer:
    """Scores pairs in chunks of ``chunk`` with ``torch.inference_mode``; everything else is numpy."""

    def __init__(self, model: ESMM, features: FeatureSpace, state_users: Sequence[str], state_hist: np.ndarray,
                 state_profile: np.ndarray, chunk: int = 65536) -> None:
        """``state_users`` ``[S]`` with their latest history rows ``[S, L]`` and profile indices ``[S, F]``
        (:meth:`FeatureSpace.profile_index`)."""
        self.model = model.eval()
        self.features = features
        self.chunk = chunk
        self.unknown_counts: Counter = Counter()
        self.num_rows = len(features.item_ids)
        self._item_rows = pd.Index(features.item_ids)
        self.state_users = list(state_users)
        self._state_rows = pd.Index(self.state_users)
        # One extra state (last row) for users not in the log: cold id, empty history, no profile.
        self.state_user_idx = np.append(features.user_index(self.state_users), 0)
        self.state_hist = np.vstack([state_hist, np.full((1, features.history_len), PAD, dtype=np.int64)])
        self.state_profile = np.vstack([state_profile, np.zeros((1, len(features.profile_fields)), dtype=np.int64)])
        with torch.inference_mode():
            self._states = self._user_states(self.state_user_idx, self.state_hist, self.state_profile)

    # ------------------------------------------------------------------------------------------ ids → rows

    def item_rows(self, item_ids: Sequence[str]) -> np.ndarray:
        """``[N]`` catalogue rows; ids not in the catalogue map to row ``I`` (counted as ``unknown_item``)."""
        rows = self._item_rows.get_indexer(list(item_ids))
        unknown = rows < 0
        rows[unknown] = self.num_rows
        self.unknown_counts["unknown_item"] += int(unknown.sum())
        self.unknown_counts["cold_item"] += int(((self.features.item_index[rows] == ITEM_COLD) & ~unknown).sum())
        return rows.astype(np.int64)

    def history_rows(self, histories: Sequence[Sequence[str]], most_recent_first: bool) -> np.ndarray:
        """``[C, L]`` catalogue rows of each history's last ``L`` items, oldest first, padded left with -1;
        items not in the catalogue map to row ``I``. One hash lookup for all histories together."""
        L = self.features.history_len
        recent = [list(h[:L])[::-1] if most_recent_first else list(h[-L:]) for h in histories]
        lengths = np.fromiter((len(r) for r in recent), dtype=np.int64, count=len(recent))
        flat = self._item_rows.get_indexer([item for r in recent for item in r]) if lengths.sum() else np.zeros(0, int)
        flat[flat < 0] = self.num_rows
        out = np.full((len(histories), L), PAD, dtype=np.int64)
        # the j-th item of history c goes to column L - len(c) + j (left padding)
        row_of = np.repeat(np.arange(len(recent)), lengths)
        col_of = np.arange(len(flat)) - np.repeat(np.cumsum(lengths) - lengths, lengths) + np.repeat(L - lengths, lengths)
        out[row_of, col_of] = flat
        return out

    def _state_index(self, user_ids: Sequence[str]) -> np.ndarray:
        idx = self._state_rows.get_indexer(list(user_ids))
        unknown = idx < 0
        idx[unknown] = len(self.state_users)
        self.unknown_counts["unknown_user"] += int(unknown.sum())
        self.unknown_counts["cold_user"] += int(((self.state_user_idx[idx] == 0) & ~unknown).sum())
        return idx.astype(np.int64)

    # ----------------------------------------------------------------------------------------------- maths

    def _user_states(self, user_idx: np.ndarray, hist_rows: np.ndarray, profile: np.ndarray) -> torch.Tensor:
        """``[C, state_dim]`` user states (user emb, pooled history, profile) for contexts."""
        hist_idx = self.features.item_index[hist_rows]  # row -1 (padding) → 0
        out = [
            self.model.user_state(torch.from_numpy(user_idx[s : s + self.chunk]),
                                  torch.from_numpy(hist_idx[s : s + self.chunk]),
                                  torch.from_numpy(profile[s : s + self.chunk]))
            for s in range(0, len(user_idx), self.chunk)
        ]
        return torch.cat(out) if out else torch.zeros(0, self.model.state_dim)

    def _predict(self, states: torch.Tensor, hist_rows: np.ndarray, pair_ctx: np.ndarray,
                 pair_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(pCTR ``[N]``, pCVR ``[N]``) for pairs (context, catalogue row), in chunks (bounded memory)."""
        p_ctr = np.empty(len(pair_rows), dtype=np.float32)
        p_cvr = np.empty(len(pair_rows), dtype=np.float32)
        with torch.inference_mode():
            for s in range(0, len(pair_rows), self.chunk):
                e = s + self.chunk
                ctx, rows = pair_ctx[s:e], pair_rows[s:e]
                counts = target_counts(hist_rows, ctx, rows, self.num_rows)
                ctr_logit, cvr_logit = self.model(
                    states[torch.from_numpy(ctx)], torch.from_numpy(self.features.item_index[rows]),
                    torch.from_numpy(self.features.item_categories[rows]), torch.from_numpy(counts))
                p_ctr[s:e] = torch.sigmoid(ctr_logit).numpy()
                p_cvr[s:e] = torch.sigmoid(cvr_logit).numpy()
        return p_ctr, p_cvr

    def predict_contexts(self, user_ids: Sequence[str], hist_rows: np.ndarray, profiles: Sequence[UserProfile | None],
                         pair_ctx: np.ndarray, pair_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(pCTR, pCVR) ``[N]`` for pairs over explicit contexts: users ``[C]``, histories ``[C, L]`` (rows)."""
        with torch.inference_mode():
            states = self._user_states(self.features.user_index(user_ids), hist_rows,
                                       self.features.profile_index(profiles))
        return self._predict(states, hist_rows, pair_ctx, pair_rows)

    def predict(self, user_ids: Sequence[str], item_ids: Sequence[str],
                histories: Sequence[Sequence[str]] | None = None,
                most_recent_first: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """(pCTR, pCVR) ``[N]`` for pairs of ids.

        ``histories`` (optional, one per pair): the user's past item ids to condition on instead of their
        stored latest state; most recent first by default (``rlrec.data.Example.history_item_ids``).
        """
        if len(user_ids) != len(item_ids):
            raise ValueError(f"got {len(user_ids)} user ids but {len(item_ids)} item ids: pass one user per item")
        rows = self.item_rows(item_ids)
        state_idx = self._state_index(user_ids)
        if histories is None:
            return self._predict(self._states, self.state_hist, state_idx, rows)
        if len(histories) != len(item_ids):
            raise ValueError(f"got {len(histories)} histories for {len(item_ids)} pairs: pass one history per pair")
        # One context per distinct (user, history object): the G completions of a prompt share one history
        # list, so keying on its identity dedupes them without hashing 50 ids per pair (all are alive here).
        keys: dict[tuple[str, int], int] = {}
        pair_ctx = np.fromiter((keys.setdefault((u, id(h)), len(keys)) for u, h in zip(user_ids, histories)),
                               dtype=np.int64, count=len(user_ids))
        _, first = np.unique(pair_ctx, return_index=True)  # [C] first pair of each context
        ctx_state = state_idx[first]
        hist_rows = self.history_rows([histories[i] for i in first.tolist()], most_recent_first)
        with torch.inference_mode():
            states = self._user_states(self.state_user_idx[ctx_state], hist_rows, self.state_profile[ctx_state])
        return self._predict(states, hist_rows, pair_ctx, rows)
