"""Who the enhancer is measured on, where each user's cut-off lies, the prompts and the ranking rows.

* **Users.** Only users no policy trained on: the data split's ``test`` users and the log's users outside the
  prepared sample (``data.max_users``). The SFT split was distilled with each user's TRUE next item (RUPR), so an
  SFT policy's output on its own training users could carry their future. A seeded draw of ``enhance.users`` is
  split into ranker-training users (``train_fraction``; they also fit the PQ codebooks and the similar-user index)
  and evaluation users.
* **Cut-off (the time split).** The simulator's labeller (``simulator.labels``: clicks, conversions, the
  chronological per-user hold-out) is reused: a user's cut-off is the moment of their first hold-out context. The
  policy's prompt is built (``rlrec.data.examples.build_example``, the Taiji §2.1.1 template) from the events
  strictly before that moment, so the LLM output never sees the rows it enhances.
* **Rows.** Every user's hold-out contexts and their positives, plus ``simulator.negative_ratio`` negatives per
  positive drawn once (seeded) with probability ∝ training popularity ** ``negative_alpha`` (the simulator's
  sampler). All variants and policies share these rows, labels and negatives.

Dims: ``U`` cohort users, ``C`` hold-out contexts, ``N`` impressions, ``L`` history length.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection
from dataclasses import dataclass

import numpy as np

from rlrec.config import DataConfig, EnhanceConfig, SimulatorConfig
from rlrec.data.examples import BuildReport, Example, Target, build_example, moments
from rlrec.data.schema import InteractionLog
from rlrec.simulator.labels import HOLDOUT, TRAIN, LabelledLog, label_log, sample_negatives

__all__ = ["Cohort", "build_cohort", "cohort_prompts"]


@dataclass
class Cohort:
    """The users, their cut-offs and the shared ranking rows."""

    users: list[str]  # [U]
    train: np.ndarray  # [U] bool: ranker-training user (fits codebooks, index, ranker)
    cut_index: np.ndarray  # [U] int64: the user's events[:cut_index] are strictly before the cut-off moment
    cut_time: np.ndarray  # [U] float: time of the cut-off moment (log time units)
    from_test_split: np.ndarray  # [U] bool: the user is in the data split's test users (else outside the sample)
    ctx_user: np.ndarray  # [C] int64 cohort user of each hold-out context
    ctx_hist: np.ndarray  # [C, L] int64 catalogue rows of the context's last L events, oldest first, -1 padded left
    ctx: np.ndarray  # [N] int64 context of each impression
    item: np.ndarray  # [N] int64 catalogue row
    click: np.ndarray  # [N] float32 0/1
    conv: np.ndarray  # [N] float32 0/1 (0 for negatives)
    labelled: LabelledLog  # the whole log's labels (TRAIN contexts give popularity and the id vocabularies)
    skipped: dict[str, int]  # users left out of the draw, by reason

    @property
    def row_user(self) -> np.ndarray:
        """``[N]`` cohort user of each impression."""
        return self.ctx_user[self.ctx]

    def history_length(self) -> np.ndarray:
        """``[U]`` events before each user's cut-off (the long-tail segment is defined on it)."""
        return self.cut_index.astype(np.int64)


def _cutoffs(log: InteractionLog, labelled: LabelledLog) -> dict[str, tuple[int, int, float]]:
    """user → (index of the first hold-out event, start of its moment, its time), for users with a hold-out."""
    first: dict[str, int] = {}
    for c in np.flatnonzero(labelled.ctx_split == HOLDOUT):
        first.setdefault(labelled.ctx_user[c], int(labelled.ctx_past[c]))
    out = {}
    for user, past in first.items():
        events = log.histories[user]
        catalogued = [i for i, e in enumerate(events) if e.item_id in log.catalog]
        index = catalogued[past]
        start = next(s for s, e in moments(events) if s <= index < e)
        out[user] = (index, start, float(events[index].time))
    return out


def build_cohort(log: InteractionLog, simulator: SimulatorConfig, cfg: EnhanceConfig, test_users: Collection[str],
                 trained_users: Collection[str]) -> Cohort:
    """Draw the cohort (see the module docstring). ``trained_users`` (the sft and rl splits) are never drawn."""
    sim = dataclasses.replace(simulator, holdout_fraction=cfg.holdout_fraction or simulator.holdout_fraction)
    labelled = label_log(log, sim)
    cuts = _cutoffs(log, labelled)
    trained, tests = set(trained_users), set(test_users)
    skipped = {"trained a policy (data split sft / rl)": 0, "no labelled hold-out context": 0,
               f"fewer than enhance.min_history={cfg.min_history} events before the cut-off": 0}
    eligible = []
    for user in log.users:
        if user in trained:
            skipped["trained a policy (data split sft / rl)"] += 1
        elif user not in cuts:
            skipped["no labelled hold-out context"] += 1
        elif cuts[user][1] < cfg.min_history:
            skipped[f"fewer than enhance.min_history={cfg.min_history} events before the cut-off"] += 1
        else:
            eligible.append(user)
    n_train = round(cfg.users * cfg.train_fraction)
    if len(eligible) < cfg.users or n_train < 2 or cfg.users - n_train < 2:
        raise ValueError(
            f"enhance.users={cfg.users} (train_fraction={cfg.train_fraction}: {n_train} ranker-training users) but "
            f"{len(eligible)} users of {log.name!r} are eligible ({skipped}); lower enhance.users or "
            f"enhance.min_history, or raise data.max_users' complement (fewer users in the policies' splits)")
    rng = np.random.default_rng([cfg.seed, 18])
    users = [eligible[i] for i in rng.choice(len(eligible), size=cfg.users, replace=False)]
    users = sorted(users[:n_train]) + sorted(users[n_train:])  # train users first
    index = {u: k for k, u in enumerate(users)}

    hold = np.flatnonzero((labelled.ctx_split == HOLDOUT) & np.isin(np.array(labelled.ctx_user, dtype=object),
                                                                    np.array(users, dtype=object)))
    ctx_user = np.array([index[labelled.ctx_user[c]] for c in hold], dtype=np.int64)
    remap = np.full(len(labelled.ctx_user), -1, dtype=np.int64)
    remap[hold] = np.arange(len(hold))
    pos = np.flatnonzero(remap[labelled.pos_ctx] >= 0)
    pos_ctx, pos_item, pos_conv = remap[labelled.pos_ctx[pos]], labelled.pos_item[pos], labelled.pos_conv[pos]
    train_pos = labelled.positives(TRAIN)
    popularity = np.bincount(labelled.pos_item[train_pos], minlength=len(log.catalog)).astype(np.float64)
    weights = (popularity + 1.0) ** simulator.negative_alpha  # +1: every item can be a negative
    # training and evaluation users draw from separate streams: nothing of an evaluation user shifts a training negative
    train_user = np.arange(len(users)) < n_train
    negatives = [sample_negatives(pos_ctx[side], pos_item[side], weights, simulator.negative_ratio,
                                  np.random.default_rng([cfg.seed, 19, k]))
                 for k, side in enumerate((train_user[ctx_user[pos_ctx]], ~train_user[ctx_user[pos_ctx]]))]
    neg_ctx = np.concatenate([n[0] for n in negatives])
    neg_item = np.concatenate([n[1] for n in negatives])
    return Cohort(
        users=users,
        train=train_user,
        cut_index=np.array([cuts[u][1] for u in users], dtype=np.int64),
        cut_time=np.array([cuts[u][2] for u in users], dtype=np.float64),
        from_test_split=np.array([u in tests for u in users]),
        ctx_user=ctx_user,
        ctx_hist=labelled.ctx_hist[hold],
        ctx=np.concatenate([pos_ctx, neg_ctx]),
        item=np.concatenate([pos_item, neg_item]),
        click=np.concatenate([np.ones(len(pos_ctx), np.float32), np.zeros(len(neg_ctx), np.float32)]),
        conv=np.concatenate([pos_conv, np.zeros(len(neg_ctx), np.float32)]).astype(np.float32),
        labelled=labelled,
        skipped=skipped,
    )


def cohort_prompts(log: InteractionLog, cohort: Cohort, data: DataConfig,
                   count_tokens: Callable[[str], int]) -> list[Example]:
    """One Taiji prompt per cohort user from the events strictly before their cut-off moment (the same builder,
    template, history length, token budget and compression as the data stage's examples)."""
    show_behavior = len({e.behavior for e in log.interactions()}) > 1
    report = BuildReport()
    out = []
    for user, start in zip(cohort.users, cohort.cut_index):
        events = log.histories[user]
        example = build_example(log, events, Target(int(start), int(start)), data, count_tokens, report, show_behavior)
        before = {e.item_id for e in events[:start]}
        if not set(example.history_item_ids) <= before:  # the builder's guarantee, checked: nothing from the cut-off on
            raise AssertionError(f"prompt of user {user!r} holds items from at/after the cut-off")
        out.append(example)
    return out
