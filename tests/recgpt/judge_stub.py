"""A rule-based OpenAI-compatible judge server for the RecGPT judge tests.

It reads the judge request the ``recgpt_judge`` reward sends (``rewards.judging.rubric.judge_messages``): the judged
answer and the criteria listed in the message, and replies with a JSON verdict per listed criterion decided by
``rule(answer, criterion) -> bool``. So the expected score of any completion is computable in the test.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Rule = Callable[[str, str], bool]


def marker_rule(answer: str, criterion: str) -> bool:
    """A criterion fails when the answer holds the word ``no<criterion>`` (e.g. ``nofactuality``)."""
    return f"no{criterion}" not in answer.lower()


def request_parts(body: dict) -> tuple[str, list[str], str]:
    """(judged answer, criteria named in the request, the whole user message) of one chat request."""
    user = body["messages"][-1]["content"]
    answer = user.split("Recommended next item:\n", 1)[1].split("\n\nJudge the recommendation", 1)[0]
    criteria = [m.lower() for m in re.findall(r"^- (\w+):", user, re.MULTILINE)]
    return answer, criteria, user


class RuleJudge(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, rule: Rule = marker_rule) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.rule = rule
        self.requests: list[tuple[str, list[str], str]] = []  # (answer, criteria, user message) per request
        self.lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def __enter__(self) -> RuleJudge:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):  # keep test output clean
        pass

    def do_POST(self):  # noqa: N802 - http.server API
        server: RuleJudge = self.server  # type: ignore[assignment]
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        answer, criteria, user = request_parts(body)
        with server.lock:
            server.requests.append((answer, criteria, user))
        verdicts = {c: "Yes" if server.rule(answer, c) else "No" for c in criteria}
        data = json.dumps({"choices": [{"message": {"role": "assistant", "content": json.dumps(verdicts)}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def judge_params(server: RuleJudge, **params) -> dict:
    """``recgpt_judge`` params pointing at ``server`` (fast retries, no real key)."""
    return {"base_url": server.base_url, "model": "rule-judge", "api_key_env": None, "backoff_s": 0.01,
            "backoff_max_s": 0.02, "timeout_s": 5.0, **params}
