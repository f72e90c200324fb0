"""Live token progress: while a progress listener wants tokens, the OpenAI-compatible transport
streams the reply (here from the real embedded server) and reports its tokens as they come."""

from __future__ import annotations

from llmnas import progress_events
from llmnas.llm import make_client
from llmnas.llm.client import ChatClient

SCHEMA = {"type": "object", "properties": {"colours": {"type": "array", "items": {"type": "string"},
                                                     "minItems": 3, "maxItems": 3}},
          "required": ["colours"], "additionalProperties": False}
ASK = [{"role": "user", "content": "Name three colours as JSON."}]


def test_streamed_reply_reports_tokens_and_matches_the_unstreamed_one(embedded: ChatClient) -> None:
    client = make_client(embedded.settings)
    try:
        plain = client.chat(ASK, schema=SCHEMA, purpose="generator", temperature=0.0, max_tokens=48, seed=3)
        events: list[progress_events.Event] = []
        with progress_events.listening(events.append):
            streamed = client.chat(ASK, schema=SCHEMA, purpose="generator", temperature=0.0, max_tokens=48, seed=3)
    finally:
        client.close()
    assert streamed.text == plain.text and streamed.parse_status == plain.parse_status != "failed"
    assert streamed.usage.completion_tokens == plain.usage.completion_tokens > 0
    assert streamed.usage.prompt_tokens == plain.usage.prompt_tokens > 0
    assert streamed.timings and streamed.timings["predicted_n"] > 0
    phases = [e for e in events if e.kind == "phase"]
    assert [(e.phase, e.detail) for e in phases] == [progress_events.ROLES["generator"]]
    counts = [e.tokens for e in events if e.kind == "tokens" and not e.waiting]
    assert counts == sorted(counts) and len(counts) >= 3  # live, not one jump at the end
    assert abs(counts[-1] - streamed.usage.completion_tokens) <= 2
    assert any(e.waiting for e in events)  # the request was announced before the first token


def test_no_listener_no_stream_no_events() -> None:
    assert not progress_events.active() and not progress_events.wants_tokens()
    seen: list[progress_events.Event] = []
    with progress_events.listening(seen.append, tokens=False):
        assert progress_events.active() and not progress_events.wants_tokens()
        progress_events.tokens(5, 1.0)  # not delivered: this listener did not ask for tokens
        progress_events.phase("evaluating", "1 architecture")
    progress_events.phase("evaluating", "after the block")  # nobody listens any more
    assert [(e.kind, e.detail) for e in seen] == [("phase", "1 architecture")]
