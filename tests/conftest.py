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


@pytest.fixture(scope="session")
def tiny_embedder_path(tmp_path_factory) -> Path:
    """A 2-layer, 32-wide BERT sentence-transformers model with MiniLM's tokenizer and mean pooling, saved to a
    folder usable as ``model.embedder``. Sized for tests: it embeds the 14,190 logged Instacart items in seconds
    (MiniLM needs minutes on 2 cores cold), with the real tokenizer and the real encode path."""
    import torch
    from sentence_transformers import SentenceTransformer, models
    from transformers import AutoTokenizer, BertConfig, BertModel

    from rlrec.assets import embedder_dir

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(str(embedder_dir()))
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128)
    path = tmp_path_factory.mktemp("tiny-embedder")
    bert = path / "bert"
    BertModel(config).save_pretrained(bert)
    tokenizer.save_pretrained(bert)
    word = models.Transformer(str(bert), max_seq_length=64)
    model = SentenceTransformer(modules=[word, models.Pooling(word.get_embedding_dimension(), "mean")],
                                device="cpu")
    model.save(str(path / "st"))
    return path / "st"
