"""Perplexity of the true answer given [prompt, CoT] (Taiji Eq. 1), batched teacher forcing.

    PPL = exp(-(1/T) * sum_t log P(y_t | context, y_<t)),   y = the answer tokens only.

Sequences are left-padded so every answer span ends at the last position; the model then projects only
the last ``A + 1`` hidden states through the LM head (``logits_to_keep``), so scoring costs one forward
pass without the full ``[B, T, V]`` logits. Dims: B sequences, T tokens, A answer tokens (max in batch), V vocab.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from tqdm.auto import tqdm

log = logging.getLogger(__name__)


def token_logprobs(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """log P(target) per position: ``logits`` [B, A, V] (position i predicts ``targets[:, i]``), ``targets``
    [B, A] → [B, A] float32."""
    logprobs = torch.log_softmax(logits.float(), dim=-1)  # [B, A, V]
    return logprobs.gather(-1, targets.unsqueeze(-1)).squeeze(-1)  # [B, A]


def masked_ppl(logprobs: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Eq. 1 per row: ``exp(-sum(logprobs * mask) / sum(mask))``; ``logprobs``, ``mask`` [B, A] → [B].
    A row with an empty mask gets NaN (there is no answer to score)."""
    mask = mask.to(logprobs.dtype)
    nll = -(logprobs * mask).sum(-1) / mask.sum(-1)  # [B]; 0/0 → NaN
    return torch.exp(nll)


@dataclass
class ScoreStats:
    sequences: int = 0
    tokens: int = 0  # non-pad tokens run through the model
    answer_tokens: int = 0
    truncated: int = 0  # contexts cut from the left to fit max_length
    reused: int = 0  # scores read from the PPL store instead of computed (``score_ppl_cached``)


def left_pad_batch(
    contexts: Sequence[list[int]], answers: Sequence[list[int]], pad_id: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``input_ids``, ``attention_mask`` [B, T] (left-padded context + answer) and ``answer_mask`` [B, A]
    over the last A positions, A = longest answer."""
    seqs = [c + a for c, a in zip(contexts, answers)]
    T = max(len(s) for s in seqs)
    A = max(len(a) for a in answers)
    input_ids = torch.full((len(seqs), T), pad_id, dtype=torch.long)
    attention_mask = torch.zeros((len(seqs), T), dtype=torch.long)
    answer_mask = torch.zeros((len(seqs), A), dtype=torch.long)
    for b, (seq, answer) in enumerate(zip(seqs, answers)):
        input_ids[b, T - len(seq) :] = torch.tensor(seq)
        attention_mask[b, T - len(seq) :] = 1
        answer_mask[b, A - len(answer) :] = 1
    return input_ids, attention_mask, answer_mask


@torch.no_grad()
def score_ppl(
    model: Any,
    tokenizer: Any,
    contexts: Sequence[str],
    answers: Sequence[str],
    batch_size: int = 8,
    max_length: int | None = None,
    progress: bool = True,
    stats: ScoreStats | None = None,
) -> list[float]:
    """PPL of each ``answers[i]`` given ``contexts[i]`` (already chat-rendered text). Returns floats in input
    order. Contexts and answers are tokenized separately (no special tokens added), so the scored span is
    exactly the answer's tokens; with ``max_length`` the context loses tokens from the left."""
    stats = stats if stats is not None else ScoreStats()
    ctx_ids = tokenizer(list(contexts), add_special_tokens=False)["input_ids"]
    ans_ids = tokenizer(list(answers), add_special_tokens=False)["input_ids"]
    for i, (c, a) in enumerate(zip(ctx_ids, ans_ids)):
        if not a or not c:
            raise ValueError(f"pair {i}: context ({len(c)} tokens) and answer {answers[i]!r} ({len(a)} tokens) "
                             "must both be non-empty to score the answer")
        if max_length is not None and len(c) + len(a) > max_length:
            ctx_ids[i] = c[len(c) + len(a) - max_length :]
            stats.truncated += 1
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    device = next(model.parameters()).device
    # Longest first: similar lengths share a batch (less padding), and an OOM shows up on the first batch.
    order = sorted(range(len(contexts)), key=lambda i: -(len(ctx_ids[i]) + len(ans_ids[i])))
    out = [math.nan] * len(contexts)
    for start in tqdm(range(0, len(order), batch_size), desc="ppl", disable=not progress):
        idx = order[start : start + batch_size]
        input_ids, attention_mask, answer_mask = left_pad_batch([ctx_ids[i] for i in idx], [ans_ids[i] for i in idx], pad_id)
        ppl = ppl_forward(model, input_ids.to(device), attention_mask.to(device), answer_mask.to(device))
        for i, value in zip(idx, ppl.tolist()):
            out[i] = value
        stats.sequences += len(idx)
        stats.tokens += int(attention_mask.sum())
        stats.answer_tokens += int(answer_mask.sum())
    return out


def ppl_forward(model: Any, input_ids: torch.Tensor, attention_mask: torch.Tensor, answer_mask: torch.Tensor) -> torch.Tensor:
    """One teacher-forced pass: ``input_ids``, ``attention_mask`` [B, T] left-padded, ``answer_mask`` [B, A]
    marking answer tokens among the last A positions → PPL [B]."""
    A = answer_mask.shape[1]
    # Positions count from each row's first real token, as if it were unpadded.
    position_ids = (attention_mask.cumsum(-1) - 1).clamp(min=0)  # [B, T]
    logits = model(
        input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids, logits_to_keep=A + 1
    ).logits  # [B, A+1, V]: positions T-A-1 .. T-1
    targets = input_ids[:, -A:]  # [B, A]
    return masked_ppl(token_logprobs(logits[:, :-1], targets), answer_mask)  # logits[:, j] predicts targets[:, j]


PPL_KEY_FIELDS = ("scorer", "dtype", "max_length", "pair")


def pair_digest(context: str, answer: str) -> str:
    """sha256 of one (context, answer) pair: the PPL store's key for the scored text."""
    return hashlib.sha256(f"{context}\x00{answer}".encode()).hexdigest()


def score_ppl_cached(
    store: Any,
    model: Any,
    tokenizer: Any,
    contexts: Sequence[str],
    answers: Sequence[str],
    batch_size: int = 8,
    max_length: int | None = None,
    progress: bool = True,
    stats: ScoreStats | None = None,
) -> list[float]:
    """:func:`score_ppl`, reading the pairs already scored by this scorer (name, dtype, ``max_length``) from
    ``store`` (a :class:`~rlrec.distill.store.JsonlStore` over :data:`PPL_KEY_FIELDS`) and appending the rest.

    A changed screen or a new seed then re-scores nothing it has seen. A reused score may differ from a fresh
    one in the last float bits (another batch, another padding), never more.
    """
    stats = stats if stats is not None else ScoreStats()
    param = next(model.parameters())
    scorer = str(getattr(model, "name_or_path", "") or type(model).__name__)
    head = (scorer, str(param.dtype), max_length)
    keys = [(*head, pair_digest(c, a)) for c, a in zip(contexts, answers)]
    out: list[float] = [math.nan] * len(keys)
    todo = []
    for i, key in enumerate(keys):
        record = store.get(key)
        if record is None:
            todo.append(i)
        else:
            out[i] = float(record["ppl"]) if record["ppl"] is not None else math.nan
    stats.reused += len(keys) - len(todo)
    if todo:
        values = score_ppl(model, tokenizer, [contexts[i] for i in todo], [answers[i] for i in todo], batch_size,
                           max_length, progress, stats)
        for i, value in zip(todo, values):
            out[i] = value
            store.append(dict(zip(PPL_KEY_FIELDS, keys[i]), ppl=value if math.isfinite(value) else None))
    return out
