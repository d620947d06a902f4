"""Hand-built examples for the distillation tests (no data loader involved)."""

from __future__ import annotations

import pytest

from rlrec.answer import format_answer
from rlrec.config import DistillConfig
from rlrec.data import Example

ITEMS = [
    ("Organic Bananas", ("Produce", "Fresh Fruits")),
    ("Whole Milk", ("Dairy Eggs", "Milk")),
    ("Sourdough Bread", ("Bakery", "Bread")),
    ("Baby Spinach", ("Produce", "Packaged Vegetables Fruits")),
    ("Greek Yogurt", ("Dairy Eggs", "Yogurt")),
]


def make_example(i: int, title: str, categories: tuple[str, ...]) -> Example:
    history = "\n".join(f"- Item title: Item {j}; Category L1: Aisle {j % 3}" for j in range(i + 2))
    return Example(
        example_id=f"u{i}#7",
        user_id=f"u{i}",
        prompt=f"You are a grocery analyst. Predict the next product.\nUser profile: user {i}\nHistory:\n{history}",
        target_item_id=f"item-{i}",
        target_title=title,
        target_categories=categories,
        target_text=format_answer(title, categories),
        history_item_ids=[f"item-h{j}" for j in range(i + 2)],
        target_time=float(100 + i),
    )


@pytest.fixture()
def examples() -> list[Example]:
    return [make_example(i, title, cats) for i, (title, cats) in enumerate(ITEMS)]


@pytest.fixture()
def distill_config(tmp_path) -> DistillConfig:
    return DistillConfig(num_candidates=3, min_cot_chars=10, store=str(tmp_path / "store" / "candidates.jsonl"))
