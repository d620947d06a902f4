"""Every conf/simulator preset composes into a valid SimulatorConfig; bad values fail with the field named."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize_config_dir

from experiments.common import CONFIG_PATH, to_config
from rlrec.config import SimulatorConfig
from rlrec.simulator.features import target_counts

PRESETS = sorted(p.stem for p in (Path(CONFIG_PATH) / "simulator").glob("*.yaml"))


@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize("data", ["instacart", "movielens100k"])
def test_simulator_presets_compose(preset, data):
    with initialize_config_dir(config_dir=CONFIG_PATH, version_base="1.3"):
        cfg = compose("config", overrides=[f"simulator={preset}", f"data={data}"])
    config = to_config(cfg)
    assert isinstance(config.simulator, SimulatorConfig)
    assert config.simulator.hidden and config.simulator.num_clusters >= 2


def test_invalid_values_name_the_field():
    with pytest.raises(ValueError, match="holdout_fraction"):
        SimulatorConfig(holdout_fraction=1.0)
    with pytest.raises(ValueError, match="norm_quantiles"):
        SimulatorConfig(norm_quantiles=[0.9, 0.1])


def test_target_counts_ignore_padding_and_unknown_items():
    hist = np.array([[-1, 3, 3, 5], [7, 7, -1, -1]])  # row 7 = an item not in the catalogue (I = 7)
    counts = target_counts(hist, np.array([0, 0, 1, 1]), np.array([3, 5, 7, 2]), unknown_row=7)
    assert counts.tolist() == [2.0, 1.0, 0.0, 0.0]
