"""The OpenAI-compatible teacher against a stub HTTP server on 127.0.0.1: retries, timeouts, errors."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from rlrec.config import TeacherConfig
from rlrec.distill.endpoint import EndpointTeacher, TeacherEndpointError, backoff_delay, message_text
from rlrec.distill.teachers import build_teacher
from rlrec.openai_client import ChatClient, retry_after_s

SECRET = "sk-test-SECRET-never-logged"


class Stub:
    """Serves /v1/chat/completions following a script: a list of actions consumed one per request
    ("ok", "500", "503", "429", "401", "garbage", "slow", "trickle": the headers at once, then the body one byte
    every ``delay_s``; "trickle_headers": the status line and headers one byte every ``delay_s``;
    "429:<Retry-After value>"); after the script, "ok". ``keep_alive`` speaks HTTP/1.1, so the client reuses its
    connection; ``connections`` counts the TCP connections accepted."""

    def __init__(self, script=(), delay_s: float = 0.5, keep_alive: bool = False) -> None:
        self.script = list(script)
        self.connections = 0
        self.delay_s = delay_s
        self.requests: list[dict] = []
        self.auth: list[str | None] = []
        self.lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1" if keep_alive else "HTTP/1.0"

            def log_message(self, *args):  # keep pytest output clean
                pass

            def setup(self):
                super().setup()
                with stub.lock:
                    stub.connections += 1

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with stub.lock:
                    stub.requests.append(body)
                    stub.auth.append(self.headers.get("Authorization"))
                    action = stub.script.pop(0) if stub.script else "ok"
                    stub.in_flight += 1
                    stub.max_in_flight = max(stub.max_in_flight, stub.in_flight)
                self._counted = True
                try:
                    if self.path != "/v1/chat/completions":
                        return self._send(404, {"error": "not found"})
                    if action == "slow":
                        time.sleep(stub.delay_s)
                    elif action == "hold":
                        time.sleep(0.3)  # long enough for requests to overlap even on a loaded machine
                    if action.startswith("429:"):
                        return self._send(429, {"error": "slow down"}, {"Retry-After": action[4:]})
                    if action == "trickle":
                        return self._trickle(f"echo:{body['messages'][0]['content']}")
                    if action == "trickle_headers":
                        return self._trickle(f"echo:{body['messages'][0]['content']}", headers_too=True)
                    if action in {"500", "503", "429", "401"}:
                        return self._send(int(action), {"error": {"message": f"scripted {action}"}})
                    if action == "garbage":
                        return self._send(200, {"unexpected": True})
                    content = body["messages"][0]["content"]
                    self._send(200, {"choices": [{"message": {"role": "assistant", "content": f"echo:{content}"}}]})
                finally:
                    self._done()

            def _done(self):
                """Leave the in-flight count *before* the client can read the response (it may send its next
                request at once, which would otherwise be counted while this one still is)."""
                if self._counted:
                    self._counted = False
                    with stub.lock:
                        stub.in_flight -= 1

            def _send(self, status, payload, headers=None):
                data = json.dumps(payload).encode()
                self._done()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for name, value in (headers or {}).items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client timed out and left
                    pass

            def _trickle(self, content, headers_too=False):
                """A valid completion, one byte every ``delay_s``: each read is quick, the whole is not."""
                data = json.dumps({"choices": [{"message": {"role": "assistant", "content": content}}]}).encode()
                head = (f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(data)}"
                        "\r\n\r\n").encode()
                data = head + data if headers_too else data
                self._done()
                try:
                    if not headers_too:
                        self.send_response(200)
                        self.send_header("Content-Type", "application/json")
                        self.send_header("Content-Length", str(len(data)))
                        self.end_headers()
                        self.wfile.flush()
                    for i in range(len(data)):
                        self.wfile.write(data[i:i + 1])
                        self.wfile.flush()
                        time.sleep(stub.delay_s)
                except OSError:  # the client hung up at its deadline
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def _teacher(url: str, **kw) -> EndpointTeacher:
    config = TeacherConfig(backend="openai", model="stub-model", base_url=url, api_key_env="RLREC_TEST_KEY",
                           backoff_s=0.01, backoff_max_s=0.02, **{"max_retries": 3, "timeout_s": 5.0, **kw})
    return EndpointTeacher(config)


@pytest.fixture(autouse=True)
def api_key(monkeypatch):
    monkeypatch.setenv("RLREC_TEST_KEY", SECRET)


def test_registry_builds_the_endpoint_teacher(api_key):
    teacher = build_teacher(TeacherConfig(backend="openai", model="m", base_url="http://127.0.0.1:1/v1"))
    assert isinstance(teacher, EndpointTeacher) and teacher.name == "openai:m"
    teacher.close()


def test_happy_path_sends_a_chat_request_with_the_key_and_sampling_settings():
    with Stub() as stub:
        teacher = _teacher(stub.url, max_new_tokens=77, temperature=0.3)
        out = dict(teacher.complete(["p0", "p1", "p2"]))
        teacher.close()
    assert out == {0: "echo:p0", 1: "echo:p1", 2: "echo:p2"}
    body = stub.requests[0]
    assert body["model"] == "stub-model" and body["max_tokens"] == 77 and body["temperature"] == 0.3
    assert body["messages"] == [{"role": "user", "content": body["messages"][0]["content"]}]
    assert stub.auth == [f"Bearer {SECRET}"] * 3


def test_5xx_and_429_are_retried_then_succeed():
    with Stub(["500", "503", "429"]) as stub:
        teacher = _teacher(stub.url, concurrency=1)
        assert teacher.request("hello") == "echo:hello"
        teacher.close()
    assert len(stub.requests) == 4


def test_timeout_is_retried():
    with Stub(["slow"], delay_s=2.0) as stub:
        teacher = _teacher(stub.url, timeout_s=0.3, concurrency=1)
        assert teacher.request("hi") == "echo:hi"
        teacher.close()
    assert len(stub.requests) == 2  # the first (slow) request timed out and was retried


def test_timeout_is_a_whole_request_deadline_not_a_per_read_limit():
    """A server trickling the body one byte at a time (each read well within timeout_s) must not hold a
    request past timeout_s: issue 14 finding 11 saw 30 s at timeout_s=2."""
    with Stub(["trickle"], delay_s=0.2) as stub:
        teacher = _teacher(stub.url, timeout_s=0.6, max_retries=0, concurrency=1)
        start = time.monotonic()
        with pytest.raises(TeacherEndpointError, match=r"no complete response within timeout_s=0\.6 s") as err:
            teacher.request("a prompt long enough to take many seconds to trickle")
        elapsed = time.monotonic() - start
        teacher.close()
    assert elapsed < 1.5, f"held {elapsed:.1f} s at timeout_s=0.6"  # the whole trickle would take > 15 s
    assert "distill.teacher.timeout_s" in str(err.value)


def test_the_deadline_also_covers_trickled_headers():
    with Stub(["trickle_headers"], delay_s=0.2) as stub:
        teacher = _teacher(stub.url, timeout_s=0.6, max_retries=0, concurrency=1)
        start = time.monotonic()
        with pytest.raises(TeacherEndpointError, match="no complete response within"):
            teacher.request("x")
        elapsed = time.monotonic() - start
        teacher.close()
    assert elapsed < 1.5, f"held {elapsed:.1f} s at timeout_s=0.6"


def test_the_deadline_covers_trickled_headers_on_a_reused_keep_alive_connection():
    """Issue 14 finding 11's last gap: the second request goes over the pooled connection of the first, and the
    server trickles its headers; the attempt must still end at timeout_s."""
    with Stub(["ok", "trickle_headers"], delay_s=0.2, keep_alive=True) as stub:
        teacher = _teacher(stub.url, timeout_s=0.6, max_retries=0, concurrency=1)
        assert teacher.request("first") == "echo:first"
        start = time.monotonic()
        with pytest.raises(TeacherEndpointError, match="no complete response within"):
            teacher.request("second")
        elapsed = time.monotonic() - start
        connections = stub.connections
        teacher.close()
    assert connections == 1, "the second request did not reuse the first one's connection"
    assert elapsed < 1.5, f"held {elapsed:.1f} s at timeout_s=0.6"


def test_a_trickled_request_is_retried_and_the_retry_succeeds():
    with Stub(["trickle"], delay_s=0.2) as stub:
        teacher = _teacher(stub.url, timeout_s=0.6, max_retries=1, concurrency=1)
        start = time.monotonic()
        assert teacher.request("hi there, a prompt") == "echo:hi there, a prompt"
        elapsed = time.monotonic() - start
        teacher.close()
    assert len(stub.requests) == 2 and elapsed < 2.5


def test_429_retry_after_is_honoured():
    slept: list[float] = []
    with Stub(["429:2", "429:0"]) as stub:
        config = TeacherConfig(backend="openai", model="stub-model", base_url=stub.url, api_key_env="RLREC_TEST_KEY",
                               backoff_s=0.01, backoff_max_s=0.02, max_retries=3, concurrency=1)
        teacher = EndpointTeacher(config, sleep=slept.append)
        assert teacher.request("x") == "echo:x"
        teacher.close()
    assert len(stub.requests) == 3
    assert slept[0] == 2.0  # what the server asked, not the 0.01 s backoff
    assert 0.005 <= slept[1] <= 0.02  # Retry-After 0: the ordinary backoff still applies


def test_retry_after_is_capped_and_read_in_both_forms():
    assert retry_after_s("7") == 7.0 and retry_after_s(" 1.5 ") == 1.5 and retry_after_s("-3") == 0.0
    assert retry_after_s("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert retry_after_s(None) is None and retry_after_s("soon") is None
    slept: list[float] = []
    with Stub(["429:3600"]) as stub:
        client = ChatClient(stub.url, "m", api_key_env=None, backoff_s=0.01, backoff_max_s=0.02,
                            retry_after_max_s=5.0, sleep=slept.append)
        assert client.chat([{"role": "user", "content": "y"}])["content"] == "echo:y"
        client.close()
    assert slept == [5.0]  # an hour asked, the cap waited


def test_persistent_5xx_gives_up_naming_the_url_without_the_key(caplog):
    caplog.set_level(logging.DEBUG)
    with Stub(["500"] * 10) as stub:
        teacher = _teacher(stub.url, max_retries=2)
        with pytest.raises(TeacherEndpointError) as err:
            teacher.request("x")
        teacher.close()
    assert len(stub.requests) == 3  # 1 try + 2 retries
    message = str(err.value)
    assert stub.url + "/chat/completions" in message and "HTTP 500" in message and "3 attempts" in message
    assert SECRET not in message and SECRET not in caplog.text
    assert "retry 1/2" in caplog.text


def test_unreachable_endpoint_names_the_url():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens on this port now
    url = f"http://127.0.0.1:{port}/v1"
    teacher = _teacher(url, max_retries=1)
    with pytest.raises(TeacherEndpointError, match="unreachable") as err:
        list(teacher.complete(["a"]))
    teacher.close()
    assert f"{url}/chat/completions" in str(err.value) and SECRET not in str(err.value)


def test_client_errors_fail_at_once_with_the_fix():
    with Stub(["401"]) as stub:
        teacher = _teacher(stub.url)
        with pytest.raises(TeacherEndpointError, match=r"HTTP 401.*RLREC_TEST_KEY") as err:
            teacher.request("x")
        teacher.close()
    assert len(stub.requests) == 1 and SECRET not in str(err.value)


def test_malformed_response_is_an_error_naming_the_url():
    with Stub(["garbage"]) as stub:
        teacher = _teacher(stub.url)
        with pytest.raises(TeacherEndpointError, match="choices"):
            teacher.request("x")
        teacher.close()


def test_concurrency_is_bounded_and_every_result_arrives():
    with Stub(["hold"] * 12) as stub:
        teacher = _teacher(stub.url, concurrency=3, timeout_s=30.0)
        out = dict(teacher.complete([f"p{i}" for i in range(12)]))
        teacher.close()
    assert sorted(out) == list(range(12)) and all(out[i] == f"echo:p{i}" for i in range(12))
    assert 1 < stub.max_in_flight <= 3


def test_reasoning_field_goes_back_inside_think():
    assert message_text({"content": "<answer>x</answer>", "reasoning_content": "why"}) == "<think>why</think><answer>x</answer>"
    assert message_text({"content": "plain"}) == "plain"


def test_backoff_doubles_and_is_capped():
    import random

    rng = random.Random(0)
    delays = [backoff_delay(a, 1.0, 5.0, rng) for a in range(5)]
    caps = [1.0, 2.0, 4.0, 5.0, 5.0]
    assert all(c * 0.5 <= d <= c for d, c in zip(delays, caps))
