"""The real embedded backend (xllamacpp + SmolLM2-135M): completions, constrained decoding,
plain HTTP access, and API-key hygiene for the remote backend pointed at it."""

from __future__ import annotations

import json
import time
from pathlib import Path

import openai
import pytest

from llmnas.errors import EndpointError
from llmnas.llm import LLMSettings, make_client
from llmnas.llm.client import ChatClient
from llmnas.llm.embedded import _RUNNING

from _llm_helpers import ListSink, SqliteJsonSink, needs_smollm

pytestmark = needs_smollm

# 10 architectures x 6 decisions, each decision from its own enum (mixed ints and strings)
DECISIONS = [[1, 2, 3], [16, 32, 64], ["conv", "pool", "skip"], [3, 5, 7],
             ["relu", "gelu"], [0, 1]]
ARCH = {"type": "array", "prefixItems": [{"enum": d} for d in DECISIONS], "items": False,
        "minItems": 6, "maxItems": 6}
TEN_ARCHS = {"type": "object", "properties": {"archs": {"type": "array", "items": ARCH,
                                                        "minItems": 10, "maxItems": 10}},
             "required": ["archs"], "additionalProperties": False}


def test_real_completion(embedded: ChatClient, sink: ListSink) -> None:
    client = make_client(embedded.settings, sink=sink)
    try:
        reply = client.chat([{"role": "user", "content": "Name one colour."}],
                            purpose="colour", max_tokens=16)
    finally:
        client.close()
    assert reply.text.strip() and reply.model == "smollm2-135m"
    assert reply.parse_status == "none" and not reply.cached
    assert reply.usage.prompt_tokens > 0 and 0 < reply.usage.completion_tokens <= 16
    assert reply.latency_s > 0 and reply.timings and reply.timings["predicted_n"] > 0
    (rec,) = sink.records
    assert rec.purpose == "colour" and rec.text == reply.text and rec.error is None
    assert rec.params["max_tokens"] == 16 and rec.params["seed"] == 0
    assert rec.backend == "embedded" and rec.endpoint.startswith("http://127.0.0.1:")
    assert json.loads(json.dumps(rec.to_dict()))["messages_hash"] == rec.messages_hash


@pytest.mark.slow
def test_schema_holds_20_of_20(embedded: ChatClient, sink: ListSink) -> None:
    client = make_client(embedded.settings.model_copy(update={"max_reasks": 0}), sink=sink)
    prompt = [{"role": "system", "content": "You design neural networks."},
              {"role": "user", "content": "Propose 10 architectures; each is a list of 6 "
               "decisions (depth, width, op, kernel, activation, skip). Reply in JSON."}]
    try:
        replies = [client.chat(prompt, schema=TEN_ARCHS, purpose="ten", temperature=1.0,
                               seed=i, max_tokens=400) for i in range(20)]
    finally:
        client.close()
    assert [r.parse_status for r in replies] == ["ok"] * 20
    for r in replies:
        assert len(r.parsed["archs"]) == 10
        for arch in r.parsed["archs"]:
            assert all(v in d for v, d in zip(arch, DECISIONS, strict=True))
    assert len({json.dumps(r.parsed) for r in replies}) > 1  # sampled, not canned
    assert {rec.structured for rec in sink.records} == {"grammar"}


def test_plain_openai_client_reaches_server(embedded: ChatClient) -> None:
    server = embedded.transport.start()  # type: ignore[attr-defined]
    plain = openai.OpenAI(base_url=server.base_url, api_key=server.token, max_retries=0)
    ids = [m.id for m in plain.models.list()]
    out = plain.chat.completions.create(model="smollm2-135m", max_tokens=8,
                                        messages=[{"role": "user", "content": "Hi"}])
    assert "smollm2-135m" in ids and out.choices[0].message.content
    outsider = openai.OpenAI(base_url=server.base_url, api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):  # the loopback port is not open to all
        outsider.models.list()


def test_api_key_never_stored(embedded: ChatClient, tmp_path: Path,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    server = embedded.transport.start()  # type: ignore[attr-defined]
    secret = server.token  # the server rejects requests without it, so it must be sent
    monkeypatch.setenv("LLMNAS_TEST_SECRET", secret)
    settings = LLMSettings(backend="openai", base_url=server.base_url, model="smollm2-135m",
                           api_key_env="LLMNAS_TEST_SECRET", max_tokens=8, max_retries=0)
    store = SqliteJsonSink(tmp_path)
    client = make_client(settings, sink=store)
    reply = client.chat([{"role": "user", "content": "Hi"}], purpose="key")
    assert reply.text
    with pytest.raises(EndpointError, match="rejected the request") as err:
        client.chat([{"role": "user", "content": "word " * 6000}], purpose="too-long")
    texts = [str(err.value), repr(client), repr(settings), settings.model_dump_json(),
             store.jsonl.read_text(), (tmp_path / "calls.sqlite").read_bytes().decode("latin-1")]
    client.close()
    assert all(secret not in t for t in texts)
    assert "LLMNAS_TEST_SECRET" in settings.model_dump_json()  # the name is kept, not the value
    assert len(store.load()) == 2 and store.load()[1].error


def test_wrong_key_is_rejected_without_echo(embedded: ChatClient,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    server = embedded.transport.start()  # type: ignore[attr-defined]
    monkeypatch.setenv("LLMNAS_TEST_WRONG", "wrong-key-123")
    client = make_client(LLMSettings(backend="openai", base_url=server.base_url,
                                     model="auto", api_key_env="LLMNAS_TEST_WRONG"))
    with pytest.raises(EndpointError, match="rejected the API key") as err:
        client.chat([{"role": "user", "content": "Hi"}])
    assert "wrong-key-123" not in str(err.value) and "LLMNAS_TEST_WRONG" in str(err.value)


def test_server_shared_and_stopped_on_last_close(embedded_settings: LLMSettings) -> None:
    before = len(_RUNNING)
    a = make_client(embedded_settings.model_copy(update={"n_ctx": 1024}))
    b = make_client(embedded_settings.model_copy(update={"n_ctx": 1024}))
    assert a.transport.start() is b.transport.start()  # type: ignore[attr-defined]
    url = a.transport.endpoint
    assert len(_RUNNING) == before + 1
    a.close()
    assert len(_RUNNING) == before + 1
    b.close()
    assert len(_RUNNING) == before
    time.sleep(0.2)
    probe = make_client(LLMSettings(backend="openai", base_url=url, model="x", max_retries=0,
                                    timeout_s=2))
    with pytest.raises(EndpointError, match="connection refused"):
        probe.chat([{"role": "user", "content": "Hi"}])


@pytest.mark.slow
def test_ngram_speculation_changes_speed_not_text(embedded_settings: LLMSettings) -> None:
    """Speculative decoding from n-grams (``speculative=ngram``, off by default) must give the text
    the model writes without it: same seed, same grammar, same reply; it only drafts tokens the
    model accepts. Run in a child process: the runtime once aborted a process with it on."""
    import subprocess
    import sys

    code = f"""
import json
from llmnas.llm import LLMSettings, make_client
settings = LLMSettings.model_validate_json({embedded_settings.model_dump_json()!r})
schema = {{"type": "object", "additionalProperties": False, "required": ["codes"],
          "properties": {{"codes": {{"type": "array", "items": {{"type": "string", "pattern": "^[0-4]{{6}}$"}},
                                   "minItems": 20, "maxItems": 20}}}}}}
msgs = [{{"role": "user", "content": "Write the six-digit code 333333 twenty times, as JSON."}}]
out = {{}}
for mode in ("none", "ngram"):
    client = make_client(settings.model_copy(update={{"speculative": mode, "n_threads": 1}}))
    try:
        replies = [client.chat(msgs, schema=schema, temperature=0.6, seed=i, max_tokens=220) for i in range(3)]
    finally:
        client.close()
    out[mode] = [[r.text for r in replies], sum((r.timings or {{}}).get("draft_n", 0) for r in replies)]
print(json.dumps(out))
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["ngram"][0] == out["none"][0]
    assert out["ngram"][1] > 0, "the server drafted no token: speculation is not on"
