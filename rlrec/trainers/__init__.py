"""RL trainers: TRL's GRPOTrainer with a reward-weighting strategy (fixed, POPO, POPO-light).

``WeightedGRPOTrainer`` (``rlrec.trainers.grpo``) is the one subclass; ``build_trainer`` / ``grpo_args``
(``rlrec.trainers.build``) turn the typed configs into it. Imports are lazy: importing TRL costs seconds.
"""

from typing import Any

__all__ = ["WeightedGRPOTrainer", "build_trainer", "grpo_args", "peft_config"]


def __getattr__(name: str) -> Any:
    if name == "WeightedGRPOTrainer":
        from rlrec.trainers.grpo import WeightedGRPOTrainer

        return WeightedGRPOTrainer
    if name in ("build_trainer", "grpo_args", "peft_config"):
        from rlrec.trainers import build

        return getattr(build, name)
    raise AttributeError(name)
