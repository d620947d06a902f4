"""Tag-aware user-item-tag retrieval (RecGPT §2.3, "TAR"): user, item and tag towers trained on the logs.

* Item tower (§2.3.1): ``h_v = DNN_item([EMB(item id); EMB(category L1); …; EMB(category Ln)])``.
* User tower: ``h_u = DNN_user([EMB(user id); MEAN(h_v of the user's most recent items)])`` (one behaviour type
  in these logs, so one pooled sequence).
* Tag tower: ``h_t = DNN_tag(MEAN(EMB(w_1), …, EMB(w_n)))`` over the tag's lower-cased words.

Every output is L2-normalised, so ``ŷ_col = h_u·h_v`` and ``ŷ_sem = h_t·h_v`` are cosines on one scale, and the
contrastive losses divide them by a temperature τ. Optimisation (§2.3.2), each an in-batch softmax whose
negatives are the other rows' items (rows holding the same item, or for L_cate the same category, are masked)::

    L_col  = -log softmax_j(h_u_i·h_v_j / τ)[i]              (user, next item) pairs from the logs
    L_tag  = -log softmax_j(h_t_i·h_v_j / τ)[i]              (a tag of the item, the item)
    L_cate = -log softmax_j(h_t_i·h_v+_j / τ)[i]             v+ = a random item of v's finest category
    L_TAR  = L_col + α L_tag + (1 − α) L_cate                (α = 0.5 in the seed)

With ``semantic=False`` only L_col is trained: the plain user-item two-tower baseline.

Training tags of an item (the seed uses the tags of clicked items, and item titles as tags in §2.2.2 step 2): its
title, each of its categories and the category path. Training pairs come from each user's events strictly before
their first evaluation target (:func:`training_pairs`), so no target is ever seen.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from rlrec.config.task import TowerConfig
from rlrec.data.schema import Catalog, Interaction, Item

__all__ = ["TowerConfig", "TriTower", "TowerVocab", "item_tag_texts", "training_pairs", "train_towers",
           "info_nce", "load_towers", "save_towers", "moment_start", "history_before"]

log = logging.getLogger("rlrec")
_WORD = re.compile(r"[a-z0-9]+")


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def item_tag_texts(item: Item) -> list[str]:
    """Training tags of ``item``: title, each category, the category path (distinct, non-empty)."""
    cats = [c for c in item.categories if c]
    texts = [item.title, *cats, " ".join(cats)]
    return [t for t in dict.fromkeys(texts) if words(t)]


@dataclass
class TowerVocab:
    """Id maps of the towers' embedding tables; index 0 is padding / unknown / cold everywhere."""

    items: dict[str, int]  # item id -> 1..I (catalogue order)
    users: dict[str, int]  # user id -> 1..U
    categories: list[dict[str, int]]  # per level: category name -> 1..C_l
    words: dict[str, int]  # tag word -> 2..W (1 = unknown word)

    @classmethod
    def build(cls, catalog: Catalog, users: Sequence[str]) -> TowerVocab:
        levels = catalog.depth
        cats = [{c: i + 1 for i, c in enumerate(sorted({it.category(lv + 1) for it in catalog} - {""}))}
                for lv in range(levels)]
        vocab = sorted({w for it in catalog for t in item_tag_texts(it) for w in words(t)})
        return cls({iid: i + 1 for i, iid in enumerate(catalog.ids)}, {u: i + 1 for i, u in enumerate(sorted(users))},
                   cats, {w: i + 2 for i, w in enumerate(vocab)})

    def item_features(self, catalog: Catalog) -> torch.Tensor:
        """``[I + 1, 1 + levels]`` long: item id and category ids per catalogue row (row 0 = padding)."""
        rows = [[0] * (1 + len(self.categories))]
        for item in catalog:
            rows.append([self.items[item.item_id]] + [self.categories[lv].get(item.category(lv + 1), 0)
                                                      for lv in range(len(self.categories))])
        return torch.tensor(rows, dtype=torch.long)

    def encode_tags(self, texts: Sequence[str], max_words: int) -> torch.Tensor:
        """``[M, max_words]`` long word ids (0-padded; unknown words = 1; an empty tag gets one unknown word)."""
        out = torch.zeros((len(texts), max_words), dtype=torch.long)
        for i, text in enumerate(texts):
            ids = [self.words.get(w, 1) for w in words(text)][:max_words] or [1]
            out[i, : len(ids)] = torch.tensor(ids)
        return out

    def to_json(self) -> dict:
        return asdict(self)


def _mlp(n_in: int, hidden: int, n_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(n_in, hidden), nn.ReLU(), nn.Linear(hidden, n_out))


class TriTower(nn.Module):
    """The three towers. Item rows are catalogue rows + 1 (0 = padding); see the module docstring."""

    def __init__(self, vocab: TowerVocab, item_features: torch.Tensor, cfg: TowerConfig) -> None:
        super().__init__()
        d = cfg.dim
        self.cfg = cfg
        self.register_buffer("item_features", item_features, persistent=False)  # [I + 1, 1 + levels]
        self.item_id = nn.Embedding(len(vocab.items) + 1, d, padding_idx=0)
        self.item_cats = nn.ModuleList(nn.Embedding(len(c) + 1, d, padding_idx=0) for c in vocab.categories)
        self.item_dnn = _mlp(d * (1 + len(vocab.categories)), cfg.hidden, d)
        self.user_id = nn.Embedding(len(vocab.users) + 1, d)  # row 0 = the cold-start user
        self.user_dnn = _mlp(2 * d, cfg.hidden, d)
        self.tag_words = nn.EmbeddingBag(len(vocab.words) + 2, d, mode="mean", padding_idx=0)
        self.tag_dnn = _mlp(d, cfg.hidden, d)

    def items(self, rows: torch.Tensor) -> torch.Tensor:
        """``h_v`` ``[*, D]`` (L2-normalised) of item rows ``[*]`` (catalogue row + 1)."""
        feats = self.item_features[rows]  # [*, 1 + levels]
        parts = [self.item_id(feats[..., 0])] + [emb(feats[..., 1 + lv]) for lv, emb in enumerate(self.item_cats)]
        return nn.functional.normalize(self.item_dnn(torch.cat(parts, dim=-1)), dim=-1)

    def users(self, user_ids: torch.Tensor, history: torch.Tensor) -> torch.Tensor:
        """``h_u`` ``[B, D]`` from user ids ``[B]`` (0 = cold) and history item rows ``[B, L]`` (0 = padding)."""
        mask = (history > 0).float().unsqueeze(-1)  # [B, L, 1]
        pooled = (self.items(history) * mask).sum(1) / mask.sum(1).clamp(min=1.0)  # [B, D]
        return nn.functional.normalize(self.user_dnn(torch.cat([self.user_id(user_ids), pooled], -1)), dim=-1)

    def tags(self, word_ids: torch.Tensor) -> torch.Tensor:
        """``h_t`` ``[M, D]`` from word ids ``[M, W]`` (0 = padding)."""
        return nn.functional.normalize(self.tag_dnn(self.tag_words(word_ids)), dim=-1)

    @torch.no_grad()
    def item_matrix(self) -> torch.Tensor:
        """``[I, D]`` h_v of every catalogue item, in catalogue order."""
        return self.items(torch.arange(1, self.item_features.shape[0]))


def info_nce(queries: torch.Tensor, keys: torch.Tensor, same: torch.Tensor, temperature: float) -> torch.Tensor:
    """Mean in-batch softmax loss: row i's positive is ``keys[i]``, its negatives the other keys except those
    ``same[i, j]`` marks (the same item / category as row i's positive, so not negatives). Shapes:
    ``queries``, ``keys`` ``[B, D]``; ``same`` ``[B, B]`` bool."""
    logits = queries @ keys.T / temperature  # [B, B]
    eye = torch.eye(len(keys), dtype=torch.bool, device=keys.device)
    logits = logits.masked_fill(same & ~eye, float("-inf"))
    return nn.functional.cross_entropy(logits, torch.arange(len(keys), device=keys.device))


def _moment(e: Interaction) -> tuple:
    return ("group", e.group) if e.group is not None else ("time", e.time)


def moment_start(events: Sequence[Interaction], index: int) -> int:
    """Index of the first event of event ``index``'s moment (basket, or same time when ungrouped)."""
    start = index
    while start > 0 and _moment(events[start - 1]) == _moment(events[index]):
        start -= 1
    return start


def history_before(events: Sequence[Interaction], cut: int, history_len: int) -> list[str]:
    """Item ids of the ``history_len`` most recent events of moments before event ``cut``'s moment."""
    start = moment_start(events, cut)
    return [e.item_id for e in events[max(0, start - history_len): start]][::-1]


def training_pairs(histories: Mapping[str, Sequence[Interaction]], cuts: Mapping[str, int],
                   history_len: int) -> tuple[list[str], list[list[str]], list[str]]:
    """(user ids, histories, next item ids) for every event of every user before ``cuts[user]`` (the index of
    their first evaluation target; all events when absent) that has at least one earlier moment."""
    users, hist, targets = [], [], []
    for user, events in histories.items():
        end = cuts.get(user, len(events))
        window: list[str] = []  # items of earlier moments, most recent last
        moment_items: list[str] = []
        for i in range(end):
            if i > 0 and _moment(events[i]) != _moment(events[i - 1]):
                window += moment_items
                moment_items = []
            if window:
                users.append(user)
                hist.append(window[-history_len:][::-1])
                targets.append(events[i].item_id)
            moment_items.append(events[i].item_id)
    return users, hist, targets


def _rows(item_ids: Sequence[str], vocab: TowerVocab) -> list[int]:
    return [vocab.items.get(i, 0) for i in item_ids]


def pad_histories(histories: Sequence[Sequence[str]], vocab: TowerVocab, length: int) -> torch.Tensor:
    out = torch.zeros((len(histories), length), dtype=torch.long)
    for n, h in enumerate(histories):
        rows = _rows(h[:length], vocab)
        if rows:
            out[n, : len(rows)] = torch.tensor(rows)
    return out


def train_towers(catalog: Catalog, users: Sequence[str], pairs: tuple[list[str], list[list[str]], list[str]],
                 cfg: TowerConfig, progress: bool = False) -> tuple[TriTower, TowerVocab, list[dict]]:
    """Train the towers on ``pairs`` (from :func:`training_pairs`); returns (model in eval mode, vocab, per-epoch
    mean losses)."""
    from rlrec.simulator.encoders import torch_threads

    with torch_threads(cfg.threads):
        return _train(catalog, users, pairs, cfg, progress)


def _train(catalog: Catalog, users: Sequence[str], pairs: tuple[list[str], list[list[str]], list[str]],
           cfg: TowerConfig, progress: bool) -> tuple[TriTower, TowerVocab, list[dict]]:
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    vocab = TowerVocab.build(catalog, users)
    model = TriTower(vocab, vocab.item_features(catalog), cfg)
    pair_users, pair_hist, pair_targets = pairs
    if not pair_targets:
        raise ValueError("tri-tower: no training pairs (every user has a single moment before their target)")
    user_ids = torch.tensor([vocab.users.get(u, 0) for u in pair_users])
    history = pad_histories(pair_hist, vocab, cfg.history_len)
    target_rows = torch.tensor(_rows(pair_targets, vocab))
    finest = len(vocab.categories)
    cat_of = model.item_features[:, finest] if finest else model.item_features[:, 0]  # finest category per row
    by_cat: dict[int, np.ndarray] = {}
    for row in range(1, len(cat_of)):
        by_cat.setdefault(int(cat_of[row]), []).append(row)  # type: ignore[arg-type]
    by_cat = {c: np.asarray(r) for c, r in by_cat.items()}
    tags = [item_tag_texts(it) for it in catalog]  # per catalogue row - 1
    optimiser = torch.optim.Adam(model.parameters(), lr=cfg.learning_rate)
    history_log = []
    for epoch in range(cfg.epochs):
        order = torch.from_numpy(rng.permutation(len(target_rows)))
        totals = {"col": 0.0, "tag": 0.0, "cate": 0.0}
        steps = 0
        for start in range(0, len(order) - 1, cfg.batch_size):
            idx = order[start: start + cfg.batch_size]
            if len(idx) < 2:
                continue
            rows = target_rows[idx]  # [B]
            uid = user_ids[idx].masked_fill(torch.rand(len(idx)) < cfg.id_dropout, 0)
            h_v = model.items(rows)
            same_item = rows[:, None] == rows[None, :]
            loss_col = info_nce(model.users(uid, history[idx]), h_v, same_item, cfg.temperature)
            loss = loss_col
            totals["col"] += loss_col.item()
            if cfg.semantic:
                texts = [tags[r - 1][rng.integers(len(tags[r - 1]))] if tags[r - 1] else "" for r in rows.tolist()]
                h_t = model.tags(vocab.encode_tags(texts, cfg.max_tag_words))
                loss_tag = info_nce(h_t, h_v, same_item, cfg.temperature)
                cats = cat_of[rows]
                positives = torch.tensor([int(rng.choice(by_cat[int(c)])) for c in cats])
                loss_cate = info_nce(h_t, model.items(positives), cats[:, None] == cats[None, :], cfg.temperature)
                loss = loss + cfg.alpha * loss_tag + (1 - cfg.alpha) * loss_cate
                totals["tag"] += loss_tag.item()
                totals["cate"] += loss_cate.item()
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            steps += 1
        history_log.append({"epoch": epoch + 1, **{k: v / max(steps, 1) for k, v in totals.items()}})
        if progress:
            log.info("towers epoch %d: %s", epoch + 1, history_log[-1])
    model.eval()
    return model, vocab, history_log


def save_towers(model: TriTower, vocab: TowerVocab, folder: Path, extra: dict | None = None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), folder / "towers.pt")
    (folder / "vocab.json").write_text(json.dumps(vocab.to_json()))
    (folder / "towers.json").write_text(json.dumps({"config": asdict(model.cfg), **(extra or {})}, indent=1))


def load_towers(folder: str | Path, catalog: Catalog) -> tuple[TriTower, TowerVocab]:
    """The towers saved in ``folder`` by :func:`save_towers`, checked against ``catalog``."""
    folder = Path(folder)
    vocab = TowerVocab(**json.loads((folder / "vocab.json").read_text()))
    if list(vocab.items) != catalog.ids:
        raise ValueError(f"{folder}: the towers were trained on another catalogue ({len(vocab.items)} items, this one "
                         f"has {len(catalog)}); retrain them (delete the folder or change the config)")
    cfg = TowerConfig(**json.loads((folder / "towers.json").read_text())["config"])
    model = TriTower(vocab, vocab.item_features(catalog), cfg)
    model.load_state_dict(torch.load(folder / "towers.pt", weights_only=True))
    model.eval()
    return model, vocab
