"""Stage artifacts keyed by a hash of the config that produced them, so pipeline reruns resume.

``artifacts/<stage>/<hash>/`` holds a stage's outputs; a ``_COMPLETE`` marker (written last) says the stage
finished. A stage whose marker exists for the same config hash is skipped.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

MARKER = "_COMPLETE"


def config_hash(*parts: Any) -> str:
    """sha256 (12 hex chars) over the JSON of dataclasses / dicts / scalars, key-order independent."""

    def plain(obj: Any) -> Any:
        if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            return {f.name: plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
        if isinstance(obj, dict):
            return {str(k): plain(v) for k, v in obj.items()}
        if isinstance(obj, (list, tuple)):
            return [plain(v) for v in obj]
        if isinstance(obj, Path):
            return str(obj)
        return obj

    blob = json.dumps([plain(p) for p in parts], sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


@dataclasses.dataclass(frozen=True)
class StageDir:
    """Where one stage's artifacts live; ``done`` is True once :meth:`mark_done` ran."""

    stage: str
    path: Path

    @property
    def done(self) -> bool:
        return (self.path / MARKER).exists()

    def mark_done(self, **info: Any) -> None:
        (self.path / MARKER).write_text(json.dumps(info, default=str, indent=1))

    def info(self) -> dict[str, Any]:
        return json.loads((self.path / MARKER).read_text()) if self.done else {}


def stage_dir(root: str | Path, stage: str, *parts: Any) -> StageDir:
    """The (created) artifact folder of ``stage`` for the config ``parts``."""
    path = Path(root) / stage / config_hash(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return StageDir(stage, path)
