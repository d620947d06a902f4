from dataclasses import dataclass

from rlrec.artifacts import MARKER, config_hash, damaged_file_fix, enclosing_stage, stage_dir


@dataclass
class A:
    x: int = 1
    y: tuple = (1, 2)


def test_hash_is_stable_and_sensitive():
    assert config_hash(A()) == config_hash(A())
    assert config_hash(A()) != config_hash(A(x=2))
    assert config_hash({"a": 1, "b": 2}) == config_hash({"b": 2, "a": 1})
    assert config_hash(A(), "data") != config_hash(A(), "other")


def test_stage_dir_marker(tmp_path):
    s = stage_dir(tmp_path, "sft", A())
    assert s.path.parent == tmp_path / "sft" and not s.done
    s.mark_done(rows=3)
    again = stage_dir(tmp_path, "sft", A())
    assert again.done and again.info() == {"rows": 3}
    assert not stage_dir(tmp_path, "sft", A(x=5)).done


def test_enclosing_stage_and_the_fix_for_a_damaged_file(tmp_path):
    folder = stage_dir(tmp_path, "data", "x")
    (folder.path / "splits").mkdir()
    inner = folder.path / "splits" / "rl.jsonl"
    assert enclosing_stage(inner) is None  # not complete yet: no marker
    folder.mark_done()
    assert (folder.path / MARKER).exists()
    assert enclosing_stage(inner) == folder.path.absolute() and enclosing_stage(folder.path) == folder.path.absolute()
    assert f"rm -rf {folder.path.absolute()}" in damaged_file_fix(inner, "other")
    assert damaged_file_fix(tmp_path / "elsewhere.txt", "other") == "other"
