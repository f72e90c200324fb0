"""Replay (replay.py): reproduce a run's replies without a model, detect mismatches, resume."""

from __future__ import annotations

import json

import pytest
from _llm_helpers import ListSink, needs_smollm

from llmnas.errors import ConfigError
from llmnas.llm import (
    CallRecord, LLMSettings, ReplayExhaustedError, ReplayMismatchError, ScriptedClient,
    make_client,
)
from llmnas.llm.client import ChatClient

SCHEMA = {"type": "array", "items": {"enum": [0, 1, 2]}, "minItems": 3, "maxItems": 3}
ASKS = [[{"role": "user", "content": f"cell {i}"}] for i in range(3)]


def _recorded_run() -> tuple[list, list[CallRecord]]:
    sink = ListSink()
    client = ScriptedClient(["[0, 1, 2]", "nope", "[2, 2, 1]", "[1, 1, 1]"], sink=sink)
    replies = [client.chat(m, schema=SCHEMA, purpose="gen") for m in ASKS]
    stored = [CallRecord.from_dict(json.loads(json.dumps(r.to_dict()))) for r in sink.records]
    return replies, stored


def test_replay_reproduces_replies_without_a_model() -> None:
    replies, records = _recorded_run()
    sink = ListSink()
    settings = LLMSettings(backend="replay", replay_run="runs/a", model="no-such-model")
    client = make_client(settings, sink=sink, replay=lambda path: records)
    again = [client.chat(m, schema=SCHEMA, purpose="gen") for m in ASKS]
    assert [r.parsed for r in again] == [r.parsed for r in replies]
    assert [r.asks for r in again] == [1, 2, 1] and all(r.cached for r in again)
    assert len(sink.records) == 4 and all(r.cached for r in sink.records)
    with pytest.raises(ReplayExhaustedError, match="only 4 recorded"):
        client.chat(ASKS[0])


def test_replay_detects_mismatch_strictly() -> None:
    _, records = _recorded_run()
    client = make_client(LLMSettings(backend="replay", replay_run="runs/a"), replay=records)
    client.chat(ASKS[0], schema=SCHEMA)
    with pytest.raises(ReplayMismatchError, match="mismatch at call 2 of runs/a"):
        client.chat([{"role": "user", "content": "something else"}], schema=SCHEMA)


def test_lenient_replay_serves_recorded_reply() -> None:
    _, records = _recorded_run()
    client = make_client(LLMSettings(backend="replay", replay_strict=False), replay=records)
    reply = client.chat([{"role": "user", "content": "changed prompt"}], schema=SCHEMA)
    assert reply.parsed == [0, 1, 2] and reply.cached


def test_replay_then_live_resumes_without_reasking() -> None:
    _, records = _recorded_run()
    live = ScriptedClient(["[0, 0, 0]", "[1, 2, 0]"])
    sink = ListSink()
    from llmnas.llm.replay import ReplayTransport
    client = ChatClient(live.settings, ReplayTransport(records[:2], live=live.transport),
                        sink=sink, record_cached=False)
    first = client.chat(ASKS[0], schema=SCHEMA)
    second = client.chat(ASKS[1], schema=SCHEMA)  # recorded "nope", then the live re-ask
    third = client.chat(ASKS[2], schema=SCHEMA)
    assert first.cached and first.parsed == [0, 1, 2]
    assert second.parsed == [0, 0, 0] and not second.cached and second.asks == 2
    assert third.parsed == [1, 2, 0] and len(live.requests) == 2
    assert "could not be used" in live.requests[0].messages[-1]["content"]
    assert [r.cached for r in sink.records] == [False, False]  # replayed calls not re-recorded


def test_errors_are_skipped_and_replay_needs_records() -> None:
    _, records = _recorded_run()
    failed = CallRecord("gen", ASKS[0], SCHEMA, {}, error="endpoint down")
    client = make_client(LLMSettings(backend="replay"), replay=[failed, *records])
    assert client.chat(ASKS[0], schema=SCHEMA).parsed == [0, 1, 2]
    with pytest.raises(ConfigError, match="recorded LLM calls"):
        make_client(LLMSettings(backend="replay"))


@needs_smollm
def test_replay_then_live_with_the_embedded_model(embedded: ChatClient) -> None:
    sink = ListSink()
    first = make_client(embedded.settings, sink=sink)
    original = first.chat(ASKS[0], max_tokens=12)
    first.close()
    resumed_sink = ListSink()
    resumed = make_client(embedded.settings, sink=resumed_sink, replay=sink.records,
                          replay_then_live=True)
    again = resumed.chat(ASKS[0], max_tokens=12)
    live = resumed.chat(ASKS[1], max_tokens=12)
    resumed.close()
    assert again.text == original.text and again.cached
    assert not live.cached and live.text and live.model == "smollm2-135m"
    assert len(resumed_sink.records) == 1 and resumed_sink.records[0].messages == ASKS[1]
