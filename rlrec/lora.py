"""The one LoRA builder: :class:`rlrec.config.LoraConfig` → a PEFT ``LoraConfig`` (or a wrapped model).

Used by the RL policy (``rlrec.trainers.build``), ORFT SFT (``rlrec.sft``) and the alignment reward model
(``rlrec.alignment.reward_model``), so ``lora.*`` means the same thing in every stage.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rlrec.config import LoraConfig

__all__ = ["peft_lora_config", "wrap_lora"]


def peft_lora_config(lora: LoraConfig, task_type: str = "CAUSAL_LM", modules_to_save: Sequence[str] | None = None):
    """PEFT ``LoraConfig`` for ``lora`` (rank ``r``, scale ``alpha / r``, ``dropout``), or None when
    ``lora.enabled`` is false (full fine-tuning). ``target_modules: [all-linear]`` is PEFT's ``"all-linear"``.
    ``task_type``: ``CAUSAL_LM`` (policy, SFT) or ``SEQ_CLS`` (reward model); ``modules_to_save``: modules
    trained fully next to the adapter (a new ``score`` head)."""
    if not lora.enabled:
        return None
    from peft import LoraConfig as PeftLoraConfig

    targets = list(lora.target_modules)
    return PeftLoraConfig(
        r=lora.r,
        lora_alpha=lora.alpha,
        lora_dropout=lora.dropout,
        target_modules="all-linear" if targets == ["all-linear"] else targets,
        task_type=task_type,
        modules_to_save=list(modules_to_save) if modules_to_save else None,
    )


def wrap_lora(model: Any, lora: LoraConfig, task_type: str = "CAUSAL_LM", modules_to_save: Sequence[str] | None = None):
    """``model`` wrapped in a PEFT LoRA adapter per :func:`peft_lora_config`; ``model`` itself when disabled."""
    config = peft_lora_config(lora, task_type, modules_to_save)
    if config is None:
        return model
    from peft import get_peft_model

    return get_peft_model(model, config)
