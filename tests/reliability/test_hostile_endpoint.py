"""Faulty OpenAI-compatible servers on 127.0.0.1 (tests/_fake_http.py ``serve_faults``): a reply
that trickles (body or headers) or never comes is cut at the request's wall-clock deadline; a
huge reply is not read past ``llm.max_reply_bytes``; HTTP 200 bodies that are not a usable
completion (not JSON, HTML, an error object, ``choices: null``) are recorded as unusable, asked
again a bounded number of times, then end in one ``EndpointError``; list content and odd token
counts are read safely; a redirect loop is named. Then the same through the CLI (search,
``llm check``, ``rank-poc``): one ``error:`` line, exit 2, and the study is not left running."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from _cli_helpers import run_cli
from _fake_http import serve_faults, stop
from _fake_llm import LLM_FLAGS
from llmnas.errors import EndpointError
from llmnas.llm import LLMSettings, make_client
from llmnas.store import Store

SCHEMA = {"type": "object"}


class _Sink:
    def __init__(self) -> None:
        self.records = []

    def record_llm_call(self, record) -> None:
        self.records.append(record)


@pytest.fixture()
def fault():
    servers = []

    def start(mode, **kw):
        httpd, url, served = serve_faults(mode, **kw)
        servers.append(httpd)
        return url, served

    yield start
    for h in servers:
        stop(h)


def _client(url, sink=None, **kw):
    s = LLMSettings(**{"backend": "openai", "base_url": url, "model": "fake", "timeout_s": 1.0, "max_retries": 1,
                       "backoff_base_s": 0.05, "max_reasks": 1, **kw})
    return make_client(s, sink=sink)


def _ask(client):
    return client.chat([{"role": "user", "content": "hi"}], schema=SCHEMA, purpose="t")


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["trickle", "trickle_headers", "stall"])
def test_a_reply_that_trickles_or_stalls_is_cut_at_the_deadline(fault, mode):
    url, served = fault(mode)
    t0 = time.monotonic()
    with _client(url) as c, pytest.raises(EndpointError, match=r"timed out after 2 tries \(no complete reply within 1 s"):
        _ask(c)
    took = time.monotonic() - t0
    assert took < 4.0, took  # 2 tries of 1 s and a short back-off, not forever
    assert len(served) == 2


def test_the_embedded_transport_has_a_deadline_too(fault, monkeypatch):
    """The embedded model answers over HTTP on 127.0.0.1 through the same guarded client."""
    from llmnas.llm import embedded
    from llmnas.llm.models import ResolvedModel

    url, served = fault("trickle")
    server = embedded.EmbeddedServer(ResolvedModel("fake", Path("fake.gguf"), None), url, "tok")
    monkeypatch.setattr(embedded, "acquire", lambda settings: server)  # the fake stands in for xllamacpp's listener
    monkeypatch.setattr(embedded, "release", lambda srv: None)
    monkeypatch.setattr(embedded, "local_timeout", lambda request: 1.0)
    transport = embedded.EmbeddedTransport(LLMSettings(timeout_s=1.0, max_retries=0))
    from llmnas.llm.base import Request

    t0 = time.monotonic()
    with pytest.raises(EndpointError, match="embedded model server .* timed out"):
        transport.complete(Request([{"role": "user", "content": "hi"}], None, {"max_tokens": 8}, 1.0))
    assert time.monotonic() - t0 < 3.0
    transport.close()


def test_a_huge_reply_is_not_read_past_the_cap(fault):
    url, served = fault("huge", huge_bytes=5_000_000)
    sink = _Sink()
    with _client(url, sink, max_reply_bytes=100_000) as c, pytest.raises(EndpointError, match="max_reply_bytes=100000"):
        _ask(c)
    assert [r.parse_status for r in sink.records] == ["failed", "failed"]
    assert all(r.text == "" for r in sink.records)


@pytest.mark.parametrize("mode, words", [
    ("non_json", "not JSON \\(application/json"), ("html", "not JSON \\(text/html: <html>"),
    ("error_body", "HTTP 200 with an error \\(model overloaded\\)"), ("choices_null", "no choices \\(choices: null\\)"),
])
def test_a_200_reply_that_is_no_completion_is_recorded_reasked_then_an_error(fault, mode, words):
    url, served = fault(mode)
    sink = _Sink()
    with _client(url, sink) as c, pytest.raises(EndpointError, match=f"sent no usable reply to t in 2 asks .*{words}"):
        _ask(c)
    assert len(served) == 2  # one re-ask, bounded by max_reasks
    assert [(r.parse_status, r.ask) for r in sink.records] == [("failed", 0), ("failed", 1)]
    assert all(words.split(" ")[0].replace("\\", "") in r.parse_reason for r in sink.records)


def test_a_reply_fine_again_after_one_bad_body_is_used(fault):
    url, served = fault(lambda n: "html" if n == 1 else "ok")
    with _client(url) as c:
        r = _ask(c)
    assert r.parsed == {"ok": True} and r.asks == 2


def test_list_content_and_odd_token_counts_are_read_safely(fault):
    url, _ = fault("list_content")
    with _client(url) as c:
        assert _ask(c).parsed == {"ok": True}
    for mode in ("weird_usage", "huge_usage"):
        url, _ = fault(mode)
        sink = _Sink()
        with _client(url, sink) as c:
            r = _ask(c)
        assert r.parsed == {"ok": True} and (r.usage.prompt_tokens, r.usage.completion_tokens) == (0, 0)
        assert "token counts were not plausible" in sink.records[0].parse_reason


def test_a_redirect_loop_is_named(fault):
    url, served = fault("redirect_loop")
    with _client(url) as c, pytest.raises(EndpointError, match="redirects in a loop"):
        _ask(c)


def _one_error(err: str) -> str:
    lines = [ln for ln in err.strip().splitlines() if ln.strip() and "━" not in ln]  # not the progress bar
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    return lines[0]


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["html", "non_json", "error_body", "choices_null", "redirect_loop", "weird_usage_html"])
def test_search_against_a_bad_server_stops_with_one_error_line(fault, tmp_path, mode):
    url, _ = fault((lambda n: "huge_usage" if n == 1 else "html") if mode == "weird_usage_html" else mode)
    out = tmp_path / "r.sqlite"
    r = run_cli("search", *LLM_FLAGS, "--llm-base-url", url, "--llm-option", "max_retries=0", "--budget", "6",
                "--out", str(out), "--study", "x", "-q", cwd=tmp_path, timeout=60)
    assert r.returncode == 2, (r.stdout, r.stderr)
    _one_error(r.stderr)
    with Store(out, create=False) as st:
        info = st.get_study("x")
        assert info.status == "stopped" and info.stop_reason == "error"


@pytest.mark.slow
def test_llm_check_with_a_timeout_ends_against_a_trickling_server(fault):
    url, _ = fault("trickle")
    t0 = time.monotonic()
    r = run_cli("llm", "check", "--llm", "openai", "--llm-base-url", url, "--llm-model", "fake", "--timeout", "1",
                timeout=60)
    assert r.returncode == 2 and "timed out" in _one_error(r.stderr)
    assert time.monotonic() - t0 < 20


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["html", "weird_usage"])
def test_llm_check_and_rank_poc_on_bad_bodies(fault, tmp_path, mode):
    url, _ = fault(mode)
    r = run_cli("llm", "check", "--llm", "openai", "--llm-base-url", url, "--llm-model", "fake", timeout=60)
    if mode == "html":
        assert r.returncode == 2 and "not JSON" in _one_error(r.stderr)
    else:
        assert r.returncode == 0, r.stderr
    r = run_cli("collm", "rank-poc", "--trials", "2", "--llm", "openai", "--llm-base-url", url, "--llm-model", "fake",
                cwd=tmp_path, timeout=60)
    if mode == "html":
        assert r.returncode == 2 and "not JSON" in _one_error(r.stderr)
    else:
        assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
