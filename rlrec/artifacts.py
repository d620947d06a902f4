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

from rlrec.logging.base import plain

MARKER = "_COMPLETE"


def config_hash(*parts: Any) -> str:
    """sha256 (12 hex chars) over the JSON of dataclasses / dicts / scalars, key-order independent (the parts go
    through :func:`rlrec.logging.base.plain`, the one JSON-safe conversion)."""
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


def enclosing_stage(path: str | Path) -> Path | None:
    """The stage artifact folder (the nearest folder holding a :data:`MARKER`) that ``path`` lies in, or None."""
    path = Path(path).absolute()
    for folder in (path, *path.parents) if path.is_dir() else path.parents:
        if (folder / MARKER).exists():
            return folder
    return None


def damaged_file_fix(path: str | Path, otherwise: str) -> str:
    """What to do about a damaged file: inside a stage folder, delete that folder and rerun (the stage is
    recomputed, everything else is reused); elsewhere ``otherwise``."""
    stage = enclosing_stage(path)
    if stage is None:
        return otherwise
    return f"delete its stage folder (`rm -rf {stage}`) and rerun: that stage is recomputed and the others reused"
