"""The one OpenAI-compatible ``chat/completions`` client (vLLM, SGLang, llama.cpp, TGI, Ollama, hosted APIs).

Used by the distillation teacher (:mod:`rlrec.distill.endpoint`) and the judge reward
(``rewards.judging.backends``). One retry policy: timeouts, connection errors, 429 and 5xx are retried with
exponential backoff + jitter; any other 4xx fails at once (a bad model name or key does not get better by
retrying). At most ``concurrency`` connections are open. The API key is read from the environment variable
named ``api_key_env``, only ever placed in the request header, and scrubbed from every message and log line.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx

__all__ = ["RETRY_STATUS", "EndpointError", "ChatClient", "backoff_delay", "message_text"]

log = logging.getLogger(__name__)

RETRY_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})  # transient: worth another attempt


class EndpointError(RuntimeError):
    """The endpoint refused a request, answered no chat completion, or stayed unreachable after every retry.
    The message names the URL and the config fields to fix."""


def backoff_delay(attempt: int, base_s: float, max_s: float, rng: random.Random | None = None) -> float:
    """Seconds before retry ``attempt`` (0-based): ``base_s * 2**attempt`` capped at ``max_s``; with ``rng``,
    times U(0.5, 1) (jitter, so that many clients failing together do not retry together)."""
    delay = min(max_s, base_s * (2.0**attempt))
    return delay * (0.5 + 0.5 * rng.random()) if rng is not None else delay


def message_text(message: dict[str, Any]) -> str:
    """Completion text of one chat message; a separate reasoning field (vLLM/SGLang reasoning parsers,
    DeepSeek's ``reasoning_content``) is put back inside ``<think>…</think>`` in front of the content."""
    content = message.get("content") or ""
    reasoning = message.get("reasoning_content") or message.get("reasoning") or ""
    return f"<think>{reasoning}</think>{content}" if reasoning else content


class ChatClient:
    """POST ``{base_url}/chat/completions``, retried on transient failures. Thread-safe (one ``httpx.Client``).

    ``what`` names the endpoint in messages ("teacher endpoint"); ``config_prefix`` is where its settings live
    in the config ("distill.teacher"), so an error can name the fields to fix; ``hint`` is added to the
    unreachable error; ``error`` is the :class:`EndpointError` subclass raised.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key_env: str | None = "OPENAI_API_KEY",
        timeout_s: float = 60.0,
        max_retries: int = 4,
        backoff_s: float = 1.0,
        backoff_max_s: float = 30.0,
        concurrency: int = 8,
        what: str = "endpoint",
        config_prefix: str = "",
        hint: str = "",
        error: type[EndpointError] = EndpointError,
        sleep: Callable[[float], None] = time.sleep,
        seed: int = 0,
    ) -> None:
        if concurrency < 1 or max_retries < 0 or timeout_s <= 0:
            raise ValueError(f"{what} needs concurrency >= 1, max_retries >= 0 and timeout_s > 0 (got {concurrency}, "
                             f"{max_retries}, {timeout_s}); fix {config_prefix or 'its config'}")
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model, self.api_key_env, self.timeout_s = model, api_key_env, timeout_s
        self.max_retries, self.backoff_s, self.backoff_max_s = max_retries, backoff_s, backoff_max_s
        self.what, self.hint, self.error = what, hint, error
        self.prefix = f"{config_prefix}." if config_prefix else ""
        self.retries = 0  # retried attempts, over all requests
        self._sleep = sleep
        self._rng = random.Random(seed)
        self._lock = threading.Lock()  # the counter and the rng are used from worker threads
        self._secret = os.environ.get(api_key_env) if api_key_env else None
        headers = {"Content-Type": "application/json"}
        if self._secret:
            headers["Authorization"] = f"Bearer {self._secret}"
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        self._client = httpx.Client(headers=headers, timeout=httpx.Timeout(timeout_s), limits=limits)

    def chat(self, messages: list[dict[str, str]], **sampling: Any) -> dict[str, Any]:
        """The first choice's message (``{"role", "content", …}``) for ``messages``; ``sampling`` goes into the
        request body (``max_tokens``, ``temperature``, ``top_p``). Raises ``self.error`` when refused, malformed
        or still failing after ``max_retries`` retries."""
        body = {"model": self.model, "messages": messages, **sampling}
        last = ""
        for attempt in range(self.max_retries + 1):
            if attempt:
                with self._lock:
                    self.retries += 1
                    delay = backoff_delay(attempt - 1, self.backoff_s, self.backoff_max_s, self._rng)
                log.warning("%s %s: %s; retry %d/%d in %.1f s", self.what, self.url, last, attempt, self.max_retries, delay)
                self._sleep(delay)
            try:
                response = self._client.post(self.url, json=body)
            except httpx.TimeoutException:
                last = f"timed out after {self.timeout_s:g} s"
                continue
            except httpx.TransportError as err:  # refused, DNS, reset: the server may be starting up
                last = f"connection failed ({type(err).__name__}: {self._scrub(str(err))})"
                continue
            if response.status_code in RETRY_STATUS:
                last = f"HTTP {response.status_code}"
                continue
            if response.status_code >= 400:
                raise self.error(
                    f"{self.what} {self.url} refused the request: HTTP {response.status_code}: "
                    f"{self._excerpt(response.text)}. Check {self.prefix}model ({self.model!r}), {self.prefix}base_url "
                    f"and the key in ${self.api_key_env} ({self.prefix}api_key_env)."
                )
            try:
                message = response.json()["choices"][0]["message"]
                if not isinstance(message, dict):
                    raise TypeError(type(message).__name__)
                return message
            except (ValueError, KeyError, IndexError, TypeError):
                raise self.error(
                    f"{self.what} {self.url} returned no chat completion (expected choices[0].message): "
                    f"{self._excerpt(response.text)}. Is {self.prefix}base_url an OpenAI-compatible /v1 URL?"
                ) from None
        raise self.error(
            f"{self.what} {self.url} is unreachable: {last} on each of {self.max_retries + 1} attempts. Start the "
            f"server (e.g. `vllm serve <model>`) or fix {self.prefix}base_url; raise {self.prefix}timeout_s / "
            f"{self.prefix}max_retries for a slow server.{' ' + self.hint if self.hint else ''}"
        )

    def close(self) -> None:
        self._client.close()

    def _scrub(self, text: str) -> str:
        return text.replace(self._secret, "***") if self._secret else text

    def _excerpt(self, text: str, limit: int = 300) -> str:
        text = " ".join(self._scrub(text).split())
        return text if len(text) <= limit else text[:limit] + " …"
