"""Known-front testbed (``rlrec.testbed``): one strategy, one seed, through the real GRPO trainer, in ~1 min on CPU.

    python -m experiments.testbed weighting=saw seed=1
    python -m experiments.testbed -m +sweep=testbed          # every strategy x 3 seeds, then summary.{json,md}

Config root: ``conf/testbed.yaml`` (``task``, ``rl``, ``weighting``). Each run writes ``testbed_result.json``; a
multirun with ``+sweep=testbed`` ends with :class:`SummaryCallback` writing the sweep's summary
(:func:`rlrec.testbed.report.summarize`), which can also be rerun: ``python -m rlrec.testbed.report <sweep dir>``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import hydra
from hydra.core.config_store import ConfigStore
from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from experiments.common import CONFIG_PATH, to_config, user_errors
from rlrec.plugins import load_plugins
from rlrec.testbed import TestbedConfig

ConfigStore.instance().store(name="testbed_schema", node=TestbedConfig)


def run(cfg: DictConfig) -> None:
    from rlrec.testbed.run import run_testbed

    config: TestbedConfig = to_config(cfg)  # type: ignore[assignment]  (typed TestbedConfig; checks every group)
    load_plugins(config.plugins)
    hydra_config = HydraConfig.get()
    label = hydra_config.runtime.choices.get("weighting") or config.weighting.name  # e.g. lu_gradient (a popo preset)
    run_testbed(config, Path(hydra_config.runtime.output_dir), label=label)


class SummaryCallback(Callback):
    """Hydra callback (``conf/sweep/testbed.yaml``): after the multirun, summarise every run of the sweep folder."""

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        from rlrec.testbed.report import summarize, write_summary

        folder = Path(config.hydra.sweep.dir)
        write_summary(summarize(folder), folder)


main = hydra.main(version_base="1.3", config_path=CONFIG_PATH, config_name="testbed")(user_errors(run))

if __name__ == "__main__":
    main()
