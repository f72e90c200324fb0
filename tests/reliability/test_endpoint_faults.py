"""Run-level LLM endpoint faults with the real CLI, runner and store against a real local HTTP
server: an endpoint that disappears and comes back mid-run, one that answers 429/500, and one
that stays down past the retry budget (the run stops with one clear error and `resume` then
finishes it without losing or repeating a trial)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time

import pytest

from _cli_helpers import run_cli
from _fake_llm import LLM_FLAGS, CollmServer
from llmnas.store import Store

pytestmark = pytest.mark.slow


def _study(path):
    with Store(path, create=False) as st:
        info = st.get_study("x")
        return info, st.trials(info.id), st.llm_calls(info.id)


def _ok_keys(trials):
    return [t.key for t in trials if t.status == "ok"]


def test_endpoint_that_disappears_mid_run_and_returns(tmp_path):
    server = CollmServer().start()
    out = tmp_path / "away.sqlite"
    proc = subprocess.Popen([sys.executable, "-m", "llmnas.cli", "search", *LLM_FLAGS, "--llm-base-url", server.url,
                             "--llm-option", "max_retries=30", "--budget", "24", "--seed", "0", "--out", str(out),
                             "--study", "x", "-q"], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 60
        while server.count < 3 and time.time() < deadline:
            time.sleep(0.02)
        server.stop()  # gone mid-run (connection refused) ...
        server.restart_after(2.0)  # ... and back two seconds later
        _, err = proc.communicate(timeout=120)
    finally:
        server.stop()
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    info, trials, calls = _study(out)
    assert info.stop_reason == "budget" and len(set(_ok_keys(trials))) == len(_ok_keys(trials)) == 24
    assert any(c["retries"] > 0 for c in calls)  # the outage was ridden out by retries, and recorded


def test_endpoint_answering_429_and_500_finishes_with_retries_recorded(tmp_path):
    server = CollmServer(fail=lambda n: {0: 429, 1: 500}.get(n % 3)).start()  # two of every three requests fail
    try:
        r = run_cli("search", *LLM_FLAGS, "--llm-base-url", server.url, "--budget", "18", "--seed", "0",
                    "--out", str(tmp_path / "busy.sqlite"), "--study", "x", "-q", cwd=tmp_path, timeout=120)
    finally:
        server.stop()
    assert r.returncode == 0, r.stderr
    info, trials, calls = _study(tmp_path / "busy.sqlite")
    assert info.stop_reason == "budget" and len(_ok_keys(trials)) == 18
    assert {s for _, _, s in server.requests} == {200, 429, 500}
    failed = sum(1 for _, _, s in server.requests if s != 200)
    assert all(c["retries"] >= 1 for c in calls) and sum(c["retries"] for c in calls) == failed  # every retry recorded


def test_endpoint_down_too_long_stops_clearly_then_resume_finishes(tmp_path):
    server = CollmServer().start()
    url, port = server.url, server.port
    out = tmp_path / "down.sqlite"
    flags = [*LLM_FLAGS, "--llm-base-url", url, "--llm-option", "max_retries=2"]
    proc = subprocess.Popen([sys.executable, "-m", "llmnas.cli", "search", *flags, "--budget", "30", "--seed", "0",
                             "--out", str(out), "--study", "x", "-q"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while server.count < 5 and time.time() < deadline:
        time.sleep(0.02)
    server.stop()  # and it stays down
    _, err = proc.communicate(timeout=120)
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert proc.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: cannot reach LLM endpoint"), err
    assert url in lines[0] and "Traceback" not in err
    info, before, _ = _study(out)
    assert info.status == "stopped" and info.stop_reason == "error"
    finished = {t.seq: (t.key, t.status, t.signal) for t in before if t.status != "pending"}
    assert finished
    server = CollmServer(port=port, count=server.count).start()  # the endpoint is back
    try:
        r = run_cli("resume", str(out), "-q", "--llm-base-url", server.url, cwd=tmp_path, timeout=120)
    finally:
        server.stop()
    assert r.returncode == 0, r.stderr
    info, after, _ = _study(out)
    assert info.stop_reason == "budget"
    assert all((t.key, t.status, t.signal) == finished[t.seq] for t in after if t.seq in finished)  # nothing lost
    ok = _ok_keys(after)
    assert len(ok) == len(set(ok)) == 30  # no duplicate evaluation
    c = sqlite3.connect(out)
    assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    c.close()
