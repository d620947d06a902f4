"""rlrec.fused_head: on CPU, TRL's fused LM head projects only the labelled positions, with the same loss and
gradients as its every-position path."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture()
def restore_trl():
    import trl.trainer.utils as trl_utils

    original = trl_utils._use_triton
    trl_utils._use_triton = getattr(original, "__wrapped__", original)  # an earlier test in this worker patched it
    yield trl_utils
    trl_utils._use_triton = original


def _loss_grads_rows(trl_utils, tiny_lm_path, monkeypatch):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_lm_path)
    trl_utils.add_fused_lm_head(model, outputs=("log_probs", "entropy", "is_top1"))
    rows = []
    apply = trl_utils._ChunkedLogProbFunction.apply

    def counting(hidden, *args):
        rows.append(hidden.shape[0])
        return apply(hidden, *args)

    monkeypatch.setattr(trl_utils._ChunkedLogProbFunction, "apply", counting)
    torch.manual_seed(0)
    ids = torch.randint(0, 1000, (3, 40))
    labels = ids.clone()
    labels[:, :30] = -100  # a 30-token "prompt"
    labels[2, 30:35] = -100  # and a row with fewer labelled tokens
    out = model(input_ids=ids, attention_mask=torch.ones_like(ids), labels=labels, fused_lm_head=True)
    out.loss.backward()
    grads = [p.grad.clone() for p in model.parameters() if p.grad is not None]
    monkeypatch.setattr(trl_utils._ChunkedLogProbFunction, "apply", apply)
    return out, grads, rows


def test_cpu_takes_the_compact_path_with_identical_loss_and_gradients(restore_trl, tiny_lm_path, monkeypatch):
    from rlrec.fused_head import score_labelled_positions_only

    full, full_grads, full_rows = _loss_grads_rows(restore_trl, tiny_lm_path, monkeypatch)
    score_labelled_positions_only()
    score_labelled_positions_only()  # idempotent: one wrapper, not two
    assert getattr(restore_trl._use_triton, "_rlrec_compact_on_cpu", False)
    compact, compact_grads, compact_rows = _loss_grads_rows(restore_trl, tiny_lm_path, monkeypatch)

    labelled = 3 * 10 - 5  # next-token labels after shifting: positions 29..38 of each row, minus row 2's five
    assert full_rows == [3 * 39] and compact_rows == [labelled]
    torch.testing.assert_close(compact.loss, full.loss)
    torch.testing.assert_close(compact.log_probs, full.log_probs)
    torch.testing.assert_close(compact.entropy, full.entropy)
    assert len(compact_grads) == len(full_grads)
    for a, b in zip(compact_grads, full_grads):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_other_devices_keep_trl_s_choice(restore_trl):
    from rlrec.fused_head import score_labelled_positions_only

    before = restore_trl._use_triton(torch.device("meta"))
    score_labelled_positions_only()
    assert restore_trl._use_triton(torch.device("meta")) == before
