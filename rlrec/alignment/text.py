"""The text the alignment reward model and the novelty model read: one rendering, shared by every caller.

The reward model is trained on :func:`alignment_input` and must be scored on exactly the same rendering
(training, offline ranking, best-of-n and the ``alignment_score`` reward all call this function), because a
sequence-classification head reads the hidden state of the *last* token: a different suffix, a chat
template or an extra EOS token would move that token and silently change every score.

Format (plain text, no chat template, no special tokens; SmolLM2's tokenizer adds no BOS)::

    Recent interest clusters: <C_1> | <C_2>
    Next interest cluster: <C_n>

``<C_i>`` are cluster names, oldest first (``C_K`` is the most recent). The candidate may be a cluster name
(how the model is trained) or any short item text (e.g. an RL answer's ``Item title: …; Category L1: …``),
which is out of the training distribution and only as good as the model generalises.
"""

from __future__ import annotations

from collections.abc import Sequence

CONTEXT_PREFIX = "Recent interest clusters: "
CANDIDATE_PREFIX = "Next interest cluster: "
SEPARATOR = " | "

# Short on purpose: best-of-n samples n = m x k completions per prompt, and HF generation repeats the prompt's
# prefill for every sample. An explicit system turn also replaces SmolLM2's default system prompt.
NOVELTY_SYSTEM = "You plan novel interest clusters for a recommender."
NOVELTY_INSTRUCTION = (
    "Recent interest clusters: {context}\nSuggest one new interest cluster the user has not explored. "
    "Answer with its name only."
)


def _clean(name: str) -> str:
    # A newline or the separator inside a name would change the rendered structure the model learned.
    return " ".join(str(name).replace(SEPARATOR.strip(), "/").split())


def render_context(context_names: Sequence[str]) -> str:
    """``"A | B"`` — cluster names oldest first, whitespace normalised."""
    return SEPARATOR.join(_clean(n) for n in context_names)


def alignment_input(context_names: Sequence[str], candidate: str) -> str:
    """The reward model's input text for (user context, candidate next cluster). See the module docstring."""
    return f"{CONTEXT_PREFIX}{render_context(context_names)}\n{CANDIDATE_PREFIX}{_clean(candidate)}"


def novelty_prompt(context_names: Sequence[str]) -> list[dict[str, str]]:
    """The novelty model's prompt as chat messages (TRL applies the chat template)."""
    return [
        {"role": "system", "content": NOVELTY_SYSTEM},
        {"role": "user", "content": NOVELTY_INSTRUCTION.format(context=render_context(context_names))},
    ]
