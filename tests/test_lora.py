"""``rlrec.lora``: the one LoRA builder behind the RL policy, SFT and the alignment reward model."""

from __future__ import annotations

from rlrec.config import LoraConfig
from rlrec.lora import peft_lora_config, wrap_lora
from rlrec.sft import lora_config
from rlrec.trainers.build import peft_config


def test_disabled_is_full_fine_tuning():
    assert peft_lora_config(LoraConfig(enabled=False)) is None
    assert peft_config(LoraConfig(enabled=False)) is None


def test_fields_map_onto_peft():
    config = peft_lora_config(LoraConfig(enabled=True, r=4, alpha=8, dropout=0.1, target_modules=["q_proj", "v_proj"]))
    assert (config.r, config.lora_alpha, config.lora_dropout) == (4, 8, 0.1)
    assert set(config.target_modules) == {"q_proj", "v_proj"} and config.task_type == "CAUSAL_LM"
    assert peft_lora_config(LoraConfig(enabled=True)).target_modules == "all-linear"


def test_policy_sft_and_reward_model_share_the_builder():
    from rlrec.config import SFTConfig

    lora = LoraConfig(enabled=True, r=2, alpha=4, target_modules=["q_proj"])
    assert peft_config(lora) == lora_config(SFTConfig(lora=lora)) == peft_lora_config(lora)
    head = peft_lora_config(lora, task_type="SEQ_CLS", modules_to_save=["score"])
    assert head.task_type == "SEQ_CLS" and set(head.modules_to_save) == {"score"}


def test_wrap_adds_trainable_adapters_only_when_enabled(tiny_lm):
    assert wrap_lora(tiny_lm, LoraConfig(enabled=False)) is tiny_lm
    wrapped = wrap_lora(tiny_lm, LoraConfig(enabled=True, r=2, alpha=4, target_modules=["q_proj"]))
    trainable = [name for name, p in wrapped.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in name for name in trainable)
    assert sum("q_proj.lora_A" in name for name in trainable) == tiny_lm.config.num_hidden_layers
