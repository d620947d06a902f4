"""What every Hydra entry point shares: plugins and schemas before compose, the DictConfig → dataclass step.

Importing this module (every entry point does, before ``@hydra.main`` composes) imports the plugins named on
the command line (``plugins='[my_pkg.my_strategy]'``), in ``$RLREC_PLUGINS`` and by ``rlrec.plugins`` entry
points, then stores the structured-config schemas in Hydra's ConfigStore: the root :class:`Config`, every
reward's ``Params`` (``rewards`` stores those as it registers them) and every weighting strategy's ``Params``
as ``weighting_schema/<name>`` (``rlrec`` never imports Hydra, so it is done here). A typo in a plugin's
parameters then fails at compose time as it does for a built-in one.

Entry points do ``config, run_dir = setup(cfg)`` first thing; below that line nothing sees a DictConfig.
"""

from __future__ import annotations

import logging
import os
import random
import sys
from collections.abc import Sequence
from pathlib import Path

from hydra.core.config_store import ConfigStore
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

import rewards  # noqa: F401  (registers every reward's parameter schema, so reward typos fail at compose)
from rlrec.config import Config
from rlrec.plugins import load_plugins
from rlrec.weighting import WEIGHTING_STRATEGIES

CONFIG_PATH = str(Path(__file__).resolve().parent.parent / "conf")
WEIGHTING_SCHEMA_GROUP = "weighting_schema"  # conf/weighting/<name>.yaml: optional /weighting_schema@params: <name>

log = logging.getLogger("rlrec")


def store_schemas() -> None:
    """Store the root schema and every registered strategy's ``Params`` in the ConfigStore (idempotent)."""
    store = ConfigStore.instance()
    store.store(name="rlrec_schema", node=Config)
    for name in WEIGHTING_STRATEGIES:
        store.store(group=WEIGHTING_SCHEMA_GROUP, name=name, node=WEIGHTING_STRATEGIES.get(name).Params)


def plugins_from_overrides(overrides: Sequence[str]) -> list[str]:
    """Module names given by ``plugins=…`` / ``+plugins=…`` / ``++plugins=…`` among Hydra command-line overrides."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    wanted = [o for o in overrides if o.lstrip("+").split("=", 1)[0] == "plugins" and "=" in o]
    names: list[str] = []
    for override in OverridesParser.create().parse_overrides(wanted):
        value = override.value()
        names += [str(v) for v in value] if isinstance(value, list) else [str(value)]
    return names


def load_plugins_for_compose(overrides: Sequence[str] | None = None) -> list[str]:
    """Import the plugins of ``overrides`` (default: ``sys.argv``), ``$RLREC_PLUGINS`` and entry points; store schemas.

    Call it before composing a config with Hydra's compose API, with the overrides you will compose with.
    """
    modules = load_plugins(plugins_from_overrides(sys.argv[1:] if overrides is None else overrides))
    store_schemas()
    return modules


load_plugins_for_compose()  # at import: @hydra.main composes after the entry point's module (and this one) loads


def to_config(cfg: DictConfig) -> Config:
    """Convert a composed (schema-validated) Hydra config into the typed :class:`Config`."""
    return OmegaConf.to_object(cfg)  # type: ignore[return-value]


def setup(cfg: DictConfig) -> tuple[Config, Path]:
    """Typed config + the run directory; imports ``config.plugins``; seeds Python/NumPy/torch from ``config.seed``."""
    import numpy as np
    import torch

    config = to_config(cfg)
    load_plugins(config.plugins)  # plugins listed in a YAML file (checked when built, not at compose)
    try:
        run_dir = Path(HydraConfig.get().runtime.output_dir)
    except ValueError:  # called outside @hydra.main (tests compose configs directly)
        run_dir = Path(os.getcwd())
    random.seed(config.seed)
    np.random.seed(config.seed)
    torch.manual_seed(config.seed)
    return config, run_dir
