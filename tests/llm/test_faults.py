"""Endpoint faults (openai_compat.py): bounded retries, clear errors, schema fallback; and the
client's bounded re-asks (client.py)."""

from __future__ import annotations

import socket
import time

import pytest
from _llm_helpers import ListSink, completion_body

from llmnas.errors import EndpointError, LLMReplyError
from llmnas.llm import LLMSettings, ScriptedClient, make_client

FAST = dict(backend="openai", model="m", backoff_base_s=0.05, backoff_max_s=0.2, timeout_s=5)
MSG = [{"role": "user", "content": "hi"}]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_endpoint_fails_fast_and_clearly(sink: ListSink) -> None:
    url = f"http://127.0.0.1:{_free_port()}/v1"
    client = make_client(LLMSettings(base_url=url, max_retries=2, **FAST), sink=sink)
    start = time.monotonic()
    with pytest.raises(EndpointError) as err:
        client.chat(MSG, purpose="probe")
    assert time.monotonic() - start < 5
    msg = str(err.value)
    assert url in msg and "after 3 tries" in msg and "connection refused" in msg
    assert "llmnas llm check" in msg and "\n" not in msg
    (rec,) = sink.records
    assert rec.error == msg and rec.purpose == "probe" and rec.text == ""


def test_retries_429_then_500_then_ok(fake_server, sink: ListSink) -> None:
    codes = {1: 429, 2: 500}
    server = fake_server(lambda body, n: (codes.get(n, 200), completion_body("fine")
                                          if n > 2 else {"error": {"message": "busy"}}, {}))
    client = make_client(LLMSettings(base_url=server.url, max_retries=3, **FAST), sink=sink)
    reply = client.chat(MSG)
    assert reply.text == "fine" and len(server.requests) == 3
    assert sink.records[0].retries == 2 and sink.records[0].error is None


def test_gives_up_on_persistent_503_within_wait_budget(fake_server) -> None:
    server = fake_server(lambda body, n: (503, {"error": "down"}, {}))
    client = make_client(LLMSettings(base_url=server.url, max_retries=50,
                                     retry_max_wait_s=0.5, **FAST))
    start = time.monotonic()
    with pytest.raises(EndpointError, match=r"kept failing after \d+ tries \(HTTP 503\)"):
        client.chat(MSG)
    assert time.monotonic() - start < 3 and 2 < len(server.requests) < 50


def test_timeout_is_bounded(fake_server) -> None:
    def slow(body, n):
        time.sleep(1.5)
        return 200, completion_body("late"), {}
    server = fake_server(slow)
    client = make_client(LLMSettings(base_url=server.url, max_retries=1,
                                     **{**FAST, "timeout_s": 0.3}))
    start = time.monotonic()
    with pytest.raises(EndpointError, match="timed out after 2 tries"):
        client.chat(MSG)
    assert time.monotonic() - start < 2


def test_client_errors_are_not_retried(fake_server) -> None:
    server = fake_server(lambda body, n: (404, {"error": {"message": "no model"}}, {}))
    client = make_client(LLMSettings(base_url=server.url, max_retries=5, **FAST))
    with pytest.raises(EndpointError, match="HTTP 404.*--llm-model"):
        client.chat(MSG)
    assert len(server.requests) == 1


def test_schema_falls_back_when_server_rejects_response_format(fake_server, sink) -> None:
    def picky(body, n):
        if "response_format" in body:
            return 400, {"error": {"message": "response_format not supported"}}, {}
        return 200, completion_body("Here: ```json\n{'k': 3,}\n```"), {}
    server = fake_server(picky)
    client = make_client(LLMSettings(base_url=server.url, **FAST), sink=sink)
    schema = {"type": "object", "properties": {"k": {"enum": [1, 2, 3]}}, "required": ["k"]}
    first = client.chat(MSG, schema=schema)
    second = client.chat(MSG, schema=schema)
    assert first.parsed == second.parsed == {"k": 3} and first.parse_status == "repaired"
    assert "JSON schema" in server.requests[1]["messages"][-1]["content"]
    assert len(server.requests) == 3  # the rejection is remembered: one 400 only
    assert [r.structured for r in sink.records] == ["prompt", "prompt"]
    assert sink.records[0].messages == MSG  # the record keeps the caller's messages


def test_json_schema_sent_to_remote_servers(fake_server) -> None:
    server = fake_server(lambda body, n: (200, completion_body('{"k": 1}'), {}))
    client = make_client(LLMSettings(base_url=server.url, **FAST))
    client.chat(MSG, schema={"type": "object"}, temperature=0.1, seed=7, stop=["\n\n"])
    body = server.requests[0]
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["schema"] == {"type": "object"}
    assert (body["temperature"], body["seed"], body["stop"]) == (0.1, 7, ["\n\n"])


def test_reask_adds_reason_and_records_each_ask(sink: ListSink) -> None:
    schema = {"type": "array", "items": {"enum": [0, 1]}, "minItems": 2, "maxItems": 2}
    client = ScriptedClient(["no idea", "[0, 5]", "<think>ok</think>[1, 0]"], sink=sink)
    reply = client.chat(MSG, schema=schema, purpose="gen")
    assert reply.parsed == [1, 0] and reply.asks == 3 and reply.reasoning == "ok"
    assert [r.parse_status for r in sink.records] == ["failed", "failed", "ok"]
    assert [r.ask for r in sink.records] == [0, 1, 2]
    second = client.requests[1].messages
    assert second[-2] == {"role": "assistant", "content": "no idea"}
    assert "no JSON value found" in second[-1]["content"]
    assert "schema:" in client.requests[2].messages[-1]["content"]


def test_reasks_are_bounded_then_llm_reply_error(sink: ListSink) -> None:
    client = ScriptedClient(["x", "y", "z", "[1]"],
                            settings=LLMSettings(max_reasks=1), sink=sink)
    with pytest.raises(LLMReplyError, match="unusable after 2 asks") as err:
        client.chat(MSG, schema={"type": "array"}, purpose="gen")
    assert err.value.reply.parse_status == "failed"  # type: ignore[attr-defined]
    assert len(sink.records) == 2


def test_validate_callback_triggers_reask() -> None:
    client = ScriptedClient(["seven", "8"])
    reply = client.chat(MSG, validate=lambda text: None if text.isdigit() else "need digits")
    assert reply.text == "8" and reply.parse_status == "none" and reply.asks == 2
    assert "validate: need digits" in client.requests[1].messages[-1]["content"]


def test_scripted_endpoint_error_is_recorded(sink: ListSink) -> None:
    client = ScriptedClient([EndpointError("down; fix it")], sink=sink)
    with pytest.raises(EndpointError):
        client.chat(MSG)
    assert sink.records[0].error == "down; fix it"


def test_endpoint_that_goes_away_and_comes_back(sink: ListSink) -> None:
    """Connection refused for a while (server down), then the server is back: the call waits
    with back-off and succeeds, within the retry budget (scaled down from the default minute)."""
    import threading

    port = _free_port()
    probe = FakeServerOn(port)  # built but not listening yet
    start = time.monotonic()  # before the timer: the outage lasts 1.5 s from here
    threading.Timer(1.5, probe.start).start()
    client = make_client(LLMSettings(base_url=f"http://127.0.0.1:{port}/v1", max_retries=20,
                                     retry_max_wait_s=10, **FAST), sink=sink)
    try:
        reply = client.chat(MSG, purpose="outage")
        assert reply.text == "back" and 1.4 < time.monotonic() - start < 10
        assert sink.records[-1].retries >= 3 and sink.records[-1].error is None
    finally:
        probe.close()


def test_default_retry_budget_outlasts_a_one_minute_outage() -> None:
    s = LLMSettings()
    # worst case of the jittered back-off: half of each exponential delay, capped
    least = sum(min(s.backoff_max_s, s.backoff_base_s * 2 ** a) * 0.5 for a in range(s.max_retries))
    assert least >= 60 and s.retry_max_wait_s >= 60


class FakeServerOn:
    """An OpenAI-like server on a fixed port that starts listening only when told to."""

    def __init__(self, port: int) -> None:
        self.port, self.httpd = port, None

    def start(self) -> None:
        from _fake_http import serve_json

        self.httpd, _ = serve_json(lambda body, headers: (200, completion_body("back"), {}), self.port)

    def close(self) -> None:
        if self.httpd is not None:
            from _fake_http import stop

            stop(self.httpd)


def test_embedded_requests_get_a_cpu_sized_timeout() -> None:
    from llmnas.llm.base import Request
    from llmnas.llm.embedded import local_timeout

    long_reply = Request([{"role": "user", "content": "x" * 5000}], None, {"max_tokens": 1300}, 120.0)
    assert local_timeout(long_reply) >= 60 + 650 + 100  # never the remote-style 120 s
    short = Request([{"role": "user", "content": "hi"}], None, {"max_tokens": 8}, 120.0)
    assert local_timeout(short) < 120  # then the configured timeout stands


def test_embedded_transport_applies_the_cpu_sized_timeout() -> None:
    from llmnas.llm.base import Request
    from llmnas.llm.embedded import EmbeddedTransport

    seen: list[float] = []

    class Http:
        def complete(self, request):  # records what would be sent to the local server
            seen.append(request.timeout_s)
            return "done"

    t = EmbeddedTransport(LLMSettings(model="smollm2-135m"))
    from types import SimpleNamespace

    t.server, t._http = SimpleNamespace(slot_for=lambda purpose: 0), Http()  # type: ignore[assignment]
    assert t.complete(Request(MSG, None, {"max_tokens": 1300}, 120.0)) == "done"
    assert seen == [60 + 650 + 2 / 2.5 / 20]
