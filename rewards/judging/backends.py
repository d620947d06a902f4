"""Judge backends: any OpenAI-compatible chat endpoint (httpx), or a local Hugging Face causal LM.

A backend maps a batch of chat conversations to reply texts: ``complete(batch) -> list[str | None]``
(None = that request failed and the judge was told to go on, see ``on_error``).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from rlrec.registry import Registry

log = logging.getLogger(__name__)

Messages = list[dict[str, str]]
RETRY_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


class JudgeBackend(Protocol):
    def complete(self, batch: Sequence[Messages]) -> list[str | None]: ...


JUDGE_BACKENDS: Registry[Callable[..., JudgeBackend]] = Registry("judge backend")


class JudgeEndpointError(RuntimeError):
    """The judge endpoint kept failing (or refused the request); the message names the URL."""


def backoff_delays(retries: int, base_s: float, max_s: float) -> list[float]:
    """Exponential backoff: base, 2·base, 4·base, … capped at ``max_s`` (one delay before each retry)."""
    return [min(max_s, base_s * 2**i) for i in range(retries)]


class OpenAIChatBackend:
    """POST ``{base_url}/chat/completions`` (OpenAI, vLLM, llama.cpp server, TGI, Ollama, …).

    Timeouts per request; retries with exponential backoff on timeouts, connection errors, 429 and 5xx;
    at most ``concurrency`` requests in flight. The API key is read from the environment variable named
    ``api_key_env`` and only ever placed in the request header: never logged, never in an error message.
    """

    def __init__(self, base_url: str, model: str, api_key_env: str | None = "OPENAI_API_KEY",
                 timeout_s: float = 30.0, max_retries: int = 4, backoff_s: float = 1.0, backoff_max_s: float = 30.0,
                 concurrency: int = 8, temperature: float = 0.0, max_tokens: int = 128, on_error: str = "raise") -> None:
        import httpx

        if on_error not in ("raise", "none"):
            raise ValueError(f"judge on_error must be 'raise' or 'none', got {on_error!r}")
        if concurrency < 1 or max_retries < 0 or timeout_s <= 0:
            raise ValueError(f"judge needs concurrency >= 1, max_retries >= 0, timeout_s > 0 "
                             f"(got {concurrency}, {max_retries}, {timeout_s})")
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model, self.temperature, self.max_tokens = model, temperature, max_tokens
        self.timeout_s, self.concurrency, self.on_error = timeout_s, concurrency, on_error
        self.delays = backoff_delays(max_retries, backoff_s, backoff_max_s)
        self._secret = os.environ.get(api_key_env) if api_key_env else None
        headers = {"Authorization": f"Bearer {self._secret}"} if self._secret else {}
        self._httpx = httpx
        self.client = httpx.Client(
            timeout=httpx.Timeout(timeout_s),
            headers=headers,
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
        )
        self.failures = 0  # requests given up on (on_error="none")
        self.retries = 0  # retried attempts
        self._count_lock = threading.Lock()  # counters are bumped from the worker threads

    def complete(self, batch: Sequence[Messages]) -> list[str | None]:
        if not batch:
            return []
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(batch))) as pool:
            return list(pool.map(self._request, batch))

    def _request(self, messages: Messages) -> str | None:
        body = {"model": self.model, "messages": messages, "temperature": self.temperature, "max_tokens": self.max_tokens}
        last_error = ""
        for attempt in range(len(self.delays) + 1):
            if attempt:
                with self._count_lock:
                    self.retries += 1
                delay = self.delays[attempt - 1]
                log.warning("judge endpoint %s: %s; retry %d/%d in %.1f s", self.url, last_error, attempt, len(self.delays), delay)
                time.sleep(delay)
            try:
                response = self.client.post(self.url, json=body)
            except self._httpx.TimeoutException:
                last_error = f"no answer within {self.timeout_s:g} s"
                continue
            except self._httpx.TransportError as err:
                last_error = f"{type(err).__name__}: {self._scrub(str(err))}"
                continue
            if response.status_code in RETRY_STATUS:
                last_error = f"HTTP {response.status_code}"
                continue
            if response.status_code != 200:
                return self._fail(f"judge endpoint {self.url} refused the request: HTTP {response.status_code} "
                                  f"{self._scrub(response.text[:300])!r}. Check params.model, the API key variable "
                                  f"(params.api_key_env) and params.base_url.")
            try:
                return str(response.json()["choices"][0]["message"]["content"] or "")
            except (ValueError, KeyError, IndexError, TypeError):
                return self._fail(f"judge endpoint {self.url} answered HTTP 200 without choices[0].message.content: "
                                  f"{self._scrub(response.text[:300])!r}")
        return self._fail(
            f"judge endpoint {self.url} still failing after {len(self.delays) + 1} attempts (last error: {last_error}). "
            "Check that the server is running and reward.terms.judge.params.base_url is right, or set "
            "params.on_error=none to score such completions None."
        )

    def _fail(self, message: str) -> None:
        if self.on_error == "raise":
            raise JudgeEndpointError(message)
        with self._count_lock:
            self.failures += 1
        log.warning("%s", message)
        return None

    def _scrub(self, text: str) -> str:
        return text.replace(self._secret, "***") if self._secret else text

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
