"""What every Hydra entry point shares: plugins and schemas before compose, the DictConfig → dataclass step.

Importing this module (every entry point does, before ``@hydra.main`` composes) imports the plugins named on
the command line (``plugins='[my_pkg.my_strategy]'``), in ``$RLREC_PLUGINS`` and by ``rlrec.plugins`` entry
points, then stores the structured-config schemas in Hydra's ConfigStore: the root :class:`Config`, every
reward's ``Params`` (``rewards`` stores those as it registers them) and every weighting strategy's ``Params``
as ``weighting_schema/<name>`` (``rlrec`` never imports Hydra, so it is done here). A typo in a plugin's
parameters then fails at compose time as it does for a built-in one.

Entry points do ``config, run_dir = setup(cfg)`` first thing; below that line nothing sees a DictConfig. Their
``main`` is wrapped in :func:`user_errors` (under ``@hydra.main``), so an error the user caused and can fix (a bad
data file) prints its message alone, not after Hydra's traceback through the stage machinery.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import logging
import os
import random
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from hydra.core.config_store import ConfigStore
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, ListConfig, OmegaConf

import rewards  # noqa: F401  (registers every reward's parameter schema, so reward typos fail at compose)
from rewards import REWARDS
from rewards.core.base import RewardError
from rlrec.assets import AssetError
from rlrec.config import Config, ConfigError
from rlrec.data import DataFormatError
from rlrec.openai_client import EndpointError
from rlrec.plugins import PluginError, load_plugins
from rlrec.registry import RegistryError
from rlrec.simulator.artifact import SimulatorArtifactError, SimulatorMismatchError
from rlrec.textio import TextEncodingError
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
    """Convert a composed (schema-validated) Hydra config into the typed :class:`Config`.

    Keys a schema does not declare raise here, naming the key and the known ones: Hydra lets an appending
    override (``+weighting.params.mux=1``, the fix its own "Could not override" message suggests) add a key to
    a structured node, and OmegaConf would then drop it silently when building the dataclass.
    """
    try:
        _reject_undeclared_keys(cfg, "")
        return OmegaConf.to_object(cfg)  # type: ignore[return-value]  (runs every group's __post_init__ checks)
    except ValueError as err:
        raise ConfigError(str(err)) from None


def check_registered(config: Config) -> None:
    """Every registry name in ``config`` exists (data loader, weighting strategy, rewards, generation and teacher
    backends, loggers), and the strategy's and each reward's ``params`` fit its ``Params`` (for plugins listed in
    a YAML file, whose schemas were not there at compose); else raises naming the key, with a "did you mean" and
    the known names. Run by :func:`setup` once ``config.plugins`` are imported, before the first stage."""
    import rlrec.logging.wandb_logger  # noqa: F401  (registers "wandb"; wandb itself is imported when used)
    from rlrec.data.loaders.base import DATA_LOADERS
    from rlrec.distill.teachers import TEACHERS
    from rlrec.eval.generate import BACKENDS
    from rlrec.logging.base import LOGGERS
    from rlrec.params import validate_params

    names = [(DATA_LOADERS, "data.name", config.data.name), (WEIGHTING_STRATEGIES, "weighting.name", config.weighting.name),
             (BACKENDS, "eval.backend", config.eval.backend), (TEACHERS, "distill.teacher.backend", config.distill.teacher.backend)]
    names += [(LOGGERS, "logger.backends", name) for name in config.logger.backends]
    names += [(REWARDS, f"reward.terms.{term_name}", term.reward or term_name) for term_name, term in config.reward.terms.items()]
    try:
        for registry, key, name in names:
            try:
                registry.entry(name)
            except RegistryError as err:
                raise ConfigError(f"{key}: {err}") from None
        validate_params(WEIGHTING_STRATEGIES.get(config.weighting.name).Params, config.weighting.params, where="weighting")
        for term_name, term in config.reward.terms.items():
            validate_params(REWARDS.get(term.reward or term_name).Params, term.params, where=f"reward {term_name!r}")
    except (ValueError, TypeError) as err:
        raise ConfigError(str(err)) from None


def _reject_undeclared_keys(node: DictConfig | ListConfig, path: str) -> None:
    if isinstance(node, ListConfig):
        for i in range(len(node)):
            child = node._get_node(i)
            if isinstance(child, (DictConfig, ListConfig)):
                _reject_undeclared_keys(child, f"{path.rstrip('.')}[{i}].")
        return
    schema = OmegaConf.get_type(node)
    if dataclasses.is_dataclass(schema):
        known = [f.name for f in dataclasses.fields(schema)]
        for key in node.keys():
            if key not in known:
                close = difflib.get_close_matches(str(key), known, n=1)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                raise ValueError(
                    f"config key {path}{key!s} is not a field of {schema.__qualname__}.{hint} "
                    f"Known keys under {path.rstrip('.') or 'the root'}: {', '.join(known) or 'none'}. Fix or remove the key."
                )
    for key in node.keys():
        child = node._get_node(key)
        if isinstance(child, (DictConfig, ListConfig)) and not child._is_missing() and not child._is_none():
            _reject_undeclared_keys(child, f"{path}{key}.")


# Errors whose message already names the thing and the fix: shown without a traceback, exit status 2.
# mistakes a user can make and fix (bad data, a missing or damaged model / artifact, an unreachable endpoint, a bad
# reward or plugin setting): their messages name the thing and the fix, so no traceback is printed before them
USER_ERRORS: tuple[type[BaseException], ...] = (DataFormatError, AssetError, TextEncodingError, SimulatorArtifactError,
                                                SimulatorMismatchError, EndpointError, RewardError, PluginError)
USER_ERRORS += (ConfigError,)  # a config value (rlrec.config): every group's checks, registry names, unknown keys


def user_errors(main: Callable[[DictConfig], Any]) -> Callable[[DictConfig], Any]:
    """``main`` with :data:`USER_ERRORS` turned into ``error: <message>`` on stderr and exit status 2 (Hydra
    catches every ``Exception`` and prints its traceback first; ``SystemExit`` passes through it).
    ``HYDRA_FULL_ERROR=1`` keeps the traceback."""

    @functools.wraps(main)  # Hydra unwraps __wrapped__ to find the entry point's module
    def wrapped(cfg: DictConfig) -> Any:
        try:
            return main(cfg)
        except USER_ERRORS as err:
            if os.environ.get("HYDRA_FULL_ERROR") == "1":  # debugging: the full traceback, as for any error
                raise
            print(f"error: {err}", file=sys.stderr, flush=True)
            raise SystemExit(2) from None

    return wrapped


def setup(cfg: DictConfig) -> tuple[Config, Path]:
    """Typed config + the run directory; imports ``config.plugins``; seeds Python/NumPy/torch from ``config.seed``."""
    import numpy as np
    import torch

    config = to_config(cfg)
    load_plugins(config.plugins)  # plugins listed in a YAML file (their params checked when built, not at compose)
    check_registered(config)
    try:
        run_dir = Path(HydraConfig.get().runtime.output_dir)
    except ValueError:  # called outside @hydra.main (tests compose configs directly)
        run_dir = Path(os.getcwd())
    random.seed(config.seed)
    np.random.seed(config.seed)
    torch.manual_seed(config.seed)
    return config, run_dir


def entry_point(main: Callable[[Config, Path], Any]) -> Callable[[], Any]:
    """An entry point's ``main(config, run_dir)`` under ``@hydra.main`` (``conf/config.yaml``), :func:`user_errors`
    and :func:`setup`: the typed config and the run directory are all it sees. What ``main`` returns is the job's
    return value (a sweeper such as Optuna maximises it: the pipeline returns the run's hypervolume)."""
    import hydra

    @functools.wraps(main)  # Hydra unwraps __wrapped__ to find the entry point's module (job name, run dir)
    def task(cfg: DictConfig) -> Any:
        return main(*setup(cfg))

    return hydra.main(version_base="1.3", config_path=CONFIG_PATH, config_name="config")(user_errors(task))
