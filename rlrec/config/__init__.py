"""Typed run configuration: plain dataclasses, one per config group under ``conf/``.

The Hydra entry points (``experiments/``) register these as structured-config schemas, so a typo in a key
fails at compose time, and convert the composed config into a :class:`Config` once. Nothing below the
entry point sees a ``DictConfig``; this package imports neither Hydra nor OmegaConf.
One module per family of groups (``data``, ``training``, ``evaluation``, ``rl``); :class:`Config` is the root.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rlrec.config.base import (  # noqa: F401
    GRPO_LOSS_TYPES,
    LR_SCHEDULERS,
    REWARD_AGGREGATIONS,
    REWARD_SCALES,
    VLLM_MODES,
    ConfigError,
    check_choice,
    check_positive,
)
from rlrec.config.data import (  # noqa: F401
    DataConfig,
    ModelConfig,
    SplitConfig,
)
from rlrec.config.enhance import ENHANCE_POLICIES, EnhanceConfig  # noqa: F401
from rlrec.config.evaluation import (  # noqa: F401
    AlignmentConfig,
    BestOfNConfig,
    EvalConfig,
    LoggerConfig,
    NoveltyConfig,
    RewardModelConfig,
)
from rlrec.config.rl import (  # noqa: F401
    RewardConfig,
    RewardTermConfig,
    RLConfig,
    SimulatorConfig,
    WeightingConfig,
)
from rlrec.config.task import TaskConfig, TowerConfig  # noqa: F401
from rlrec.config.training import (  # noqa: F401
    DistillConfig,
    LoraConfig,
    PPLFilterConfig,
    SFTConfig,
    TeacherConfig,
)

# ---------------------------------------------------------------------------------------------- root


@dataclass
class Config:
    """Root config. Each field mirrors one config group (``conf/<group>/*.yaml``)."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    distill: DistillConfig = field(default_factory=DistillConfig)
    sft: SFTConfig = field(default_factory=SFTConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    logger: LoggerConfig = field(default_factory=LoggerConfig)
    alignment: AlignmentConfig = field(default_factory=AlignmentConfig)
    simulator: SimulatorConfig = field(default_factory=SimulatorConfig)
    reward: RewardConfig = field(default_factory=RewardConfig)
    rl: RLConfig = field(default_factory=RLConfig)
    weighting: WeightingConfig = field(default_factory=WeightingConfig)
    enhance: EnhanceConfig = field(default_factory=EnhanceConfig)  # Taiji Stage 4 (experiments/enhance.py)
    task: TaskConfig = field(default_factory=TaskConfig)  # next_item (Taiji) or a RecGPT task (rlrec/config/task.py)
    # Modules outside rlrec that register rewards / weighting strategies (rlrec.plugins), e.g.
    # [my_pkg.my_reward]; their YAML goes on Hydra's searchpath (hydra.searchpath=[file:///…/conf]).
    # Given on the command line (or in $RLREC_PLUGINS) they are imported before compose, so their params are
    # checked then; listed in a YAML file they are imported after compose and checked when built.
    plugins: list[str] = field(default_factory=list)
    experiment_name: str = "default"
    seed: int = 0
    artifacts_dir: str = "artifacts"  # stage outputs keyed by config hash (reruns resume)

    def __post_init__(self) -> None:
        # Checks across groups; each group checks itself in its own __post_init__. All run when the entry point
        # converts the composed config, before the first stage.
        weights, terms = self.weighting.initial_weights, self.reward.terms
        if weights is not None:
            if terms and len(weights) != len(terms):
                raise ValueError(
                    f"weighting.initial_weights has {len(weights)} values for {len(terms)} rewards "
                    f"({', '.join(terms)}); give one weight per reward, in that order, or null to use the reward set's"
                )
            if min(weights, default=0.0) < 0 or not sum(weights) > 0:
                raise ValueError(f"weighting.initial_weights must be >= 0 with a positive sum, got {list(weights)}")


__all__ = ['AlignmentConfig', 'BestOfNConfig', 'Config', 'ConfigError', 'DataConfig', 'DistillConfig', 'ENHANCE_POLICIES', 'EnhanceConfig', 'EvalConfig', 'GRPO_LOSS_TYPES', 'LR_SCHEDULERS', 'LoggerConfig', 'LoraConfig', 'ModelConfig', 'NoveltyConfig', 'PPLFilterConfig', 'REWARD_AGGREGATIONS', 'REWARD_SCALES', 'RLConfig', 'RewardConfig', 'RewardModelConfig', 'RewardTermConfig', 'SFTConfig', 'SimulatorConfig', 'SplitConfig', 'TaskConfig', 'TeacherConfig', 'TowerConfig', 'VLLM_MODES', 'WeightingConfig', 'check_choice', 'check_positive']
