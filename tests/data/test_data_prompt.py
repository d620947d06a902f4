"""Prompt serialization: answer-format instruction, parse round trip, token budget (oldest lines first)."""

from __future__ import annotations

import random
import re

from rlrec.answer import parse_answer
from rlrec.config import DataConfig
from rlrec.data import build_examples
from rlrec.data.prompt import TokenCounter, answer_instruction, fit_prompt

from .toy import CATALOG, basket_log

LINE = re.compile(r"^\d+\. (?:\[[^\]]*\] )?(Item title: .*)$")


def history_of(prompt: str) -> list[str]:
    """The ``Item title: …`` part of every numbered history line of a prompt."""
    return [m.group(1) for line in prompt.splitlines() if (m := LINE.match(line))]


def long_log():
    items = "ABCDE"
    return basket_log([(day, [items[day % 5], items[(day + 2) % 5]]) for day in range(20)])


def test_prompt_blocks_and_answer_instruction():
    log = basket_log([(0, ["A", "B"]), (3, ["C"])])
    (example,), _ = build_examples(log, DataConfig(min_history=1, query="Predict.", prompt_token_budget=None),
                                   ["u"], TokenCounter())
    assert example.prompt.startswith("Query: Predict. Think step by step inside <think>…</think>")
    assert "Item title: …; Category L1: …; Category L2: …" in example.prompt
    assert "\n\nUser profile: " in example.prompt
    assert "Behavioral history (2 most recent interactions, most recent first):\n1. Item title: Bread;" in example.prompt
    assert example.target_text == "Item title: Cheddar; Category L1: dairy eggs; Category L2: packaged cheese"
    assert example.target_categories == ("dairy eggs", "packaged cheese")
    assert answer_instruction(1).endswith("written as: Item title: …; Category L1: …")


def test_history_lines_parse_back_with_the_answer_parser():
    (example,), _ = build_examples(long_log(), DataConfig(history_len=12, prompt_token_budget=None),
                                   ["u"], TokenCounter())
    lines = history_of(example.prompt)
    assert len(lines) == 12 == len(example.history_item_ids)
    for text, item_id in zip(lines, example.history_item_ids):
        parsed = parse_answer(text)
        assert (parsed.title, parsed.categories) == (CATALOG[item_id].title, CATALOG[item_id].categories)


def test_category_levels_limits_lines_and_target():
    (example,), _ = build_examples(long_log(), DataConfig(category_levels=1, prompt_token_budget=None),
                                   ["u"], TokenCounter())
    assert "Category L2" not in example.prompt
    assert example.target_categories == (CATALOG[example.target_item_id].categories[0],)
    assert all(parse_answer(line).categories == (CATALOG[i].categories[0],)
               for line, i in zip(history_of(example.prompt), example.history_item_ids))


def test_token_budget_drops_oldest_lines_and_is_maximal():
    counter = TokenCounter()  # chars/4
    log = long_log()
    (full,), _ = build_examples(log, DataConfig(history_len=30, prompt_token_budget=None), ["u"], counter)
    budget = full.prompt_tokens - 60
    (cut,), report = build_examples(log, DataConfig(history_len=30, prompt_token_budget=budget), ["u"], counter)
    kept = len(cut.history_item_ids)
    assert 0 < kept < len(full.history_item_ids)
    assert cut.history_item_ids == full.history_item_ids[:kept]  # the most recent ones survive
    assert history_of(cut.prompt) == history_of(full.prompt)[:kept]
    assert cut.prompt_tokens == counter(cut.prompt) <= budget
    assert cut.history_dropped == full.history_available - kept == report.lines_dropped
    assert report.examples_truncated == 1
    (one_more,), _ = build_examples(log, DataConfig(history_len=30, prompt_token_budget=counter(cut.prompt) - 1),
                                    ["u"], counter)
    assert len(one_more.history_item_ids) < kept


def test_fit_prompt_matches_linear_scan():
    rng = random.Random(0)
    for _ in range(200):
        n = rng.randint(0, 25)
        widths = [rng.randint(1, 30) for _ in range(n)]
        head = rng.randint(0, 40)
        budget = rng.randint(0, head + sum(widths) + 10)

        def render(k: int, head: int = head, widths: list[int] = widths) -> str:
            return "h" * head + "".join("x" * w for w in widths[:k])

        fitted = fit_prompt(render, n, budget, len)
        fits = [k for k in range(n + 1) if len(render(k)) <= budget]
        assert fitted.lines_kept == (max(fits) if fits else 0)
        assert fitted.over_budget == (not fits)


def test_chars_per_four_rule_and_tokenizer_counter(tokenizer):
    assert TokenCounter()("abcde") == 2 and TokenCounter()("") == 0
    real = TokenCounter(tokenizer)
    assert real("Item title: Banana") == len(tokenizer.encode("Item title: Banana", add_special_tokens=False))
    assert real.name.startswith("tokenizer:")
