"""LLM call records are stored without repeating earlier turns (a re-ask stores only its new
turns and a link to the call it continues), are read back whole, and stores written before this
format (every record with its full conversation) still open with show, resume and replay; replay
of a run with re-asks reproduces its trials exactly, from either format."""

from __future__ import annotations

import pytest

import json
import sqlite3

from _cli_helpers import run_cli
from _fake_http import chat_body, serve_json, stop
from _fake_llm import collm_reply
from llmnas.api import search
from llmnas.llm import LLMSettings, make_client
from llmnas.llm.base import messages_hash
from llmnas.llm_wiring import StoreSink
from llmnas.store import Store

OPTIONS = {"n_min": 4, "n_max": 6, "navigator_max_tokens": 64}


def _stored_bytes(path) -> int:
    c = sqlite3.connect(path)
    try:
        return c.execute("SELECT SUM(LENGTH(record)) FROM llm_calls").fetchone()[0]
    finally:
        c.close()


def test_reasks_store_only_new_turns_and_read_back_whole(tmp_path):
    prompt = "P" * 200_000
    bad = "B" * 300_000  # an unusable (non-JSON) reply, asked about again twice
    seen = []

    def answer(body, headers):
        seen.append(body["messages"])
        return 200, chat_body(bad), {}

    httpd, url = serve_json(answer)
    path = tmp_path / "s.sqlite"
    try:
        with Store(path) as st:
            info = st.create_study("x", {}, 0, {})
            client = make_client(LLMSettings(backend="openai", base_url=url, model="fake", max_reasks=2),
                                 sink=StoreSink(st, info.id))
            try:
                client.chat([{"role": "user", "content": prompt}], schema={"type": "object"}, purpose="t")
            except Exception as exc:  # unusable after 3 asks, as intended
                assert "unusable after 3 asks" in str(exc)
            calls = st.llm_calls(info.id)
    finally:
        stop(httpd)
    assert len(calls) == 3 == len(seen)
    assert [c["messages"] for c in calls] == seen  # each record holds the conversation it sent
    assert all(c["messages_hash"] == messages_hash(c["messages"]) for c in calls)
    assert "messages_base" not in calls[1]
    # stored: the prompt once and each reply once (as its call's text), not 1 + 2 + 3 times
    assert _stored_bytes(path) < len(prompt) + 3 * len(bad) + 20_000


def _flaky_collm():
    """CoLLM's roles; every third Generator first ask gets an unusable reply (then a re-ask)."""
    state = {"n": 0}

    def answer(body, headers):
        state["n"] += 1
        gen = body["messages"][0]["content"].startswith("You are the Generator")
        if gen and len(body["messages"]) == 2 and state["n"] % 3 == 0:
            return 200, chat_body("I cannot answer in JSON today."), {}
        return 200, chat_body(collm_reply(body, state["n"])), {}
    return answer


def _to_old_format(src, dst):
    """Rewrite every call record as the earlier format did: the full conversation in each row."""
    dst.write_bytes(src.read_bytes())
    with Store(dst, create=False) as st:
        info = st.get_study("x")
        full = st.llm_calls(info.id)
    c = sqlite3.connect(dst)
    ids = [r[0] for r in c.execute("SELECT id FROM llm_calls ORDER BY id")]
    for row_id, rec in zip(ids, full):
        rec = {k: v for k, v in rec.items() if k != "_round"}
        c.execute("UPDATE llm_calls SET record=? WHERE id=?", (json.dumps(rec), row_id))
    c.commit()
    assert c.execute("SELECT COUNT(*) FROM llm_calls WHERE record LIKE '%messages_base%'").fetchone()[0] == 0
    c.close()


def _trials(path):
    with Store(path, create=False) as st:
        return [(t.seq, t.key, t.status, t.source, t.signal) for t in st.trials(st.get_study("x").id)]


@pytest.mark.slow
def test_replay_show_and_resume_work_on_new_and_old_format_stores(tmp_path):
    httpd, url = serve_json(_flaky_collm())
    llm = {"backend": "openai", "base_url": url, "model": "fake"}
    new = tmp_path / "new.sqlite"
    try:
        search(store=new, study="x", strategy="collm", budget=14, seed=3, llm=llm, strategy_options=OPTIONS)
        with Store(new, create=False) as st:
            calls = st.llm_calls(st.get_study("x").id)
        assert any(c["ask"] > 0 for c in calls)  # the run had re-asks ...
        c = sqlite3.connect(new)
        assert c.execute("SELECT COUNT(*) FROM llm_calls WHERE record LIKE '%messages_base%'").fetchone()[0] > 0
        c.close()  # ... stored as continuations
        old = tmp_path / "old.sqlite"
        _to_old_format(new, old)
        reference = [t[1:] for t in _trials(new)]
        for src in (new, old):
            rep = tmp_path / f"replay-{src.stem}.sqlite"
            search(store=rep, study="x", strategy="collm", budget=14, seed=3, strategy_options=OPTIONS,
                   llm={"backend": "replay", "replay_run": str(src)})
            assert [t[1:] for t in _trials(rep)] == reference  # trials reproduced exactly
            shown = run_cli("show", str(src), "--strategy-text", cwd=tmp_path)
            assert shown.returncode == 0 and "Navigator strategy 1" in shown.stdout, shown.stderr
            r = run_cli("resume", str(src), "--budget", "20", "--llm-base-url", url, "-q", cwd=tmp_path, timeout=120)
            assert r.returncode == 0, r.stderr
            after = _trials(src)
            assert sum(1 for t in after if t[2] == "ok") == 20
    finally:
        stop(httpd)
