"""The one OpenAI-compatible ``chat/completions`` client (vLLM, SGLang, llama.cpp, TGI, Ollama, hosted APIs).

Used by the distillation teacher (:mod:`rlrec.distill.endpoint`) and the judge reward
(``rewards.judging.backends``). One retry policy: timeouts, connection errors, 429 and 5xx are retried with
exponential backoff + jitter, waiting at least what a ``Retry-After`` header asks (capped at
``retry_after_max_s``); any other 4xx fails at once (a bad model name or key does not get better by
retrying). ``timeout_s`` is a deadline for a whole attempt (connect, send, response headers and body), not for
each read: a server trickling a byte a second cannot hold a request past it, on a new or a reused keep-alive
connection. At most ``concurrency`` requests are in flight; each calling thread has its own one-connection pool,
so the socket an attempt uses is always known before it sends. The API key is read from the environment variable
named ``api_key_env``, only ever placed in the request header, and scrubbed from every message and log line.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

__all__ = ["RETRY_STATUS", "EndpointError", "ChatClient", "backoff_delay", "message_text", "retry_after_s"]

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


def retry_after_s(value: str | None, now: float | None = None) -> float | None:
    """Seconds a ``Retry-After`` header asks to wait (RFC 9110: delay-seconds or an HTTP-date), >= 0;
    None when absent or unreadable. ``now`` (epoch seconds, default the clock) is for tests of the date form."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


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
        retry_after_max_s: float = 60.0,
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
        self.retry_after_max_s = retry_after_max_s  # a server asking for longer is waited on this long, not more
        self.what, self.hint, self.error = what, hint, error
        self.prefix = f"{config_prefix}." if config_prefix else ""
        self.retries = 0  # retried attempts, over all requests
        self._sleep = sleep
        self._rng = random.Random(seed)
        self._lock = threading.Lock()  # the counter and the rng are used from worker threads
        self._secret = os.environ.get(api_key_env) if api_key_env else None
        self._headers = {"Content-Type": "application/json"}
        if self._secret:
            self._headers["Authorization"] = f"Bearer {self._secret}"
        self._slots = threading.BoundedSemaphore(concurrency)  # requests in flight, over all threads
        self._local = threading.local()  # this thread's _ThreadConnection
        self._connections: list[_ThreadConnection] = []  # every thread's, for close()

    def chat(self, messages: list[dict[str, str]], **sampling: Any) -> dict[str, Any]:
        """The first choice's message (``{"role", "content", …}``) for ``messages``; ``sampling`` goes into the
        request body (``max_tokens``, ``temperature``, ``top_p``). Raises ``self.error`` when refused, malformed
        or still failing after ``max_retries`` retries."""
        body = {"model": self.model, "messages": messages, **sampling}
        last, asked = "", None  # asked: the seconds the last 429/503 asked to wait (Retry-After)
        for attempt in range(self.max_retries + 1):
            if attempt:
                with self._lock:
                    self.retries += 1
                    delay = backoff_delay(attempt - 1, self.backoff_s, self.backoff_max_s, self._rng)
                if asked is not None:
                    delay = max(delay, min(asked, self.retry_after_max_s))
                log.warning("%s %s: %s; retry %d/%d in %.1f s", self.what, self.url, last, attempt, self.max_retries, delay)
                self._sleep(delay)
            asked = None
            try:
                response = self._post(body)
            except httpx.TimeoutException:
                last = f"no complete response within timeout_s={self.timeout_s:g} s"
                continue
            except httpx.TransportError as err:  # refused, DNS, reset: the server may be starting up
                last = f"connection failed ({type(err).__name__}: {self._scrub(str(err))})"
                continue
            if response.status_code in RETRY_STATUS:
                asked = retry_after_s(response.headers.get("Retry-After"))
                last = f"HTTP {response.status_code}" + (f" (Retry-After {asked:g} s)" if asked is not None else "")
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
        with self._lock:
            connections, self._connections = self._connections, []
        for connection in connections:
            connection.client.close()

    def _connection(self) -> _ThreadConnection:
        """This thread's one-connection client (made on first use)."""
        connection = getattr(self._local, "connection", None)
        if connection is None:
            limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
            connection = _ThreadConnection(httpx.Client(headers=self._headers, timeout=httpx.Timeout(self.timeout_s),
                                                        limits=limits))
            self._local.connection = connection
            with self._lock:
                self._connections.append(connection)
        return connection

    def _post(self, body: dict[str, Any]) -> httpx.Response:
        """One attempt, read to the end within ``timeout_s`` of its start, else ``httpx.TimeoutException``.

        httpx bounds each socket operation, not the request (a server trickling a byte per second never trips
        it), so a :class:`_Deadline` cuts the connection when ``timeout_s`` has passed. The thread's pool holds
        one connection, so a reused keep-alive socket is the one learnt when it was opened, and it is watched
        from the start of the attempt (response headers included).
        """
        connection = self._connection()
        with self._slots:
            deadline = _Deadline(self.timeout_s, connection)
            try:
                with connection.client.stream("POST", self.url, json=body,
                                              extensions={"trace": deadline.trace}) as response:
                    response.read()
                return response
            except httpx.TransportError:
                if deadline.expired.is_set():
                    raise httpx.ReadTimeout(f"no complete response within {self.timeout_s:g} s") from None
                raise
            finally:
                deadline.cancel()

    def _scrub(self, text: str) -> str:
        return text.replace(self._secret, "***") if self._secret else text

    def _excerpt(self, text: str, limit: int = 300) -> str:
        text = " ".join(self._scrub(text).split())
        return text if len(text) <= limit else text[:limit] + " …"


class _ThreadConnection:
    """One thread's client (a pool of one connection) and the socket of that connection, learnt when it was
    opened (httpx's ``trace`` extension) and kept while the pool reuses it."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client
        self.sock: socket.socket | None = None


class _Deadline:
    """Shuts the socket of one attempt down ``seconds`` after it started, so that a read blocked on it returns
    at once (and the connection is discarded, not pooled). The socket is the thread's pooled one from the
    start, replaced by a new one when the pool opens it (a closed stale socket is harmless to shut down)."""

    def __init__(self, seconds: float, connection: _ThreadConnection) -> None:
        self.expired = threading.Event()
        self._connection = connection
        self._sock: socket.socket | None = connection.sock
        self._lock = threading.Lock()  # the timer thread and the requesting thread both touch _sock
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def trace(self, event: str, info: dict[str, Any]) -> None:
        # a TLS connection's socket replaces the TCP one (ssl takes the file descriptor over), so learn both
        if event in ("connection.connect_tcp.complete", "connection.start_tls.complete"):
            stream = info.get("return_value")
            self._connection.sock = stream.get_extra_info("socket") if stream is not None else None
            self.watch(stream)

    def watch(self, stream: Any) -> None:
        """Cut this (httpcore network) stream's socket at the deadline, or now if it has passed."""
        sock = stream.get_extra_info("socket") if stream is not None else None
        with self._lock:
            self._sock = sock if sock is not None else self._sock
        if self.expired.is_set():
            self._shutdown()

    def cancel(self) -> None:
        self._timer.cancel()

    def _expire(self) -> None:
        self.expired.set()
        self._shutdown()

    def _shutdown(self) -> None:
        with self._lock:
            sock = self._sock
        if sock is not None:
            try:
                socket.socket.shutdown(sock, socket.SHUT_RDWR)  # the plain socket's method, also under TLS
            except OSError:
                pass  # already closed: the read has ended anyway
