"""The per-artifact-folder inter-process lock of rlrec.stages.run_stage: a stage two processes need at once is built
once (the second waits, then reuses it), a dead holder's folder is rebuilt, and nested stages do not deadlock."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from rlrec.config import Config
from rlrec.stages import RunContext, Stage, folder_lock, run_stage

# One process running run_stage on the "slow" stage: its run() appends this pid to calls.txt, writes started.txt,
# then sleeps 1 s, or with argv[3] = a release file waits until that file exists (so the test controls the overlap).
# Prints {"folder", "product", "timings"} as JSON; the "rlrec" log goes to stderr.
WORKER = textwrap.dedent("""
    import json, logging, os, sys, time
    from pathlib import Path
    from rlrec.config import Config
    from rlrec.stages import RunContext, Stage, run_stage

    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    artifacts, out = Path(sys.argv[1]), Path(sys.argv[2])
    release = Path(sys.argv[3]) if len(sys.argv) > 3 else None

    def run(ctx, folder):
        with open(out / "calls.txt", "a") as f:
            f.write(f"{os.getpid()}\\n")
        (out / "started.txt").write_text(str(os.getpid()))
        if release is None:
            time.sleep(1.0)
        else:
            deadline = time.time() + 20
            while not release.exists() and time.time() < deadline:
                time.sleep(0.02)
        (folder / "value.txt").write_text("42")
        return 42

    stage = Stage("slow", key=lambda c: ("same key",), run=run,
                  load=lambda ctx, folder: int((folder / "value.txt").read_text()))
    ctx = RunContext(Config(artifacts_dir=str(artifacts)), out / f"run_{os.getpid()}")
    product = run_stage(stage, ctx)
    print(json.dumps({"folder": str(ctx.folders["slow"]), "product": product, "timings": ctx.timings}))
""")


_started: list[subprocess.Popen] = []


@pytest.fixture(autouse=True)
def _no_leftover_workers():
    """A failing test must not leave a worker behind (one waiting for a release file, say)."""
    yield
    while _started:
        proc = _started.pop()
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def start_worker(tmp_path: Path, name: str, *extra: Path) -> tuple[subprocess.Popen, Path]:
    err = tmp_path / f"{name}.err"
    with err.open("w") as handle:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen([sys.executable, "-c", WORKER, str(tmp_path / "artifacts"), str(tmp_path),
                                 *map(str, extra)], stdout=subprocess.PIPE, stderr=handle, text=True)
    _started.append(proc)
    return proc, err


def wait_for(condition, what: str, timeout: float = 10.0) -> None:
    deadline = time.time() + timeout
    while not condition():
        if time.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def result(proc: subprocess.Popen) -> dict:
    out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0, out
    return json.loads(out.strip().splitlines()[-1])


def calls(tmp_path: Path) -> list[str]:
    return (tmp_path / "calls.txt").read_text().split()


def test_two_processes_started_together_build_once(tmp_path):
    """Both processes start at once; run() sleeps 1 s: one builds, the other gets the same complete folder."""
    procs = [start_worker(tmp_path, name)[0] for name in ("a", "b")]
    a, b = (result(p) for p in procs)
    assert len(calls(tmp_path)) == 1
    assert a["folder"] == b["folder"] and a["product"] == b["product"] == 42
    assert sorted(r["timings"][0]["reused"] for r in (a, b)) == [False, True]
    assert (Path(a["folder"]) / "_COMPLETE").exists()
    assert Path(a["folder"]).with_name(Path(a["folder"]).name + ".lock").exists()  # beside the folder


def test_the_second_process_waits_for_the_builder_then_reuses(tmp_path):
    release = tmp_path / "release"
    builder, _ = start_worker(tmp_path, "builder", release)
    wait_for(lambda: (tmp_path / "started.txt").exists(), "the builder to enter run()")
    waiter, waiter_err = start_worker(tmp_path, "waiter")
    wait_for(lambda: "being built by another process" in waiter_err.read_text(), "the waiter to block")
    line = next(ln for ln in waiter_err.read_text().splitlines() if "being built" in ln)
    assert line.startswith("waiting for slow (") and f"(pid {builder.pid} on " in line
    time.sleep(0.3)
    assert waiter.poll() is None  # still blocked while the builder holds the folder
    release.touch()
    built, reused = result(builder), result(waiter)
    assert calls(tmp_path) == [str(builder.pid)]  # built once, by the builder
    assert built["folder"] == reused["folder"] and reused["product"] == 42
    row = reused["timings"][0]
    assert row["reused"] is True and row["waited_s"] >= 0.3
    assert "waited_s" not in built["timings"][0]


def test_a_killed_holder_releases_the_lock_and_its_folder_is_rebuilt(tmp_path):
    holder, _ = start_worker(tmp_path, "holder", tmp_path / "never")  # never released: it dies inside run()
    wait_for(lambda: (tmp_path / "started.txt").exists(), "the holder to enter run()")
    waiter, waiter_err = start_worker(tmp_path, "waiter")
    wait_for(lambda: "being built by another process" in waiter_err.read_text(), "the waiter to block")
    holder.kill()
    holder.wait(timeout=10)
    rebuilt = result(waiter)
    assert calls(tmp_path) == [str(holder.pid), str(waiter.pid)]  # the dead holder's partial folder was rebuilt
    assert rebuilt["timings"][0]["reused"] is False and rebuilt["product"] == 42
    assert (Path(rebuilt["folder"]) / "_COMPLETE").exists()


def held_elsewhere(lock: Path) -> bool:
    """Whether a fresh open file description cannot take ``lock`` (flock conflicts across descriptions, even within
    one process): i.e. someone holds it."""
    fd = os.open(lock, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def in_thread(fn, timeout: float = 10.0) -> None:
    """Run ``fn`` in a daemon thread; fail (instead of hanging the suite) when it deadlocks."""
    errors: list[BaseException] = []

    def target():
        try:
            fn()
        except BaseException as err:  # re-raised below, in the test's thread
            errors.append(err)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), "deadlocked: a lock this thread already holds was taken again"
    if errors:
        raise errors[0]


def test_nested_stages_and_a_folder_taken_again_do_not_deadlock(tmp_path):
    """outer.run runs inner (another folder: locked inside outer's lock) and a stage with outer's own name and key
    (the same folder: not locked again)."""
    seen: dict[str, bool] = {}
    outer_folder: list[Path] = []

    def lock_of(folder: Path) -> Path:
        return folder.with_name(folder.name + ".lock")

    def inner_run(ctx, folder):
        seen["inner held"] = held_elsewhere(lock_of(folder))
        seen["outer held during inner"] = held_elsewhere(lock_of(outer_folder[0]))
        return 1

    def outer_run(ctx, folder):
        outer_folder.append(folder)
        seen["outer held"] = held_elsewhere(lock_of(folder))
        inner = run_stage(Stage("inner", key=lambda c: (), run=inner_run, load=lambda c, f: 1), ctx)
        again = Stage("outer", key=lambda c: (), run=lambda c, f: 7, load=lambda c, f: 7)
        assert run_stage(again, ctx, label="outer again") == 7  # re-entrant: the folder this thread holds
        return inner + 1

    outer = Stage("outer", key=lambda c: (), run=outer_run, load=lambda c, f: 2)
    ctx = RunContext(Config(artifacts_dir=str(tmp_path / "artifacts")), tmp_path / "run")
    in_thread(lambda: run_stage(outer, ctx))
    assert ctx.products["outer"] == 2 and ctx.folders["outer again"] == ctx.folders["outer"]
    assert seen == {"outer held": True, "inner held": True, "outer held during inner": True}
    for name in ("outer", "inner"):  # both released afterwards
        assert not held_elsewhere(lock_of(ctx.folders[name]))


def test_threads_of_one_process_exclude_each_other(tmp_path):
    """The re-entrancy set is per thread: another thread of the same process still waits for the holder."""
    folder = tmp_path / "stage" / "abc"
    folder.mkdir(parents=True)
    order: list[str] = []
    entered = threading.Event()

    def hold():
        with folder_lock(folder, "stage"):
            entered.set()
            time.sleep(0.3)
            order.append("first released")

    def take():
        entered.wait(5)
        with folder_lock(folder, "stage") as waited:
            order.append(f"second got it after {waited > 0.1}")

    threads = [threading.Thread(target=f, daemon=True) for f in (hold, take)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert order == ["first released", "second got it after True"]


@pytest.mark.parametrize("reuse", [False, True])
def test_a_failed_recomputation_of_a_complete_folder_leaves_no_marker(tmp_path, reuse):
    """force (or a stale folder) recomputes a complete folder; when that fails, the old marker must not remain."""
    config = Config(artifacts_dir=str(tmp_path / "a"))
    ok = Stage("s", key=lambda c: (), run=lambda c, f: 1, load=lambda c, f: 1)
    run_stage(ok, RunContext(config, tmp_path / "run"))

    def boom(ctx, folder):
        raise RuntimeError("killed mid-stage")

    forced = Stage("s", key=lambda c: (), run=boom, load=lambda c, f: 1, force=lambda c: not reuse)
    ctx = RunContext(config, tmp_path / "run")
    if reuse:
        assert run_stage(forced, ctx) == 1
        assert (ctx.folders["s"] / "_COMPLETE").exists()
        return
    with pytest.raises(RuntimeError, match="killed"):
        run_stage(forced, ctx)
    folders = [p for p in (tmp_path / "a" / "s").iterdir() if p.is_dir()]
    assert len(folders) == 1 and not (folders[0] / "_COMPLETE").exists()


def test_a_file_system_without_flock_warns_and_goes_on_unlocked(tmp_path, monkeypatch, caplog):
    import errno

    import rlrec.stages as stages

    def no_flock(fd, op):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(stages.fcntl, "flock", no_flock)
    stage = Stage("s", key=lambda c: (), run=lambda c, f: 5, load=lambda c, f: 5)
    with caplog.at_level("WARNING", logger="rlrec"):
        assert run_stage(stage, RunContext(Config(artifacts_dir=str(tmp_path / "a")), tmp_path / "run")) == 5
    ctx_folder = next(p for p in (tmp_path / "a" / "s").iterdir() if p.is_dir())
    assert f"cannot lock {ctx_folder}.lock" in caplog.text and "No locks available" in caplog.text
    assert (ctx_folder / "_COMPLETE").exists()
