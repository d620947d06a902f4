"""Generation backends for evaluation: Hugging Face ``generate`` (CPU/GPU) and vLLM (GPU, optional).

A backend is a function ``(name_or_path, prompts, config, dtype) -> completions [N][S]`` registered in
:data:`BACKENDS`; ``eval.backend`` names it. vLLM is imported inside its backend only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rlrec.assets import load_causal_lm, resolve_model_path
from rlrec.generation import GenerationConfig, Messages, generate, to_messages
from rlrec.registry import Registry

__all__ = ["BACKENDS", "Backend", "generate_completions"]

Backend = Callable[[str, Sequence["str | Messages"], GenerationConfig, str], list[list[str]]]
BACKENDS: Registry[Backend] = Registry("generation backend")


@BACKENDS.register("hf", device="cpu or cuda", description="transformers generate(), batched, left padding")
def hf_backend(name_or_path: str, prompts: Sequence[str | Messages], config: GenerationConfig, dtype: str) -> list[list[str]]:
    import torch

    model, tokenizer = load_causal_lm(name_or_path, dtype=dtype, device="cuda" if torch.cuda.is_available() else None)
    model.eval()
    return generate(model, tokenizer, prompts, config)


@BACKENDS.register("vllm", device="cuda", description="vLLM offline engine (LLM.chat), pip install -e '.[vllm]'")
def vllm_backend(name_or_path: str, prompts: Sequence[str | Messages], config: GenerationConfig, dtype: str) -> list[list[str]]:
    try:
        from vllm import LLM, SamplingParams
    except ImportError as err:
        raise RuntimeError(
            "eval.backend=vllm needs the vllm package (GPU only): pip install -e '.[vllm]'; "
            "or evaluate with eval.backend=hf"
        ) from err
    llm = LLM(model=resolve_model_path(name_or_path), dtype=dtype)
    sample = config.temperature > 0
    params = SamplingParams(
        n=config.num_return_sequences,
        temperature=config.temperature if sample else 0.0,
        top_p=config.top_p if sample else 1.0,
        max_tokens=config.max_new_tokens,
    )
    outputs = llm.chat([to_messages(p) for p in prompts], params, use_tqdm=True)
    return [[o.text for o in out.outputs] for out in outputs]


def generate_completions(
    prompts: Sequence[str | Messages],
    config: GenerationConfig,
    *,
    backend: str = "hf",
    name_or_path: str | None = None,
    dtype: str = "float32",
    model: Any = None,
    tokenizer: Any = None,
) -> list[list[str]]:
    """Completions ``[N][S]`` for ``prompts [N]``, ``S = config.num_return_sequences``.

    An in-memory ``model`` + ``tokenizer`` (e.g. right after training) is generated from directly with
    transformers; otherwise ``backend`` loads ``name_or_path``.
    """
    if model is not None:
        if tokenizer is None:
            raise ValueError("generate_completions: an in-memory model needs its tokenizer")
        return generate(model, tokenizer, prompts, config)
    if name_or_path is None:
        raise ValueError("generate_completions: give either model + tokenizer or name_or_path (eval.checkpoint)")
    return BACKENDS.get(backend)(name_or_path, prompts, config, dtype)
