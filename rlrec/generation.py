"""Batched chat generation with a local Hugging Face causal LM (CPU or GPU).

TRL trainers generate on their own (incl. vLLM); this is for everything else: the pipeline's smoke
check, the local teacher, evaluation and best-of-n.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from tqdm.auto import tqdm

Messages = list[dict[str, str]]


@dataclass
class GenerationConfig:
    max_new_tokens: int = 160
    temperature: float = 0.7  # 0 → greedy
    top_p: float = 0.95
    num_return_sequences: int = 1
    batch_size: int = 8


def to_messages(prompt: str | Messages) -> Messages:
    """A plain-text prompt becomes one user turn; chat messages pass through."""
    return [{"role": "user", "content": prompt}] if isinstance(prompt, str) else list(prompt)


def render_prompts(tokenizer: Any, prompts: Sequence[str | Messages]) -> list[str]:
    """Apply the tokenizer's chat template (with the generation prompt) to each prompt."""
    return [
        tokenizer.apply_chat_template(to_messages(p), tokenize=False, add_generation_prompt=True) for p in prompts
    ]


@torch.no_grad()
def generate(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[str | Messages],
    config: GenerationConfig | None = None,
    progress: bool = True,
) -> list[list[str]]:
    """Completions for each prompt: ``result[i]`` holds ``num_return_sequences`` strings for ``prompts[i]``.

    Prompts are left-padded in batches of ``config.batch_size``; special tokens are stripped.
    """
    config = config or GenerationConfig()
    texts = render_prompts(tokenizer, prompts)
    padding_side = tokenizer.padding_side
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    device = next(model.parameters()).device
    sample = config.temperature > 0
    out: list[list[str]] = []
    try:
        for start in tqdm(range(0, len(texts), config.batch_size), desc="generate", disable=not progress):
            batch = tokenizer(
                texts[start : start + config.batch_size], return_tensors="pt", padding=True, add_special_tokens=False
            ).to(device)
            generated = model.generate(
                **batch,
                max_new_tokens=config.max_new_tokens,
                do_sample=sample,
                temperature=config.temperature if sample else None,
                top_p=config.top_p if sample else None,
                top_k=None,
                num_return_sequences=config.num_return_sequences,
                pad_token_id=tokenizer.pad_token_id,
            )
            new_tokens = generated[:, batch["input_ids"].shape[1] :]
            decoded = tokenizer.batch_decode(new_tokens, skip_special_tokens=True)
            n = config.num_return_sequences
            out += [decoded[i : i + n] for i in range(0, len(decoded), n)]
    finally:
        tokenizer.padding_side = padding_side
    return out
