"""TRL's fused LM head scores only the labelled positions on CPU too.

TRL's fused head (``trl.trainer.utils.add_fused_lm_head``, used by ``SFTTrainer`` and ``GRPOTrainer``) projects
the hidden states through the LM head in tiles. On Triton devices it projects only the positions whose
next-token label is not ``-100``; everywhere else it projects every position and zeroes the ignored ones,
because on compiled accelerators (e.g. Neuron) a varying number of positions would recompile the tiles on
every batch. CPU runs eagerly and has no such cost, so scoring every position there is pure waste: in SFT and
GRPO the prompt (~85% of the tokens in the quick preset) carries no label, and the 49,152-word LM head with its
log-softmax, entropy and backward is a large share of the model's work per position. Measured on SmolLM2-135M,
4 x 620 tokens with 100 labelled per row, one forward + backward on 2 quiet CPU cores: 0.54x the time
(14.9 s vs 27.4 s, median of 5 rounds), identical loss (``experiments/benchmarks/fused_head_bench.py``,
``docs/results/fused_head_bench``).

:func:`score_labelled_positions_only` makes TRL take its compact path on CPU. The result is the same
(ignored positions are zero either way; ``tests/test_fused_head.py`` checks loss and gradients); only
the work differs.
"""

from __future__ import annotations

__all__ = ["score_labelled_positions_only"]

_PATCHED = "_rlrec_compact_on_cpu"


def score_labelled_positions_only() -> None:
    """Let TRL's fused LM head skip unlabelled positions on CPU (idempotent; other devices unchanged)."""
    import trl.trainer.utils as trl_utils

    original = trl_utils._use_triton  # decides, in add_fused_lm_head only, whether the compact path is taken
    if getattr(original, _PATCHED, False):
        return

    def compact(device) -> bool:
        return device.type == "cpu" or original(device)

    setattr(compact, _PATCHED, True)
    compact.__wrapped__ = original  # so a caller (the tests) can restore TRL's own choice
    trl_utils._use_triton = compact
