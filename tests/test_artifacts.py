from dataclasses import dataclass

from rlrec.artifacts import config_hash, stage_dir


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
