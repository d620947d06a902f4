"""Judge backends: any OpenAI-compatible chat endpoint (httpx), or a local Hugging Face causal LM.

A backend maps a batch of chat conversations to reply texts: ``complete(batch) -> list[str | None]``
(None = that request failed and the judge was told to go on, see ``on_error``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from rlrec.openai_client import ChatClient, EndpointError
from rlrec.registry import Registry

log = logging.getLogger(__name__)

Messages = list[dict[str, str]]


class JudgeBackend(Protocol):
    def complete(self, batch: Sequence[Messages]) -> list[str | None]: ...


JUDGE_BACKENDS: Registry[Callable[..., JudgeBackend]] = Registry("judge backend")


class JudgeEndpointError(EndpointError):
    """The judge endpoint kept failing (or refused the request); the message names the URL."""


class OpenAIChatBackend:
    """Judge replies from an OpenAI-compatible endpoint through :class:`rlrec.openai_client.ChatClient`
    (timeouts, retries with backoff on timeouts / connection errors / 429 / 5xx, at most ``concurrency``
    requests in flight, the key never logged). ``on_error="none"``: a request given up on scores None and is
    counted (``failures``) instead of raising."""

    def __init__(self, base_url: str, model: str, api_key_env: str | None = "OPENAI_API_KEY",
                 timeout_s: float = 30.0, max_retries: int = 4, backoff_s: float = 1.0, backoff_max_s: float = 30.0,
                 concurrency: int = 8, temperature: float = 0.0, max_tokens: int = 128, on_error: str = "raise") -> None:
        if on_error not in ("raise", "none"):
            raise ValueError(f"judge on_error must be 'raise' or 'none', got {on_error!r}")
        self.client = ChatClient(
            base_url, model, api_key_env=api_key_env, timeout_s=timeout_s, max_retries=max_retries,
            backoff_s=backoff_s, backoff_max_s=backoff_max_s, concurrency=concurrency, what="judge endpoint",
            config_prefix="reward.terms.judge.params", error=JudgeEndpointError,
            hint="Or set params.on_error=none to score such completions None.",
        )
        self.url = self.client.url
        self.temperature, self.max_tokens = temperature, max_tokens
        self.concurrency, self.on_error = concurrency, on_error
        self.failures = 0  # requests given up on (on_error="none")
        self._count_lock = threading.Lock()  # bumped from the worker threads

    @property
    def retries(self) -> int:
        """Retried attempts so far (all requests)."""
        return self.client.retries

    @retries.setter
    def retries(self, value: int) -> None:  # the judge resets its counters after reporting them
        self.client.retries = value

    def complete(self, batch: Sequence[Messages]) -> list[str | None]:
        if not batch:
            return []
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(batch))) as pool:
            return list(pool.map(self._request, batch))

    def _request(self, messages: Messages) -> str | None:
        try:
            message = self.client.chat(messages, temperature=self.temperature, max_tokens=self.max_tokens)
        except JudgeEndpointError as err:
            if self.on_error == "raise":
                raise
            with self._count_lock:
                self.failures += 1
            log.warning("%s", err)
            return None
        return str(message.get("content") or "")

    def close(self) -> None:
        self.client.close()


class LocalHFBackend:
    """Greedy (or sampled) generation with a local causal LM through :func:`rlrec.generation.generate`."""

    def __init__(self, model: Any, tokenizer: Any, temperature: float = 0.0, max_tokens: int = 128,
                 batch_size: int = 8) -> None:
        self.model, self.tokenizer = model, tokenizer
        self.temperature, self.max_tokens, self.batch_size = temperature, max_tokens, batch_size
        self.failures = 0
        self.retries = 0

    def complete(self, batch: Sequence[Messages]) -> list[str | None]:
        from rlrec.generation import GenerationConfig, generate

        config = GenerationConfig(max_new_tokens=self.max_tokens, temperature=self.temperature, top_p=1.0,
                                  num_return_sequences=1, batch_size=self.batch_size)
        return [out[0] for out in generate(self.model, self.tokenizer, list(batch), config, progress=False)]


@JUDGE_BACKENDS.register("openai", description="any OpenAI-compatible /chat/completions endpoint")
def openai_backend(params: Any, resources: Any) -> JudgeBackend:
    return OpenAIChatBackend(
        base_url=params.base_url, model=params.model, api_key_env=params.api_key_env, timeout_s=params.timeout_s,
        max_retries=params.max_retries, backoff_s=params.backoff_s, backoff_max_s=params.backoff_max_s,
        concurrency=params.concurrency, temperature=params.temperature, max_tokens=params.max_tokens,
        on_error=params.on_error,
    )


@JUDGE_BACKENDS.register("hf", description="a local Hugging Face causal LM (embedded:smollm2, a folder, an id)")
def hf_backend(params: Any, resources: Any) -> JudgeBackend:
    model, tokenizer = resources.causal_lm(params.model, params.dtype)
    return LocalHFBackend(model, tokenizer, params.temperature, params.max_tokens, params.batch_size)
