"""The testbed task's pieces: a 5-token tokenizer, a seeded tiny Llama, the two rewards, and policy sampling.

Vocabulary ``<pad> <eos> q a b``; every prompt is ``q``. A completion is up to T tokens; its share of ``a`` is
``x = (number of a tokens) / T`` (``b``, or stopping early, count as not-``a``), so ``x`` takes the T + 1
values of the front's grid (:mod:`rlrec.testbed.front`). Everything is built locally from a seed: no download.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch

from rlrec.testbed.config import TaskConfig

__all__ = ["VOCAB", "PROMPT", "REWARD_NAMES", "build_tokenizer", "build_policy", "a_counts", "make_rewards",
           "sample_completions", "expected_rewards"]

VOCAB = ["<pad>", "<eos>", "q", "a", "b"]
PROMPT = "q"
REWARD_NAMES = ("a_share", "a_thrift")


def build_tokenizer():
    """A word-level fast tokenizer over :data:`VOCAB` (pad 0, eos 1), decoding to space-separated tokens."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.WordLevel({t: i for i, t in enumerate(VOCAB)}, unk_token="<pad>"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(tokenizer_object=core, pad_token="<pad>", eos_token="<eos>", unk_token="<pad>")


def build_policy(folder: Path, task: TaskConfig, seed: int) -> Path:
    """Save a seeded tiny Llama (``task.layers`` x ``task.hidden``) and the tokenizer to ``folder``; returns it."""
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = build_tokenizer()
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(VOCAB), hidden_size=task.hidden, intermediate_size=2 * task.hidden,
        num_hidden_layers=task.layers, num_attention_heads=2, num_key_value_heads=1, head_dim=task.hidden // 2,
        max_position_embeddings=4 * (task.completion_tokens + 4), tie_word_embeddings=True,
        bos_token_id=None, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
    )
    model = LlamaForCausalLM(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def a_counts(completions: list[str]) -> list[int]:
    """Number of ``a`` tokens in each decoded completion."""
    return [str(c).split().count("a") for c in completions]


def make_rewards(task: TaskConfig) -> list[Callable[..., list[float]]]:
    """TRL reward callables ``a_share = s1·x`` and ``a_thrift = s2·(1 - x^p)``, named as :data:`REWARD_NAMES`."""
    s1, s2 = task.scales
    t, p = task.completion_tokens, task.exponent

    def a_share(completions, **kwargs) -> list[float]:
        return [s1 * n / t for n in a_counts(completions)]

    def a_thrift(completions, **kwargs) -> list[float]:
        return [s2 * (1.0 - (n / t) ** p) for n in a_counts(completions)]

    return [a_share, a_thrift]


@torch.no_grad()
def sample_completions(model, tokenizer, task: TaskConfig, temperature: float, seed: int) -> list[str]:
    """``task.eval_samples`` completions of the prompt, sampled as in training (temperature, top_p = 1)."""
    was_training = model.training
    model.eval()
    torch.manual_seed(seed)
    prompt = tokenizer([PROMPT] * task.eval_samples, return_tensors="pt").to(model.device)
    out = model.generate(**prompt, do_sample=True, temperature=temperature, top_p=1.0, top_k=0,
                         max_new_tokens=task.completion_tokens, pad_token_id=tokenizer.pad_token_id,
                         eos_token_id=tokenizer.eos_token_id)
    model.train(was_training)
    return tokenizer.batch_decode(out[:, prompt["input_ids"].shape[1]:], skip_special_tokens=True)


def expected_rewards(completions: list[str], task: TaskConfig) -> tuple[float, float]:
    """Monte-Carlo estimate of the policy's expected reward vector ``(E a_share, E a_thrift)``."""
    share, thrift = make_rewards(task)
    return (sum(share(completions)) / len(completions), sum(thrift(completions)) / len(completions))
