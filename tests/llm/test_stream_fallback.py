"""A server that ignores ``stream`` (answers plain JSON) or refuses it (HTTP 400) still gets
its request answered while a progress listener wants tokens: the transport asks plainly."""

from __future__ import annotations

from _fake_http import serve_json, stop

from llmnas import progress_events
from llmnas.llm import LLMSettings, make_client

REPLY = {"id": "x", "object": "chat.completion", "created": 0, "model": "m",
         "choices": [{"index": 0, "message": {"role": "assistant", "content": "blue"}, "finish_reason": "stop"}],
         "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6}}


def _ask(answer):
    seen: list[dict] = []

    def handler(body, headers):
        seen.append(body)
        return answer(body)

    httpd, url = serve_json(handler)
    client = make_client(LLMSettings(backend="openai", base_url=url, model="m", max_retries=0, timeout_s=10))
    try:
        with progress_events.listening(lambda e: None):
            first = client.chat([{"role": "user", "content": "a colour"}])
            second = client.chat([{"role": "user", "content": "another"}])
    finally:
        client.close()
        stop(httpd)
    return first, second, seen


def test_a_server_that_ignores_stream_is_asked_plainly():
    first, second, seen = _ask(lambda body: (200, REPLY, {}))
    assert first.text == second.text == "blue" and first.usage.prompt_tokens == 5
    assert [b.get("stream", False) for b in seen] == [True, False, False]  # tried once, then plain


def test_a_server_that_refuses_stream_is_asked_plainly():
    def answer(body):
        if body.get("stream"):
            return 400, {"error": {"message": "stream_options not supported"}}, {}
        return 200, REPLY, {}

    first, second, seen = _ask(answer)
    assert first.text == second.text == "blue"
    assert [b.get("stream", False) for b in seen] == [True, False, False]
