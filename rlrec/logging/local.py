"""The local run dir, always written, so analysis works without W&B.

Files: ``config.yaml`` (the resolved run config), ``metrics.jsonl`` (one ``{"step": …, <name>: value}``
line per ``log`` call, flushed immediately, appended on resume), ``summary.json`` (merged summary,
rewritten atomically), ``reward_metadata.json`` (reward name → metadata, when given).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from rlrec.config import LoggerConfig
from rlrec.logging.base import LOGGERS, merge_summary, plain

__all__ = ["LocalRunLogger", "CONFIG_FILE", "METRICS_FILE", "SUMMARY_FILE", "REWARD_METADATA_FILE"]

CONFIG_FILE = "config.yaml"
METRICS_FILE = "metrics.jsonl"
SUMMARY_FILE = "summary.json"
REWARD_METADATA_FILE = "reward_metadata.json"


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


class LocalRunLogger:
    def __init__(
        self,
        run_dir: str | Path,
        config: Mapping[str, Any] | None = None,
        reward_metadata: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        self.run_dir = Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if config is not None:
            _atomic_write(self.run_dir / CONFIG_FILE, yaml.safe_dump(plain(config), sort_keys=False))
        summary_path = self.run_dir / SUMMARY_FILE
        self._summary: dict[str, Any] = json.loads(summary_path.read_text()) if summary_path.exists() else {}
        if reward_metadata:
            _atomic_write(self.run_dir / REWARD_METADATA_FILE, json.dumps(plain(reward_metadata), indent=1))
            directions = {k: bool(m["higher_is_better"]) for k, m in reward_metadata.items() if "higher_is_better" in m}
            self.summary({"higher_is_better": directions})
        self._metrics = (self.run_dir / METRICS_FILE).open("a")

    def log(self, metrics: Mapping[str, Any], step: int) -> None:
        self._metrics.write(json.dumps({"step": int(step), **plain(metrics)}) + "\n")
        self._metrics.flush()

    def summary(self, values: Mapping[str, Any]) -> None:
        merge_summary(self._summary, values)
        _atomic_write(self.run_dir / SUMMARY_FILE, json.dumps(self._summary, indent=1, sort_keys=True))

    def close(self) -> None:
        if not self._metrics.closed:
            self._metrics.close()


@LOGGERS.register("local", description="config.yaml, metrics.jsonl, summary.json in the run dir")
def _local(config: LoggerConfig, run_dir: Path, run_config: Mapping[str, Any], reward_metadata: Mapping[str, Any]):
    return LocalRunLogger(run_dir, run_config, reward_metadata)
