"""Every sweep preset under conf/sweep composes, and so does every parameter combination it sweeps."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf

from experiments.common import CONFIG_PATH, to_config

PRESETS = sorted(p.stem for p in (Path(CONFIG_PATH) / "sweep").glob("*.yaml"))


def _sweep_params(preset: str) -> dict[str, list[str]]:
    """The preset's ``hydra.sweeper.params`` expanded into the override strings of each value."""
    with initialize_config_dir(config_dir=CONFIG_PATH, version_base="1.3"):
        cfg = compose("config", overrides=[f"+sweep={preset}"], return_hydra_config=True)
    params = OmegaConf.to_container(cfg.hydra.sweeper.params)
    parser = OverridesParser.create()
    expanded = {}
    for key, value in params.items():
        (override,) = parser.parse_overrides([f"{key}={value}"])
        values = list(override.sweep_string_iterator()) if override.is_sweep_override() else [override.value()]
        expanded[key] = [f"{key}={v}" for v in values]
    return expanded


def test_there_are_presets_for_every_ablation_axis():
    assert {"weighting_strategies", "fixed_weights", "rupr", "ppl_filter", "aggregation"} <= set(PRESETS)


@pytest.mark.parametrize("preset", PRESETS)
def test_every_combination_of_a_sweep_preset_composes_into_the_typed_config(preset):
    params = _sweep_params(preset)
    assert "seed" in params and len(params["seed"]) >= 3, "every preset repeats over seeds"
    combos = list(itertools.product(*params.values()))
    with initialize_config_dir(config_dir=CONFIG_PATH, version_base="1.3"):
        for combo in combos:
            cfg = compose("config", overrides=[f"+sweep={preset}", "experiment=quick", *combo])
            config = to_config(cfg)
            assert config.logger.group.startswith(f"quick_{preset}_")
            for override in combo:  # the swept value really landed in the typed config
                key, value = override.split("=", 1)
                got = OmegaConf.select(cfg, key)
                got = got if not OmegaConf.is_config(got) else OmegaConf.to_container(got)
                if key == "weighting":  # a preset file; its name may differ (lu_gradient is a popo preset)
                    assert config.weighting.name == OmegaConf.load(Path(CONFIG_PATH) / "weighting" / f"{value}.yaml").name
                else:
                    (parsed,) = OverridesParser.create().parse_overrides([override])
                    assert got == parsed.value(), override


def test_fixed_weight_grid_is_the_issue_grid():
    grid = _sweep_params("fixed_weights")["weighting.initial_weights"]
    assert grid == [f"weighting.initial_weights=[{w},{1 - w}]" for w in (0.0, 0.25, 0.5, 0.75, 1.0)]
