"""OpenAI-compatible ``chat/completions`` teacher (vLLM, SGLang, a hosted API) over httpx.

Bounded concurrency (a thread pool of ``concurrency`` workers), a per-request timeout, and retries with
exponential backoff + jitter on timeouts, connection errors, 429 and 5xx. Other 4xx fail at once (a bad
model name or key does not get better by retrying). The API key is read from the environment variable
named by ``api_key_env`` and never appears in logs or error messages.
"""

from __future__ import annotations

import logging
import os
import random
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

import httpx

from rlrec.config import TeacherConfig
from rlrec.distill.teachers import TEACHERS

log = logging.getLogger(__name__)

RETRY_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


class TeacherEndpointError(RuntimeError):
    """The endpoint refused a request, or stayed unreachable after every retry. Names the URL and the fix."""


def message_text(message: dict[str, Any]) -> str:
    """Completion text of one chat message; a separate reasoning field (vLLM/SGLang reasoning parsers,
    DeepSeek's ``reasoning_content``) is put back inside ``<think>…</think>`` in front of the content."""
    content = message.get("content") or ""
    reasoning = message.get("reasoning_content") or message.get("reasoning") or ""
    return f"<think>{reasoning}</think>{content}" if reasoning else content


def backoff_delay(attempt: int, base_s: float, max_s: float, rng: random.Random) -> float:
    """Delay before retry ``attempt`` (0-based): ``base_s * 2**attempt`` capped at ``max_s``, times U(0.5, 1)."""
    return min(max_s, base_s * (2.0**attempt)) * (0.5 + 0.5 * rng.random())


@TEACHERS.register("openai", description="OpenAI-compatible chat/completions endpoint (vLLM, SGLang, hosted APIs)")
class EndpointTeacher:
    def __init__(self, config: TeacherConfig, sleep: Callable[[float], None] = time.sleep) -> None:
        self.config = config
        self.name = f"openai:{config.model}"
        self.url = config.base_url.rstrip("/") + "/chat/completions"
        self._sleep = sleep
        self._rng = random.Random(0)
        headers = {"Content-Type": "application/json"}
        key = os.environ.get(config.api_key_env) if config.api_key_env else None
        if key:
            headers["Authorization"] = f"Bearer {key}"
        limits = httpx.Limits(max_connections=config.concurrency, max_keepalive_connections=config.concurrency)
        self._client = httpx.Client(headers=headers, timeout=httpx.Timeout(config.timeout_s), limits=limits)

    def request(self, prompt: str) -> str:
        """One completion, retried on transient failures; raises :class:`TeacherEndpointError` otherwise."""
        body = {
            "model": self.config.model,
            "messages": [{"role": "user", "content": prompt}],
            "max_tokens": self.config.max_new_tokens,
            "temperature": self.config.temperature,
            "top_p": self.config.top_p,
        }
        last = ""
        for attempt in range(self.config.max_retries + 1):
            if attempt:
                delay = backoff_delay(attempt - 1, self.config.backoff_s, self.config.backoff_max_s, self._rng)
                log.warning("teacher %s: %s; retry %d/%d in %.1f s", self.url, last, attempt, self.config.max_retries, delay)
                self._sleep(delay)
            try:
                response = self._client.post(self.url, json=body)
            except httpx.TimeoutException:
                last = f"timed out after {self.config.timeout_s:g} s"
                continue
            except httpx.TransportError as err:  # refused, DNS, reset: the server may be starting up
                last = f"connection failed ({type(err).__name__})"
                continue
            if response.status_code in RETRY_STATUS:
                last = f"HTTP {response.status_code}"
                continue
            if response.status_code >= 400:
                raise TeacherEndpointError(
                    f"teacher endpoint {self.url} answered HTTP {response.status_code}: {_excerpt(response.text)}. "
                    f"Check distill.teacher.model ({self.config.model!r}), distill.teacher.base_url and the key in "
                    f"${self.config.api_key_env}."
                )
            try:
                return message_text(response.json()["choices"][0]["message"])
            except (ValueError, KeyError, IndexError, TypeError):
                raise TeacherEndpointError(
                    f"teacher endpoint {self.url} returned no chat completion (expected choices[0].message): "
                    f"{_excerpt(response.text)}. Is distill.teacher.base_url an OpenAI-compatible /v1 URL?"
                ) from None
        raise TeacherEndpointError(
            f"teacher endpoint {self.url} is unreachable: {last} on each of {self.config.max_retries + 1} attempts. "
            "Start the server (e.g. `vllm serve <model>`) or fix distill.teacher.base_url; raise "
            "distill.teacher.timeout_s / max_retries for a slow server. Finished candidates are stored: rerun to resume."
        )

    def complete(self, prompts: Sequence[str]) -> Iterator[tuple[int, str]]:
        """Yields ``(index, completion)`` as requests finish, at most ``concurrency`` in flight.

        Only a window of ``2 * concurrency`` requests is ever submitted, so an error (or the caller
        stopping) abandons at most that window; its finished results were already yielded.
        """
        window = 2 * self.config.concurrency
        pool = ThreadPoolExecutor(max_workers=self.config.concurrency, thread_name_prefix="teacher")
        pending: dict[Future[str], int] = {}
        todo = iter(range(len(prompts)))
        try:
            while True:
                for i in todo:
                    pending[pool.submit(self.request, prompts[i])] = i
                    if len(pending) >= window:
                        break
                if not pending:
                    return
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    index = pending.pop(future)
                    yield index, future.result()
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        self._client.close()


def _excerpt(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + " …"
