"""The content fingerprint of a dataset's files: what keys the data and simulator stages besides the config.

A loader declares its source files as registry metadata, ``@DATA_LOADERS.register(name, files=fn)`` with
``fn(cfg) -> list[Path]`` (embedded datasets name their package files, ``jsonl`` the folder's files). The
fingerprint hashes those files' bytes, so a file edited in place (same path, same config) keys a new stage
folder. Each file's sha256 is cached under ``$RLREC_CACHE/file_hashes/`` by (path, size, mtime), so an
unchanged file is read once per machine, not once per run.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

from rlrec.assets import AssetError, cache_dir
from rlrec.config import DataConfig
from rlrec.data.loaders import DATA_LOADERS

log = logging.getLogger(__name__)

HASH_CACHE = "file_hashes"


def file_sha256(path: Path) -> str:
    """sha256 (hex) of ``path``'s bytes, cached by (resolved path, size, mtime in ns)."""
    path = Path(path).resolve()
    stat = path.stat()
    stamp = hashlib.sha256(f"{path}\x1f{stat.st_size}\x1f{stat.st_mtime_ns}".encode()).hexdigest()[:32]
    entry = cache_dir() / HASH_CACHE / stamp
    try:
        cached = entry.read_text().strip()
        if len(cached) == 64:
            return cached
    except OSError:
        pass
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    value = digest.hexdigest()
    try:  # write then rename: two processes hashing the same file both end with a whole entry
        entry.parent.mkdir(parents=True, exist_ok=True)
        partial = entry.with_name(f"{entry.name}.{os.getpid()}.tmp")
        partial.write_text(value)
        partial.replace(entry)
    except OSError as err:  # a read-only cache only costs re-hashing
        log.debug("could not cache the hash of %s: %s", path, err)
    return value


def data_files(cfg: DataConfig) -> list[Path] | None:
    """The source files of ``cfg.name`` (its loader's ``files`` metadata); None when the loader declares none.

    Never raises for a missing file or asset package: the loader itself reports those with the fix.
    """
    if cfg.name not in DATA_LOADERS:
        return None
    files = DATA_LOADERS.metadata(cfg.name).get("files")
    if files is None:
        return None
    try:
        return [Path(p) for p in files(cfg)]
    except AssetError:
        return []


def data_fingerprint(cfg: DataConfig) -> dict[str, str] | None:
    """``{file name: sha256}`` of the dataset's source files (``"missing"`` for absent ones), or None when its
    loader declares no files (a plugin loader: its stages are then keyed by config only)."""
    files = data_files(cfg)
    if files is None:
        log.debug("data loader %r declares no files; the data stage is keyed by its config only", cfg.name)
        return None
    return {p.name: file_sha256(p) if p.is_file() else "missing" for p in files}
