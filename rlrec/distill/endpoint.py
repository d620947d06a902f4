"""OpenAI-compatible ``chat/completions`` teacher (vLLM, SGLang, a hosted API) over :class:`rlrec.openai_client.ChatClient`.

Bounded concurrency (a thread pool of ``concurrency`` workers); timeouts, retries and errors are the shared
client's (one retry policy for every endpoint rlrec talks to). The API key is read from the environment
variable named by ``api_key_env`` and never appears in logs or error messages.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from rlrec.config import TeacherConfig
from rlrec.distill.teachers import TEACHERS
from rlrec.openai_client import ChatClient, EndpointError, backoff_delay, message_text

__all__ = ["EndpointTeacher", "TeacherEndpointError", "backoff_delay", "message_text"]


class TeacherEndpointError(EndpointError):
    """The teacher endpoint refused a request, or stayed unreachable after every retry. Names the URL and the fix."""


@TEACHERS.register("openai", description="OpenAI-compatible chat/completions endpoint (vLLM, SGLang, hosted APIs)")
class EndpointTeacher:
    def __init__(self, config: TeacherConfig, sleep: Callable[[float], None] = time.sleep) -> None:
        self.config = config
        self.name = f"openai:{config.model}"
        self._client = ChatClient(
            config.base_url, config.model, api_key_env=config.api_key_env, timeout_s=config.timeout_s,
            max_retries=config.max_retries, backoff_s=config.backoff_s, backoff_max_s=config.backoff_max_s,
            concurrency=config.concurrency, what="teacher endpoint", config_prefix="distill.teacher",
            hint="Finished candidates are stored: rerun to resume.", error=TeacherEndpointError, sleep=sleep,
        )
        self.url = self._client.url

    def request(self, prompt: str) -> str:
        """One completion (reasoning put back in ``<think>``), retried on transient failures; raises
        :class:`TeacherEndpointError` otherwise."""
        message = self._client.chat(
            [{"role": "user", "content": prompt}], max_tokens=self.config.max_new_tokens,
            temperature=self.config.temperature, top_p=self.config.top_p,
        )
        return message_text(message)

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
