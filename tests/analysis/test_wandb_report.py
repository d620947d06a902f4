"""``python -m analysis.report <sweep> --wandb`` in offline mode, read back from the run's own files.

The offline run's transaction log (``run-<id>.wandb``: W&B's LevelDB-style record log of ``wandb_internal_pb2.Record``
protobufs; wandb 0.31 ships no Python reader, so the 20 lines below parse its framing with wandb's own protobuf
definitions) must hold the run in the sweep's group, every logged key and the scatter chart; the media files
must hold the objective vectors with strategy and seed, the hypervolume table and the PNGs.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pandas as pd
import pytest
from wandb.proto import wandb_internal_pb2 as pb

from analysis.collect import collect_local, runs_table
from analysis.report import main
from analysis.wandb_report import sweep_logger_settings

BLOCK, HEADER = 32768, 7  # leveldb log: 32 KiB blocks; record header = crc32 (4) + length (2) + type (1)


def read_records(path: Path) -> list[pb.Record]:
    data = path.read_bytes()
    ident, _magic, _version = struct.unpack("<4sHB", data[:7])
    assert ident == b":W&B", f"{path} is not a W&B transaction log"
    records, pos, chunk = [], 7, b""
    while pos + HEADER <= len(data):
        left = BLOCK - pos % BLOCK
        _crc, length, kind = struct.unpack("<IHB", data[pos : pos + HEADER]) if left >= HEADER else (0, 0, 0)
        if left < HEADER or (length == 0 and kind == 0):  # block trailer / zero padding
            pos += left
            continue
        chunk += data[pos + HEADER : pos + HEADER + length]
        pos += HEADER + length
        if kind in (1, 4):  # FULL or LAST fragment: one complete record
            record = pb.Record()
            record.ParseFromString(chunk)
            records.append(record)
            chunk = b""
    return records


def _key(item) -> str:
    return item.key or "/".join(item.nested_key)


@pytest.fixture()
def offline(monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")  # tests/conftest.py disables W&B by default
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("WANDB_SILENT", "true")


def test_report_logs_fronts_tables_and_pngs_into_the_sweeps_group(paired_sweep, tmp_path, offline):
    out = tmp_path / "report"
    main([str(paired_sweep), "--out", str(out), "--bootstrap", "50", "--wandb"])
    (run_dir,) = (out / "wandb").glob("offline-run-*")
    (log,) = run_dir.glob("*.wandb")
    records = read_records(log)
    kinds = [r.WhichOneof("record_type") for r in records]
    (run,) = [r.run for r in records if r.WhichOneof("record_type") == "run"]
    assert run.run_group == "quick_weighting_strategies_t0" and run.project == "rlrec-test"  # from the runs' logger.*
    assert run.job_type == "analysis" and run.display_name == "report-quick_weighting_strategies_t0"

    history = {_key(i).split("/_type")[0]: json.loads(i.value_json) for r in records if r.WhichOneof("record_type") == "history"
               for i in r.history.item if _key(i).endswith("/_type")}
    assert history["fronts/points"] == "table-file" and history["hypervolume"] == "table-file"
    assert history["paired/variants"] == history["paired/vs_sft"] == history["ablation/rl"] == "table-file"
    assert history["plots/pareto_fronts"] == history["plots/weights"] == "image-file"
    config = {_key(i): json.loads(i.value_json) for r in records if r.WhichOneof("record_type") == "config" for i in r.config.update}
    chart = config["_wandb/visualize/fronts/Semantic_Cosine_vs_CTCVR"]["panel_config"]
    assert chart["panelDefId"] == "wandb/scatter/v0" and chart["fieldSettings"] == {"x": "Semantic_Cosine", "y": "CTCVR"}
    summary = {_key(i): json.loads(i.value_json) for r in records if r.WhichOneof("record_type") == "summary"
               for i in r.summary.update}
    hv = pd.read_csv(out / "hypervolume.csv").set_index("variant")["hv"]
    assert summary["hypervolume/weighting=popo"] == pytest.approx(hv["weighting=popo"]) and hv["weighting=popo"] > 0
    assert "exit" in kinds  # the run was finished

    def table(prefix: str) -> pd.DataFrame:
        (path,) = (run_dir / "files" / "media" / "table").glob(f"{prefix}_*.table.json")
        data = json.loads(path.read_text())
        return pd.DataFrame(data["data"], columns=data["columns"])

    points = table("fronts/points")
    assert len(points) == 9 and {"strategy", "seed", "Semantic_Cosine", "CTCVR", "on_global_front"} <= set(points.columns)
    assert set(points["strategy"]) == {"fixed", "popo", "popo_light"} and set(points["seed"]) == {"0", "1", "2"}
    runs = pd.read_csv(out / "runs.csv")
    rl = runs[runs["model"] == "rl"].set_index("run")
    assert points.set_index("run")["CTCVR"].to_dict() == pytest.approx(rl.loc[points["run"], "CTCVR"].to_dict())
    ranked = table("hypervolume")
    assert ranked["rank"].tolist() == [1, 2, 3] and ranked["variant"].iloc[0] == "weighting=popo"
    assert {"hv_ci_low", "hv_ci_high", "hv_seed_ci_low", "hv_seed_ci_high"} <= set(ranked.columns)
    assert table("paired/variants")["significant"].sum() == 1
    assert len(list((run_dir / "files" / "media" / "images").rglob("pareto_fronts_*.png"))) == 1
    assert (run_dir / "files" / "report.md").read_text() == (out / "report.md").read_text()


def test_group_falls_back_to_the_sweep_folder_name(tmp_path):
    root = tmp_path / "quick_weighting_strategies_2026"
    (root / "a").mkdir(parents=True)
    (root / "a" / "summary.json").write_text(json.dumps({"objective/x": 1.0}))
    runs = runs_table(collect_local(root))
    assert sweep_logger_settings(runs, [str(root)]) == {"project": "rlrec", "entity": None, "group": root.name}
    assert sweep_logger_settings(runs, ["wandb:ent/proj/my-group"])["group"] == "my-group"
