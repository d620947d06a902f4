"""What every Hydra entry point shares: the structured-config schema and the DictConfig → dataclass step.

Entry points do ``config, run_dir = setup(cfg)`` first thing; below that line nothing sees a DictConfig.
"""

from __future__ import annotations

import logging
import os
import random
from pathlib import Path

from hydra.core.config_store import ConfigStore
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

import rewards  # noqa: F401  (registers every reward's parameter schema, so reward typos fail at compose)
from rlrec.config import Config

CONFIG_PATH = str(Path(__file__).resolve().parent.parent / "conf")

ConfigStore.instance().store(name="rlrec_schema", node=Config)

log = logging.getLogger("rlrec")


def to_config(cfg: DictConfig) -> Config:
    """Convert a composed (schema-validated) Hydra config into the typed :class:`Config`."""
    return OmegaConf.to_object(cfg)  # type: ignore[return-value]


def setup(cfg: DictConfig) -> tuple[Config, Path]:
    """Typed config + the run directory; seeds Python/NumPy/torch from ``config.seed``."""
    import numpy as np
    import torch

    config = to_config(cfg)
    try:
        run_dir = Path(HydraConfig.get().runtime.output_dir)
    except ValueError:  # called outside @hydra.main (tests compose configs directly)
        run_dir = Path(os.getcwd())
    random.seed(config.seed)
    np.random.seed(config.seed)
    torch.manual_seed(config.seed)
    return config, run_dir
