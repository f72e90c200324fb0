"""--llm flag parsing, settings and records (factory.py, base.py)."""

from __future__ import annotations

import json

import pytest

from llmnas.errors import ConfigError
from llmnas.llm import CallRecord, LLMSettings, make_client, messages_hash, parse_llm_spec


def test_default_is_embedded_qwen() -> None:
    s = parse_llm_spec(None)
    assert (s.backend, s.model) == ("embedded", "qwen2.5-coder-0.5b-q4_0")  # the packaged file as Q4_0


@pytest.mark.parametrize("llm, kw, expect", [
    ("embedded:smollm2-135m", {}, ("embedded", "smollm2-135m", None)),
    ("embedded:/m/x.gguf", {}, ("embedded", "/m/x.gguf", None)),
    ("embedded", {"model": "qwen2.5-coder-1.5b"}, ("embedded", "qwen2.5-coder-1.5b", None)),
    ("openai", {"base_url": "http://h:8000/v1"}, ("openai", "auto", "http://h:8000/v1")),
    ("openai:gpt-x", {"base_url": "http://h/v1"}, ("openai", "gpt-x", "http://h/v1")),
    (None, {"base_url": "http://h/v1", "model": "m"}, ("openai", "m", "http://h/v1")),
])
def test_spec_forms(llm, kw, expect) -> None:
    s = parse_llm_spec(llm, **kw)
    assert (s.backend, s.model, s.base_url) == expect


def test_replay_and_overrides() -> None:
    s = parse_llm_spec("replay:runs/r1", temperature=0.2, seed=None, max_retries=9)
    assert (s.backend, s.replay_run, s.temperature, s.max_retries) == ("replay", "runs/r1", 0.2, 9)


@pytest.mark.parametrize("llm, kw, match", [
    ("gpt", {}, "unknown --llm value 'gpt'; choose one of: embedded"),
    ("openai", {}, "needs --llm-base-url"),
    ("embedded", {"base_url": "http://h/v1"}, "needs --llm openai"),
    ("replay", {}, "needs the run to replay"),
    ("embedded:a", {"model": "b"}, "different models"),
    ("embedded", {"temperature": -1}, "invalid llm setting temperature"),
    ("embedded", {"populaton": 3}, "invalid llm setting populaton"),
])
def test_spec_errors_name_the_fix(llm, kw, match) -> None:
    with pytest.raises(ConfigError, match=match):
        parse_llm_spec(llm, **kw)


def test_missing_api_key_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LLMNAS_NOPE", raising=False)
    settings = parse_llm_spec("openai", base_url="http://h/v1", api_key_env="LLMNAS_NOPE")
    with pytest.raises(ConfigError, match="LLMNAS_NOPE .* is not set"):
        make_client(settings)


def test_settings_are_json_and_strict() -> None:
    s = LLMSettings(seed=3, stop=["\n"])
    assert LLMSettings.model_validate_json(s.model_dump_json()) == s
    with pytest.raises(Exception, match="extra"):
        LLMSettings(api_key="sk-123")  # a key has no place in the config


def test_call_record_round_trip() -> None:
    msgs = [{"role": "user", "content": "hi"}]
    rec = CallRecord("p", msgs, {"type": "object"}, {"temperature": 0.1}, text="x",
                     timings={"prompt_n": 3.0}, cost_usd=0.5)
    again = CallRecord.from_dict({**json.loads(json.dumps(rec.to_dict())), "future": 1})
    assert again == rec and rec.messages_hash == messages_hash(msgs)
    assert messages_hash(msgs) != messages_hash([{"role": "user", "content": "hi!"}])


def test_cost_from_prices() -> None:
    from _llm_helpers import ListSink
    from llmnas.llm import ScriptedClient
    sink = ListSink()
    client = ScriptedClient(["one two"], sink=sink, settings=LLMSettings(
        price_in_per_mtok=1.0, price_out_per_mtok=2.0))
    client.chat([{"role": "user", "content": "a b c"}])
    assert sink.records[0].cost_usd == pytest.approx((3 * 1.0 + 2 * 2.0) / 1e6)


def test_a_plug_in_backend_needs_only_its_registration() -> None:
    """A back-end registered in llmnas.llm.backends is accepted by --llm, the settings and
    make_client, with no edit elsewhere; an unknown backend in settings names the choices."""
    from llmnas.llm import BACKENDS, Backend, register_backend
    from llmnas.llm.scripted import ScriptedTransport

    served = ScriptedTransport(['{"answer": 1}'], model="echo")
    if "test-echo" not in BACKENDS:
        register_backend(Backend("test-echo", ("test-echo:<model>",), lambda arg, model, url: {"model": arg or "echo"},
                                 lambda settings: served))
    s = parse_llm_spec("test-echo:tiny")
    assert (s.backend, s.model) == ("test-echo", "tiny")
    client = make_client(s)
    try:
        reply = client.chat([{"role": "user", "content": "hi"}])
    finally:
        client.close()
    assert reply.text == '{"answer": 1}' and len(served.requests) == 1
    with pytest.raises(ConfigError, match=r"test-echo:<model>"):
        parse_llm_spec("nope")
    with pytest.raises(Exception, match=r"unknown llm backend 'embeded'; did you mean 'embedded'"):
        LLMSettings(backend="embeded")
    with pytest.raises(ConfigError, match="serves recorded calls only"):
        from llmnas.llm.factory import _live

        _live(LLMSettings(backend="replay", replay_run="x"))
