"""``judge``: the RecGPT rubric, and the OpenAI-compatible backend against a local stub server
(success, 5xx retries, timeouts, an endpoint that stays down, refused requests, bounded concurrency)."""

from __future__ import annotations

import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from reward_toys import completion

from rewards import make_reward
from rewards.judging.backends import JudgeEndpointError
from rewards.judging.rubric import aggregate, judge_messages, parse_verdicts
from rlrec.openai_client import backoff_delay

CRITERIA = ["relevance", "consistency", "specificity", "validity"]
SECRET = "sk-test-secret-123"


class StubJudge(ThreadingHTTPServer):
    """An OpenAI-compatible /v1/chat/completions stub. ``plan(n)`` gives the behaviour of request n:
    "ok", an HTTP status code, ("sleep", seconds) then ok, ("text", reply), ("retry_after", status, header
    value), or ("trickle", seconds): a verdict sent one byte per ``seconds``."""

    daemon_threads = True

    def __init__(self, plan=lambda n: "ok", delay: float = 0.0) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.plan, self.delay = plan, delay
        self.count, self.in_flight, self.max_in_flight = 0, 0, 0
        self.auth: list[str | None] = []
        self.bodies: list[dict] = []
        self.lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


def _verdicts_for(body: dict) -> dict:
    answer = body["messages"][-1]["content"].split("Recommended next item:\n")[1].split("\n")[0]
    if "Vague" in answer:
        return {"relevance": "Yes", "consistency": "Yes", "specificity": "No", "validity": "Yes"}
    if "Bad" in answer:
        return {"relevance": "No", "consistency": "No", "specificity": "Yes", "validity": "No"}
    return {name: "Yes" for name in CRITERIA}


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):  # keep test output clean
        pass

    def do_POST(self):  # noqa: N802 - http.server API
        server: StubJudge = self.server  # type: ignore[assignment]
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with server.lock:
            n = server.count
            server.count += 1
            server.in_flight += 1
            server.max_in_flight = max(server.max_in_flight, server.in_flight)
            server.auth.append(self.headers.get("Authorization"))
            server.bodies.append(body)
        try:
            behaviour = server.plan(n)
            time.sleep(server.delay)
            if isinstance(behaviour, tuple) and behaviour[0] == "sleep":
                time.sleep(behaviour[1])
            if isinstance(behaviour, int):
                self._send(behaviour, {"error": f"stub failure, your key {SECRET} is fine"})
                return
            if isinstance(behaviour, tuple) and behaviour[0] == "retry_after":
                self._send(behaviour[1], {"error": "busy"}, {"Retry-After": behaviour[2]})
                return
            if isinstance(behaviour, tuple) and behaviour[0] == "trickle":
                self._send(200, {"choices": [{"message": {"role": "assistant", "content": json.dumps(
                    _verdicts_for(body))}}]}, trickle_s=behaviour[1])
                return
            content = behaviour[1] if isinstance(behaviour, tuple) and behaviour[0] == "text" else json.dumps(_verdicts_for(body))
            self._send(200, {"choices": [{"message": {"role": "assistant", "content": content}}]})
        except OSError:
            pass  # the client gave up (timeout tests)
        finally:
            self._leave()

    def _leave(self) -> None:
        """Leave the in-flight count once, before the response is written: the client may send its next request
        as soon as it has read this one, which must not count as overlapping it."""
        if not getattr(self, "_left", False):
            self._left = True
            with self.server.lock:  # type: ignore[attr-defined]
                self.server.in_flight -= 1  # type: ignore[attr-defined]

    def _send(self, status: int, payload: dict, headers: dict | None = None, trickle_s: float = 0.0) -> None:
        self._leave()
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if not trickle_s:
            self.wfile.write(data)
            return
        self.wfile.flush()
        for i in range(len(data)):
            self.wfile.write(data[i:i + 1])
            self.wfile.flush()
            time.sleep(trickle_s)


@pytest.fixture()
def stub():
    servers = []

    def start(plan=lambda n: "ok", delay=0.0) -> StubJudge:
        server = StubJudge(plan, delay)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture(autouse=True)
def api_key(monkeypatch):
    monkeypatch.setenv("RLREC_TEST_JUDGE_KEY", SECRET)


def _judge(server, **params):
    base = {"base_url": server.base_url, "model": "stub", "api_key_env": "RLREC_TEST_JUDGE_KEY", "backoff_s": 0.01,
            "backoff_max_s": 0.02, "timeout_s": 5.0}
    return make_reward("judge", {**base, **params})


# ----------------------------------------------------------------------------------------------- rubric


def test_parse_verdicts_json_lines_and_failures():
    assert parse_verdicts('{"Relevance": "Yes", "consistency": "no", "specificity": true, "validity": "Yes"}', CRITERIA) == {
        "relevance": True, "consistency": False, "specificity": True, "validity": True}
    lines = "Relevance: Yes\nConsistency: Yes\nSpecificity - No\nValidity: yes."
    assert parse_verdicts(lines, CRITERIA) == {"relevance": True, "consistency": True, "specificity": False,
                                               "validity": True}
    assert parse_verdicts('{"relevance": "Yes"}', CRITERIA) is None  # a criterion without a verdict
    assert parse_verdicts("looks great", CRITERIA) is None


def test_aggregate_mean_and_all():
    verdicts = {"relevance": True, "consistency": True, "specificity": False, "validity": True}
    assert aggregate(verdicts, "mean") == 0.75 and aggregate(verdicts, "all") == 0.0
    assert aggregate({k: True for k in verdicts}, "all") == 1.0


def test_judge_messages_hold_context_answer_and_every_criterion():
    messages = judge_messages("User bought milk", "Item title: Cheese", ["relevance", "validity"])
    user = messages[-1]["content"]
    assert "User bought milk" in user and "Item title: Cheese" in user
    assert "Relevance:" in user and "Validity:" in user and "Specificity" not in user


def test_backoff_is_exponential_and_capped():
    assert [backoff_delay(i, 1.0, 5.0) for i in range(5)] == [1.0, 2.0, 4.0, 5.0, 5.0]


# ---------------------------------------------------------------------------------------------- backend


def test_scores_hand_computed_dedupes_and_sends_the_key(stub):
    server = stub()
    judge = _judge(server)
    completions = [completion("Good Cheese"), completion("Vague Thing"), completion("Bad Idea"), "junk",
                   completion("Good Cheese")]
    values = judge(["ctx"] * 5, completions)
    assert values == [1.0, 0.75, 0.25, 0.0, 1.0]  # junk: unparseable -> 0 without a request
    assert server.count == 3  # the repeated (context, answer) pair is judged once
    assert server.auth == [f"Bearer {SECRET}"] * 3
    assert judge(["ctx"], [completion("Good Cheese")]) == [1.0] and server.count == 3  # remembered
    assert _judge(server, aggregate="all")(["ctx"], [completion("Vague Thing")]) == [0.0]


def test_retries_5xx_with_backoff(stub):
    server = stub(plan=lambda n: 503 if n < 2 else "ok")
    judge = _judge(server, max_retries=3)
    assert judge(["ctx"], [completion("Good Cheese")]) == [1.0]
    assert server.count == 3 and judge.extra_stats()["judge_retries"] == 2.0


def test_retries_after_a_timeout(stub):
    server = stub(plan=lambda n: ("sleep", 1.0) if n == 0 else "ok")
    judge = _judge(server, timeout_s=0.2, max_retries=2)
    start = time.perf_counter()
    assert judge(["ctx"], [completion("Good Cheese")]) == [1.0]
    assert server.count == 2 and time.perf_counter() - start < 1.0


def test_timeout_bounds_the_whole_request_of_a_trickling_server(stub):
    """Issue 14 finding 11: one byte every 0.2 s passes every per-read timeout; the deadline must still hold."""
    server = stub(plan=lambda n: ("trickle", 0.2) if n == 0 else "ok")
    judge = _judge(server, timeout_s=0.6, max_retries=1)
    start = time.perf_counter()
    assert judge(["ctx"], [completion("Good Cheese")]) == [1.0]
    assert server.count == 2 and time.perf_counter() - start < 2.5  # the trickle alone takes > 20 s


def test_retry_after_on_429_is_honoured(stub):
    server = stub(plan=lambda n: ("retry_after", 429, "3") if n == 0 else "ok")
    judge = _judge(server, max_retries=2)
    slept: list[float] = []
    judge.backend.client._sleep = slept.append  # record the wait instead of taking it
    assert judge(["ctx"], [completion("Good Cheese")]) == [1.0]
    assert server.count == 2 and slept == [3.0]  # the server's 3 s, not the 0.01 s backoff


def test_endpoint_that_stays_down_names_the_url_and_never_the_key(stub, caplog):
    server = stub(plan=lambda n: 500)
    judge = _judge(server, max_retries=2)
    with caplog.at_level(logging.WARNING), pytest.raises(JudgeEndpointError) as err:
        judge(["ctx"], [completion("Good Cheese")])
    assert f"{server.base_url}/chat/completions" in str(err.value) and "3 attempts" in str(err.value)
    assert server.count == 3
    assert SECRET not in str(err.value) and SECRET not in caplog.text


def test_nothing_listening_is_an_error_naming_the_url():
    judge = make_reward("judge", {"base_url": "http://127.0.0.1:9/v1", "max_retries": 1, "backoff_s": 0.01,
                                  "timeout_s": 1.0})
    with pytest.raises(JudgeEndpointError, match=r"http://127\.0\.0\.1:9/v1/chat/completions"):
        judge(["ctx"], [completion("Good Cheese")])


def test_on_error_none_scores_none_and_counts(stub):
    server = stub(plan=lambda n: 502)
    judge = _judge(server, max_retries=1, on_error="none")
    assert judge(["ctx", "ctx"], [completion("A"), completion("B")]) == [None, None]
    assert judge.extra_stats()["judge_failures"] == 2.0


def test_refused_request_is_not_retried_and_the_key_is_scrubbed(stub):
    server = stub(plan=lambda n: 401)
    judge = _judge(server, max_retries=3)
    with pytest.raises(JudgeEndpointError, match="HTTP 401") as err:
        judge(["ctx"], [completion("Good Cheese")])
    assert server.count == 1 and SECRET not in str(err.value) and "***" in str(err.value)


def test_unreadable_verdict_is_none_and_counted(stub):
    server = stub(plan=lambda n: ("text", "It is a fine recommendation."))
    judge = _judge(server)
    assert judge(["ctx"], [completion("Good Cheese")]) == [None]
    assert judge.extra_stats()["judge_unreadable"] == 1.0


def test_concurrency_is_bounded(stub):
    server = stub(delay=0.05)
    judge = _judge(server, concurrency=3)
    values = judge(["ctx"] * 12, [completion(f"Good {i}") for i in range(12)])
    assert values == [1.0] * 12 and server.count == 12
    assert 1 < server.max_in_flight <= 3


# --------------------------------------------------------------------------------------------- local HF


def test_local_hf_backend_runs_the_rubric_on_a_tiny_model(tiny_lm_path):
    judge = make_reward("judge", {"backend": "hf", "model": str(tiny_lm_path), "max_tokens": 8})
    completions = [completion("Good Cheese"), completion("Bad Idea"), "junk"]
    first = judge(["ctx"] * 3, completions)
    assert len(first) == 3 and first[2] == 0.0
    assert all(v is None or 0.0 <= v <= 1.0 for v in first[:2])
    replies = judge.backend.complete([judge_messages("ctx", "Item title: X", CRITERIA)] * 2)
    assert len(replies) == 2 and replies[0] == replies[1]  # greedy: deterministic
    unreadable = judge.extra_stats()["judge_unreadable"]
    assert unreadable == sum(v is None for v in first)  # a random 2-layer model writes no verdicts
