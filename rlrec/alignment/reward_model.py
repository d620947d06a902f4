"""The alignment reward model: any causal-LM backbone with a scalar head (``AutoModelForSequenceClassification``,
``num_labels=1``; PEFT LoRA optional), its scoring function, and how a saved checkpoint is loaded.

A checkpoint folder is a plain ``save_pretrained`` model + tokenizer (LoRA adapters are merged before saving),
so ``AutoModelForSequenceClassification.from_pretrained(folder)`` is all a consumer needs. Inputs are the
strings of :func:`rlrec.alignment.text.alignment_input`, tokenised by :func:`encode` (no special tokens,
right padding; the head reads the last non-pad token). The raw head output is the score; the pointwise mode
is trained so that ``sigmoid(score)`` estimates the normalised engagement.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rlrec.alignment.text import alignment_input
from rlrec.assets import resolve_model_path
from rlrec.config import RewardModelConfig
from rlrec.lora import wrap_lora

log = logging.getLogger(__name__)


def load_reward_model(
    name_or_path: str, config: RewardModelConfig | None = None, dtype: str = "float32"
) -> tuple[Any, Any]:
    """(model, tokenizer): a sequence-classification model with one output on ``name_or_path``.

    A causal-LM checkpoint gets a freshly initialised ``score`` head (TRL's loading, with its expected-key
    warnings silenced); a saved reward model loads as is. With ``config.lora`` the backbone is wrapped in a
    LoRA adapter whose ``score`` head is fully trained (``modules_to_save``).
    """
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from trl.trainer.reward_trainer import suppress_seqcls_warning

    path = resolve_model_path(name_or_path)
    tokenizer = AutoTokenizer.from_pretrained(path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    with suppress_seqcls_warning():
        model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=1, dtype=getattr(torch, dtype))
    # The head pools the last non-pad token, so the model must know the pad id.
    model.config.get_text_config().pad_token_id = tokenizer.pad_token_id
    model.config.pad_token_id = tokenizer.pad_token_id
    if config is not None and config.train_layers is not None:
        freeze_below_top(model, config.train_layers)
    if config is not None:
        # the head is new: train it fully, not through a low-rank update
        model = wrap_lora(model, config.lora, task_type="SEQ_CLS", modules_to_save=["score"])
    return model, tokenizer


def freeze_below_top(model: Any, n: int) -> int:
    """Train only the top ``n`` transformer blocks, the final norm and the score head; freeze the rest
    (embeddings included). Backward then stops at the lowest trainable block, which is what makes a
    135M-parameter reward model trainable on a few CPU cores. Returns the number of trainable parameters."""
    base = model.base_model
    blocks = next((getattr(base, name) for name in ("layers", "h", "blocks") if hasattr(base, name)), None)
    if blocks is None:
        raise ValueError(
            f"alignment.reward_model.train_layers={n}: cannot find the transformer blocks of {type(base).__name__} "
            "(no .layers / .h / .blocks); set train_layers=null to train the whole backbone"
        )
    if not 0 <= n <= len(blocks):
        raise ValueError(f"alignment.reward_model.train_layers={n}, but the backbone has {len(blocks)} blocks")
    for param in model.parameters():
        param.requires_grad = False
    trainable = [*list(blocks)[len(blocks) - n :], getattr(base, "norm", None), getattr(model, "score", None)]
    for module in trainable:
        if module is not None:
            for param in module.parameters():
                param.requires_grad = True
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def encode(tokenizer: Any, texts: Sequence[str], max_length: int | None = None) -> list[list[int]]:
    """Token ids per text: no special tokens (the text is the whole input), truncated from the left so the
    candidate — the end of the text, where the head reads — always survives."""
    ids = tokenizer(list(texts), add_special_tokens=False)["input_ids"]
    if max_length is not None:
        ids = [row[-max_length:] for row in ids]
    return ids


def pad_batch(rows: Sequence[Sequence[int]], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-padded ``input_ids`` [B, T] and ``attention_mask`` [B, T]."""
    width = max(len(r) for r in rows)
    input_ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        input_ids[i, : len(r)] = torch.tensor(r, dtype=torch.long)
        mask[i, : len(r)] = 1
    return {"input_ids": input_ids, "attention_mask": mask}


@torch.no_grad()
def score_texts(
    model: Any, tokenizer: Any, texts: Sequence[str], batch_size: int = 32, max_length: int | None = None
) -> np.ndarray:
    """Raw scalar scores [N] of ``texts`` (apply a sigmoid for a probability-like reward)."""
    if not texts:
        return np.zeros(0, dtype=np.float32)
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    ids = encode(tokenizer, texts, max_length)
    out = []
    try:
        for start in range(0, len(ids), batch_size):
            batch = {k: v.to(device) for k, v in pad_batch(ids[start : start + batch_size], tokenizer.pad_token_id).items()}
            out.append(model(**batch, use_cache=False).logits.squeeze(-1).float().cpu())  # [b]
    finally:
        model.train(was_training)
    return torch.cat(out).numpy()


def score(
    model: Any, tokenizer: Any, contexts: Sequence[Sequence[str]], candidates: Sequence[str], batch_size: int = 32
) -> np.ndarray:
    """Raw scores [N] of (context cluster names, candidate) pairs, rendered by :func:`alignment_input`."""
    if len(contexts) != len(candidates):
        raise ValueError(f"{len(contexts)} contexts for {len(candidates)} candidates")
    return score_texts(model, tokenizer, [alignment_input(c, x) for c, x in zip(contexts, candidates)], batch_size)


def save_reward_model(model: Any, tokenizer: Any, folder: str | Path) -> Path:
    """Save a loadable ``AutoModelForSequenceClassification`` folder; a LoRA model is merged into a copy first
    (the training model keeps its adapter)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    to_save = model
    if hasattr(model, "merge_and_unload"):
        to_save = copy.deepcopy(model).merge_and_unload()
    to_save.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    return folder
