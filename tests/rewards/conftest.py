"""Fixtures for reward tests (helpers live in reward_toys.py)."""

from __future__ import annotations

import pytest
import torch
from reward_toys import ITEMS

from rewards.core.resources import Resources, catalog_key
from rlrec.config import Config
from rlrec.data.schema import Catalog


@pytest.fixture()
def catalog() -> Catalog:
    return Catalog(ITEMS)


@pytest.fixture()
def config() -> Config:
    return Config()


@pytest.fixture()
def resources(config, catalog) -> Resources:
    """Resources with the toy catalogue; no embedder (tests that need one provide it)."""
    return Resources(config).provide(catalog_key(config), catalog)


@pytest.fixture(scope="session")
def tiny_rm_path(tiny_lm_path, tmp_path_factory):
    """The tiny Llama with a 1-output head, whose head is trained for a few steps to prefer "Fresh Fruits" over
    "Chips" (the backbone stays frozen: seconds on CPU)."""
    from rlrec.alignment.reward_model import encode, load_reward_model, pad_batch, save_reward_model
    from rlrec.alignment.text import alignment_input

    torch.manual_seed(0)
    model, tokenizer = load_reward_model(str(tiny_lm_path))
    texts = [alignment_input(["Whole", "Tropical"], "Fresh Fruits"), alignment_input(["Greek"], "Fresh Fruits"),
             alignment_input(["Whole", "Tropical"], "Chips"), alignment_input(["Greek"], "Chips")]
    labels = torch.tensor([1.0, 1.0, 0.0, 0.0])
    batch = pad_batch(encode(tokenizer, texts), tokenizer.pad_token_id)
    with torch.no_grad():
        out = model.model(**batch)  # frozen backbone: compute the features once
    last = batch["attention_mask"].sum(1) - 1  # right padding: the last real token, where the head reads
    features = out.last_hidden_state[torch.arange(len(texts)), last]  # [4, H]
    optimizer = torch.optim.Adam(model.score.parameters(), lr=3e-2)
    for _ in range(50):
        logits = model.score(features).squeeze(-1)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    path = tmp_path_factory.mktemp("tiny-rm")
    save_reward_model(model, tokenizer, path)
    return path
