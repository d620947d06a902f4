"""Append-only JSONL store keyed by a tuple of record fields: the resumable record of distillation.

Every finished record is written as one line and flushed at once, so killing the process at any moment
loses at most the requests in flight. On open, a torn last line (the process died mid-write) is cut off
and counted; duplicate keys (two processes raced on one file) keep the first record and are counted.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from rlrec.textio import TextEncodingError, utf8_lines

log = logging.getLogger(__name__)

Key = tuple[Any, ...]


class StoreEncodingError(TextEncodingError):
    """The store file holds bytes that are not UTF-8 (rlrec writes UTF-8: the file was edited or damaged)."""

    def __init__(self, message: str) -> None:
        super().__init__(f"{message}. Or delete that line (or the file): the records it held are computed again "
                         "on the next run")


class JsonlStore:
    """Records (dicts) keyed by ``key_fields``; ``key in store`` says a unit of work is done."""

    def __init__(self, path: str | Path, key_fields: Sequence[str], fsync: bool = False) -> None:
        self.path = Path(path)
        self.key_fields = tuple(key_fields)
        self.fsync = fsync  # also survive power loss (flush alone survives a killed process)
        self.torn_bytes = 0  # bytes of a half-written last line cut off on open
        self.duplicates = 0
        self.bad_lines = 0  # complete lines that are not JSON objects with every key field (skipped, counted)
        self._records: dict[Key, dict[str, Any]] = {}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._repair_tail()
        self._load()
        self._fh = self.path.open("a", encoding="utf-8")

    def key(self, record: dict[str, Any]) -> Key:
        return tuple(record[f] for f in self.key_fields)

    def _repair_tail(self) -> None:
        if not self.path.exists() or self.path.stat().st_size == 0:
            return
        with self.path.open("rb+") as fh:
            data = fh.read()
            if data.endswith(b"\n"):
                return
            keep = data.rfind(b"\n") + 1  # 0 when the only line is torn
            self.torn_bytes = len(data) - keep
            fh.truncate(keep)
        log.warning("%s: cut off a half-written last line (%d bytes) left by an interrupted run", self.path, self.torn_bytes)

    def _load(self) -> None:
        if not self.path.exists():
            return
        for number, line in utf8_lines(self.path, error=StoreEncodingError):  # names the line and the iconv fix
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                key = self.key(record)
            except (json.JSONDecodeError, KeyError, TypeError):
                self.bad_lines += 1
                log.warning("%s:%d is not a record with fields %s; skipped", self.path, number, self.key_fields)
                continue
            if key in self._records:
                self.duplicates += 1
                continue
            self._records[key] = record

    def append(self, record: dict[str, Any]) -> bool:
        """Write one record (flushed). Returns False, writing nothing, when its key is already stored."""
        key = self.key(record)
        if key in self._records:
            return False
        self._fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._fh.flush()
        if self.fsync:
            os.fsync(self._fh.fileno())
        self._records[key] = record
        return True

    def get(self, key: Key) -> dict[str, Any] | None:
        return self._records.get(tuple(key))

    def __contains__(self, key: object) -> bool:
        return tuple(key) in self._records  # type: ignore[arg-type]

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self._records.values())

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> JsonlStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
