"""Shared fixtures: the real SmolLM2 tokenizer and a tiny randomly initialised causal LM that uses it.

Trainer and distillation tests run on the tiny model in seconds; only `slow` tests load the real weights.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("WANDB_MODE", "disabled")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def smollm2_path() -> Path:
    """The embedded SmolLM2 as a plain fp32 folder (converted once into $RLREC_CACHE)."""
    from rlrec.assets import materialize_smollm2

    return materialize_smollm2()


@pytest.fixture(scope="session")
def tokenizer(smollm2_path):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(smollm2_path))
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok


@pytest.fixture(scope="session")
def tiny_lm_path(tmp_path_factory, tokenizer) -> Path:
    """A 2-layer, 64-wide Llama with SmolLM2's tokenizer and chat template, saved to a folder.

    A folder (not an object) so it can be passed wherever a model id/path is accepted (TRL trainers,
    configs). Weights are seeded, so tests are reproducible.
    """
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    model = LlamaForCausalLM(config)
    path = tmp_path_factory.mktemp("tiny-lm")
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture()
def tiny_lm(tiny_lm_path):
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(str(tiny_lm_path))
