"""CoT teachers behind one interface, selected by name from :data:`TEACHERS` (``distill.teacher.backend``).

A teacher turns distillation prompts into completions and yields each one as soon as it is finished, so
the caller can store it at once (resumability loses at most what is in flight).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Protocol

from rlrec.config import TeacherConfig
from rlrec.registry import Registry

log = logging.getLogger(__name__)


class Teacher(Protocol):
    """``name`` goes into every candidate key; ``complete`` yields ``(index into prompts, completion)``."""

    name: str

    def complete(self, prompts: Sequence[str]) -> Iterator[tuple[int, str]]: ...

    def close(self) -> None: ...


TEACHERS: Registry[Callable[[TeacherConfig], Teacher]] = Registry("teacher backend")


def build_teacher(config: TeacherConfig) -> Teacher:
    """The teacher named by ``config.backend`` (hf | openai), built from ``config``."""
    return TEACHERS.get(config.backend)(config)


@TEACHERS.register("hf", description="local Hugging Face causal LM, batched sampling (CPU or GPU)")
class HFTeacher:
    """A local causal LM, sampled in batches of ``batch_size`` sequences.

    The k candidates of one example share their prompt: it is prefilled once and its KV cache copied k
    times (:func:`sample_shared_prefix`), which saves (k-1)/k of the prefill — the dominant cost on CPU.
    Each finished batch is yielded before the next one starts.
    """

    def __init__(self, config: TeacherConfig, model=None, tokenizer=None) -> None:
        import torch

        from rlrec.assets import load_causal_lm

        self.config = config
        self.name = f"hf:{config.model}"
        if model is None:
            device = config.device or ("cuda" if torch.cuda.is_available() else "cpu")
            model, tokenizer = load_causal_lm(config.model, dtype=config.dtype, device=device)
        self.model, self.tokenizer = model.eval(), tokenizer

    def complete(self, prompts: Sequence[str]) -> Iterator[tuple[int, str]]:
        for batch in _group_batches(prompts, self.config.batch_size):
            unique = [prompts[indices[0]] for indices in batch]
            outputs = sample_shared_prefix(
                self.model, self.tokenizer, unique, [len(indices) for indices in batch],
                self.config.max_new_tokens, self.config.temperature, self.config.top_p,
            )
            for indices, texts in zip(batch, outputs):
                yield from zip(indices, texts)

    def close(self) -> None:
        self.model = None


def _group_batches(prompts: Sequence[str], batch_size: int) -> list[list[list[int]]]:
    """Batches of groups of indices of equal consecutive prompts, at most ``batch_size`` indices per batch
    (a group larger than that is split)."""
    groups: list[list[int]] = []
    for i, prompt in enumerate(prompts):
        if groups and prompts[groups[-1][0]] == prompt and len(groups[-1]) < batch_size:
            groups[-1].append(i)
        else:
            groups.append([i])
    batches: list[list[list[int]]] = [[]]
    for group in groups:
        if sum(map(len, batches[-1])) + len(group) > batch_size:
            batches.append([])
        batches[-1].append(group)
    return [b for b in batches if b]


def sample_shared_prefix(model, tokenizer, prompts: Sequence[str], counts: Sequence[int], max_new_tokens: int,
                         temperature: float, top_p: float) -> list[list[str]]:
    """``counts[i]`` sampled completions of chat prompt ``prompts[i]``, prefilling each prompt once.

    The left-padded prompts minus their last token run through the model once; the KV cache rows are then
    repeated ``counts`` times and ``generate`` continues from the last prompt token. Positions follow
    ``generate``'s own rule (cumsum of the attention mask), so the result equals plain batched sampling.
    """
    import torch
    from transformers import DynamicCache

    from rlrec.generation import render_prompts

    padding_side = tokenizer.padding_side
    tokenizer.padding_side = "left"
    try:
        enc = tokenizer(render_prompts(tokenizer, prompts), return_tensors="pt", padding=True, add_special_tokens=False)
    finally:
        tokenizer.padding_side = padding_side
    device = next(model.parameters()).device
    ids, mask = enc["input_ids"].to(device), enc["attention_mask"].to(device)  # [P, T]
    positions = (mask.cumsum(-1) - 1).masked_fill(mask == 0, 0)  # [P, T]
    rows = torch.repeat_interleave(torch.arange(len(prompts), device=device), torch.tensor(list(counts), device=device))
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    sample = temperature > 0
    with torch.no_grad():
        cache = DynamicCache(config=model.config)
        model(input_ids=ids[:, :-1], attention_mask=mask[:, :-1], position_ids=positions[:, :-1],
              past_key_values=cache, use_cache=True, logits_to_keep=1)
        cache.batch_select_indices(rows)  # [P, …] → [sum(counts), …]
        out = model.generate(
            input_ids=ids[rows], attention_mask=mask[rows], past_key_values=cache,
            max_new_tokens=max_new_tokens, do_sample=sample, temperature=temperature if sample else None,
            top_p=top_p if sample else None, top_k=None, pad_token_id=pad,
        )
    texts = tokenizer.batch_decode(out[:, ids.shape[1]:], skip_special_tokens=True)
    result, start = [], 0
    for n in counts:
        result.append(texts[start : start + n])
        start += n
    return result


# The endpoint backend registers itself on import (kept in its own module: httpx, retries, threads).
from rlrec.distill import endpoint as _endpoint  # noqa: E402,F401
