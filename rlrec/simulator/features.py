"""Id vocabularies of the ESMM model and the mapping from catalogue rows / users to embedding indices.

Catalogue rows are the positions in ``Catalog.ids`` (``I`` items). Two extra rows make lookups total:
row ``I`` = an item id that is not in the catalogue, row ``-1`` (i.e. ``I + 1``) = history padding.

Index conventions (shared with :mod:`rlrec.simulator.esmm`):

* item embedding: 0 = padding, 1 = cold start (not seen in training, or not in the catalogue), 2.. = known;
* user embedding: 0 = cold start, 1.. = users with training impressions;
* category value (per level) and profile value (per field): 0 = unknown, 1.. = seen in training.

Cold-start rows are trained: ``id_dropout`` replaces a share of the training ids by the cold id, so an
unknown user or item gets an average embedding rather than a random one. A cold item still gets its
real category embeddings when it is in the catalogue.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rlrec.data.schema import InteractionLog, UserProfile
from rlrec.simulator.esmm import ITEM_COLD, ITEM_PAD
from rlrec.simulator.labels import TRAIN, LabelledLog

__all__ = ["FeatureSpace", "target_counts"]


@dataclass
class FeatureSpace:
    """Vocabularies built from the training split. Arrays are indexed by catalogue row (``I + 2`` rows)."""

    item_ids: list[str]  # [I] catalogue order
    item_index: np.ndarray  # [I + 2] int64 row → item embedding index
    item_categories: np.ndarray  # [I + 2, V] int64 row → category value index per level
    user_ids: list[str]  # users with an embedding; user_ids[k] has index k + 1
    category_values: list[list[str]]  # [V][n_v]; value j has index j + 1
    profile_fields: list[str]  # [F]
    profile_values: list[list[str]]  # [F][n_f]; value j has index j + 1
    history_len: int

    @property
    def num_items(self) -> int:
        """Rows of the item embedding table (padding + cold + known)."""
        return int(self.item_index.max()) + 1 if len(self.item_index) else 2

    @property
    def num_users(self) -> int:
        return len(self.user_ids) + 1

    @property
    def category_sizes(self) -> list[int]:
        return [len(v) + 1 for v in self.category_values]

    @property
    def profile_sizes(self) -> list[int]:
        return [len(v) + 1 for v in self.profile_values]

    @classmethod
    def build(cls, log: InteractionLog, labelled: LabelledLog) -> FeatureSpace:
        """Vocabularies from the training positives of ``labelled`` (users, items, their categories and profiles)."""
        catalog = log.catalog
        num_rows = len(catalog)
        train = labelled.positives(TRAIN)
        known_rows = np.unique(labelled.pos_item[train])
        item_index = np.full(num_rows + 2, ITEM_COLD, dtype=np.int64)
        item_index[known_rows] = np.arange(2, 2 + len(known_rows))
        item_index[-1] = ITEM_PAD

        depth = catalog.depth
        items = [catalog[catalog.ids[r]] for r in known_rows]
        category_values = [sorted({it.category(v + 1) for it in items} - {""}) for v in range(depth)]
        lookup = [{value: j + 1 for j, value in enumerate(values)} for values in category_values]
        item_categories = np.zeros((num_rows + 2, depth), dtype=np.int64)
        for r, item_id in enumerate(catalog.ids):
            item = catalog[item_id]
            for v in range(depth):
                item_categories[r, v] = lookup[v].get(item.category(v + 1), 0)

        train_ctx = np.unique(labelled.pos_ctx[train])
        user_ids = sorted({labelled.ctx_user[c] for c in train_ctx})
        fields: list[str] = []
        for user in user_ids:
            for name in log.profile(user).fields:
                if name not in fields:
                    fields.append(name)
        profile_values = [sorted({str(log.profile(u).fields[f]) for u in user_ids if f in log.profile(u).fields})
                          for f in fields]
        return cls(
            item_ids=list(catalog.ids),
            item_index=item_index,
            item_categories=item_categories,
            user_ids=user_ids,
            category_values=category_values,
            profile_fields=fields,
            profile_values=profile_values,
            history_len=labelled.ctx_hist.shape[1],
        )

    def user_index(self, user_ids: Sequence[str]) -> np.ndarray:
        """``[C]`` user embedding index per id, 0 (cold start) for users without training impressions."""
        lookup = {u: k + 1 for k, u in enumerate(self.user_ids)}
        return np.fromiter((lookup.get(u, 0) for u in user_ids), dtype=np.int64, count=len(user_ids))

    def profile_index(self, profiles: Sequence[UserProfile | None]) -> np.ndarray:
        """``[C, F]`` profile value indices (0 for a missing field, an unseen value or no profile)."""
        lookups = [{value: j + 1 for j, value in enumerate(values)} for values in self.profile_values]
        out = np.zeros((len(profiles), len(self.profile_fields)), dtype=np.int64)
        for c, profile in enumerate(profiles):
            if profile is None:
                continue
            for f, name in enumerate(self.profile_fields):
                if name in profile.fields:
                    out[c, f] = lookups[f].get(str(profile.fields[name]), 0)
        return out

    def save(self, directory: Path) -> None:
        np.savez_compressed(
            directory / "features.npz", item_ids=np.array(self.item_ids, dtype=str),
            item_index=self.item_index, item_categories=self.item_categories,
        )
        (directory / "features.json").write_text(json.dumps({
            "user_ids": self.user_ids, "category_values": self.category_values,
            "profile_fields": self.profile_fields, "profile_values": self.profile_values,
            "history_len": self.history_len,
        }))

    @classmethod
    def load(cls, directory: Path) -> FeatureSpace:
        arrays = np.load(directory / "features.npz")
        meta = json.loads((directory / "features.json").read_text())
        return cls(
            item_ids=arrays["item_ids"].tolist(), item_index=arrays["item_index"],
            item_categories=arrays["item_categories"], **meta,
        )


def target_counts(hist_rows: np.ndarray, pair_ctx: np.ndarray, pair_rows: np.ndarray, unknown_row: int) -> np.ndarray:
    """How often each pair's target occurs in its context's history, ``[N]`` float32.

    hist_rows: ``[C, L]`` catalogue rows (padding -1); pair_ctx / pair_rows: ``[N]``. A target that is not
    in the catalogue (``unknown_row``) never counts, even if the history holds unknown items too.
    """
    targets = np.where(pair_rows == unknown_row, -2, pair_rows)
    return (hist_rows[pair_ctx] == targets[:, None]).sum(1).astype(np.float32)
