"""The one stage mechanism: cached stages and the run context that carries what they produced.

A :class:`Stage` declares what keys it (``key``: config groups, upstream products, data-file content), which
stages it needs first (``requires``), how to compute its product into a folder (``run``) and how to read the
product back from a complete folder (``load``). :func:`run_stage` owns the rest, identically for the pipeline
and every single-stage entry point: the folder ``<artifacts_dir>/<stage>/<hash of key>/``, the ``_COMPLETE``
marker (written last, with ``info`` of the product), reuse, timing (``<run_dir>/stages.json``) and the
"<stage>: reusing <folder>" log line. On reuse a stage's ``verify`` checks the folder against the ``info`` its
marker recorded (e.g. line counts); a folder that fails it (:class:`StaleArtifact`) is recomputed, with a warning.

Parallel runs (a sweep with ``hydra/launcher=parallel``, SLURM jobs on one shared artifacts directory) share
stages: :func:`run_stage` holds an exclusive ``fcntl.flock`` on ``<artifacts_dir>/<stage>/<hash>.lock`` (beside
the folder) while it checks, builds or loads the folder, so a second process that needs the same folder waits
("waiting for <stage> being built by another process (pid …)") and then reuses the complete artifact instead of
building it again. Stages nest (a stage's ``run`` may run another stage); nesting follows the stage DAG, so locks
are always taken upstream-inside-downstream and two processes cannot wait on each other. A folder this thread
already holds is not locked again (re-entrancy). A holder that dies releases its lock with its file descriptor
(the kernel does it); the folder it left has no marker and is rebuilt by the next process.

:class:`RunContext` is what the stages hand on: ``products`` (stage name → product: prepared data, simulator
folder, reward-model checkpoints, SFT checkpoint, …) and heavy objects loaded once per context
(:meth:`RunContext.shared`: embedder, simulator, catalogue). The :class:`~rlrec.config.Config` in it is what
the user asked for and is never rewritten with results.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rlrec.artifacts import MARKER, stage_dir
from rlrec.config import Config

try:
    import fcntl
except ImportError:  # Windows: no flock; parallel runs there are not locked
    fcntl = None  # type: ignore[assignment]

__all__ = ["Stage", "RunContext", "StaleArtifact", "run_stage", "folder_lock", "dir_key"]

log = logging.getLogger("rlrec")


@dataclass
class RunContext:
    """One run: the config asked for, its run folder, its logger, and what its stages produced so far."""

    config: Config
    run_dir: Path
    logger: Any = None  # an rlrec.logging.RunLogger; None = nothing logged
    products: dict[str, Any] = field(default_factory=dict)  # stage name -> product
    folders: dict[str, Path] = field(default_factory=dict)  # stage label -> its artifact folder
    timings: list[dict] = field(default_factory=list)  # one row per stage run or reused, in order
    _objects: dict[Hashable, Any] = field(default_factory=dict, repr=False)

    def product(self, name: str) -> Any:
        """What stage ``name`` produced in this run (KeyError naming the stages that ran when it did not)."""
        if name not in self.products:
            raise KeyError(f"stage {name!r} has not run in this context (ran: {sorted(self.products)})")
        return self.products[name]

    def shared(self, key: Hashable, load: Callable[[], Any]) -> Any:
        """The object under ``key``, loaded by ``load()`` the first time it is asked for in this context."""
        if key not in self._objects:
            self._objects[key] = load()
        return self._objects[key]

    def embedder(self) -> Any:
        """``model.embedder`` (a sentence-transformers model), loaded once per context."""
        from rlrec.assets import load_embedder

        name = self.config.model.embedder
        return self.shared(("embedder", name), lambda: load_embedder(name))

    def simulator(self) -> Any:
        """The ``simulator`` stage's artifact as an ``rlrec.simulator.Simulator`` (see :meth:`simulator_at`)."""
        return self.simulator_at(self.product("simulator"))

    def simulator_at(self, folder: str | Path) -> Any:
        """The simulator artifact at ``folder``, checked against the run's catalogue and loaded with the shared
        embedder, once per context."""
        from rlrec.simulator import Simulator

        catalog = self.product("data").log.catalog
        return self.shared(("simulator", str(folder)), lambda: Simulator.load(
            folder, catalog=catalog, embedder=self.embedder(), embedder_name=self.config.model.embedder))

    def record(self, stage: str, artifact: Path, seconds: float, reused: bool, waited: float = 0.0) -> None:
        """One ``stages.json`` row; ``waited`` (seconds blocked on another process's lock) only when > 0."""
        row = {"stage": stage, "artifact": str(artifact), "seconds": round(seconds, 2), "reused": reused}
        if waited > 0:
            row["waited_s"] = round(waited, 2)
        self.timings.append(row)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        (self.run_dir / "stages.json").write_text(json.dumps(self.timings, indent=1))


class StaleArtifact(Exception):
    """Raised by a stage's ``verify``: the complete folder no longer holds what its marker recorded (the reason)."""


@dataclass(frozen=True)
class Stage:
    """A cached stage (see the module docstring). ``name`` is its artifact folder and its product's name."""

    name: str
    key: Callable[[RunContext], tuple]  # everything that shapes the product (hashed)
    run: Callable[[RunContext, Path], Any]  # compute the product into the (empty or partial) folder
    load: Callable[[RunContext, Path], Any]  # the product of a complete folder
    requires: tuple[str, ...] = ()  # stages whose products ``key`` / ``run`` read (run first when missing)
    info: Callable[[Any], dict] = lambda product: {}  # recorded in the marker (counts checked on reuse)
    force: Callable[[RunContext], bool] = lambda context: False  # recompute even when complete (e.g. rebuild=true)
    # on reuse: (context, folder, the marker's info) -> None, raising StaleArtifact when the folder does not match
    verify: Callable[[RunContext, Path, dict], None] = lambda context, folder, info: None
    doc: str = ""


def run_stage(stage: Stage, context: RunContext, stages: dict[str, Stage] | None = None, *,
              label: str | None = None) -> Any:
    """The product of ``stage`` in ``context``: reused from its artifact when complete, else computed.

    Stages in ``requires`` that have not produced anything in this context run first (looked up in ``stages``).
    ``label`` names the row in ``stages.json`` and the log line (default ``stage.name``).
    """
    for need in stage.requires:
        if need not in context.products:
            if stages is None or need not in stages:
                raise KeyError(f"stage {stage.name!r} needs {need!r}, which has not run and is not in the stage table")
            run_stage(stages[need], context, stages)
    label = label or stage.name
    folder = stage_dir(context.config.artifacts_dir, stage.name, *stage.key(context))
    with folder_lock(folder.path, label) as waited:
        start = time.perf_counter()
        reused = folder.done and not stage.force(context)
        if reused:
            try:
                stage.verify(context, folder.path, folder.info())
            except StaleArtifact as err:
                log.warning("%s: %s does not match its complete marker (%s); recomputing it", label, folder.path, err)
                reused = False
        if reused:
            log.info("%s: reusing %s", label, folder.path)
            product = stage.load(context, folder.path)
        else:
            # a recomputation (forced, stale) that fails half-way must not leave the folder looking complete
            (folder.path / MARKER).unlink(missing_ok=True)
            product = stage.run(context, folder.path)
            folder.mark_done(**stage.info(product))
        context.record(label, folder.path, time.perf_counter() - start, reused, waited)
    context.folders[label] = folder.path
    context.products[label] = product
    return product


_held = threading.local()  # .folders: the artifact folders whose lock this thread holds (re-entrancy)


@contextmanager
def folder_lock(folder: Path, label: str) -> Iterator[float]:
    """Hold the inter-process lock of artifact ``folder`` (an exclusive ``flock`` on ``<folder>.lock``, beside it).

    Blocks while another process (or thread) holds it, logging who; yields the seconds it waited (0.0 when it did
    not). Taking a folder this thread already holds is a no-op. The lock file records the holder
    (``<pid> on <host>``) for that log line and is left in place after release: removing it could let two
    processes lock two different files of the same name. Where ``fcntl`` does not exist (Windows) nothing is locked.
    """
    held: set[Path] = _held.__dict__.setdefault("folders", set())
    key = folder.resolve()
    if key in held or fcntl is None:
        yield 0.0
        return
    path = folder.with_name(folder.name + ".lock")
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as err:  # e.g. a read-only artifacts directory, shared for reuse only
        _unlocked(label, path, folder, err)
        yield 0.0
        return
    try:
        waited, locked = 0.0, True
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 256, 0).decode(errors="replace").strip() or "unknown"
            log.info("waiting for %s (%s) being built by another process (pid %s)", label, folder, holder)
            start = time.perf_counter()
            fcntl.flock(fd, fcntl.LOCK_EX)
            waited = time.perf_counter() - start
            log.info("%s: the other process released %s after %.1f s waiting", label, folder, waited)
        except OSError as err:  # e.g. ENOLCK: a file system without flock (some NFS mounts)
            _unlocked(label, path, folder, err)
            locked = False
        if not locked:
            yield 0.0
            return
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} on {socket.gethostname()}\n".encode(), 0)
        held.add(key)
        try:
            yield waited
        finally:
            held.discard(key)
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)  # closing releases the lock too, whatever happened above


def _unlocked(label: str, path: Path, folder: Path, err: OSError) -> None:
    log.warning("%s: cannot lock %s (%s), going on unlocked: parallel runs sharing %s may build it twice; put "
                "artifacts_dir on a writable file system with flock support to share it safely", label, path, err,
                folder)


def dir_key(path: str | Path) -> str:
    """A model folder identified by its path plus its files' sizes and mtimes (cheap; changes when rewritten)."""
    p = Path(path)
    if not p.exists():
        return str(path)
    parts = [str(path)] + [f"{f.name}:{f.stat().st_size}:{int(f.stat().st_mtime)}" for f in sorted(p.glob("*"))
                           if f.is_file()]
    return "|".join(parts)
