"""A run file from someone else cannot send a user's secret to a stranger: ``resume`` uses a
stored LLM endpoint or API-key variable only when this command line names it again (or
``--trust-stored-llm``), ``show`` displays both, and resuming a finished run with no new budget
imports nothing from its space."""

from __future__ import annotations

import pytest

import json
import sqlite3

from _cli_helpers import run_cli
from _fake_http import serve_json, stop
from _fake_llm import LLM_FLAGS, body_for, collm_reply

SECRET = "sk-user-secret-123456"


def _server():
    seen = []

    def answer(body, headers):
        seen.append(headers.get("Authorization", ""))
        return 200, body_for(collm_reply(body, len(seen))), {}

    httpd, url = serve_json(answer)
    return httpd, url, seen


def _one_error(err):
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    return lines[0]


@pytest.mark.slow  # several CLI runs: >10 s on a busy 2-core machine
def test_resume_of_a_received_run_file_needs_its_endpoint_and_key_named(tmp_path):
    theirs, their_url, their_seen = _server()
    mine, my_url, my_seen = _server()
    out = tmp_path / "shared.sqlite"
    env = {"THEIR_KEY": "theirs", "MY_KEY": SECRET}
    try:
        r = run_cli("search", *LLM_FLAGS, "--llm-base-url", their_url, "--llm-api-key-env", "THEIR_KEY", "--budget", "6",
                    "--out", str(out), "--study", "x", "-q", cwd=tmp_path, env=env, timeout=60)
        assert r.returncode == 0, r.stderr
        n_theirs = len(their_seen)
        env["THEIR_KEY"] = SECRET  # the receiver happens to have that variable set
        shown = run_cli("show", str(out), cwd=tmp_path)
        assert shown.returncode == 0 and their_url in shown.stdout and "$THEIR_KEY" in shown.stdout
        r = run_cli("resume", str(out), "--budget", "12", "-q", cwd=tmp_path, env=env, timeout=60)
        line = _one_error(r.stderr)
        assert r.returncode == 2 and their_url in line and "$THEIR_KEY" in line and "--trust-stored-llm" in line
        assert len(their_seen) == n_theirs  # nothing was sent
        r = run_cli("resume", str(out), "--budget", "12", "--llm-base-url", my_url, "-q", cwd=tmp_path, env=env, timeout=60)
        assert r.returncode == 2 and "--llm-api-key-env THEIR_KEY" in _one_error(r.stderr)  # the key is still theirs
        r = run_cli("resume", str(out), "--budget", "12", "--llm-base-url", my_url, "--llm-api-key-env", "MY_KEY", "-q",
                    cwd=tmp_path, env=env, timeout=60)
        assert r.returncode == 0, r.stderr
        assert len(their_seen) == n_theirs and my_seen and set(my_seen) == {f"Bearer {SECRET}"}
        shown = run_cli("show", str(out), cwd=tmp_path)
        assert my_url in shown.stdout and "$MY_KEY" in shown.stdout  # the run now says where it went
        r = run_cli("resume", str(out), "--budget", "15", "--trust-stored-llm", "-q", cwd=tmp_path, env=env, timeout=60)
        assert r.returncode == 0, r.stderr
    finally:
        stop(theirs)
        stop(mine)


def test_resume_of_a_finished_run_imports_nothing_from_its_space(tmp_path):
    marker = tmp_path / "IMPORTED"
    (tmp_path / "evalmod.py").write_text(
        f"open({str(marker)!r}, 'a').write('x')\n"
        "def evaluate(arch):\n    return {'signal': float(arch['a']), 'report': float(arch['a'])}\n")
    (tmp_path / "space.yaml").write_text(json.dumps({
        "name": "s", "decisions": [{"name": "a", "options": [1, 2, 3, 4]}],
        "evaluator": {"type": "function", "callable": "evalmod:evaluate", "report": "report"}}))
    out = tmp_path / "f.sqlite"
    r = run_cli("search", "--space", str(tmp_path / "space.yaml"), "--strategy", "rs", "--budget", "4", "--out", str(out),
                "--study", "x", "-q", cwd=tmp_path, timeout=60)
    assert r.returncode == 0 and marker.exists(), r.stderr
    marker.unlink()
    r = run_cli("resume", str(out), "-q", cwd=tmp_path, timeout=60)
    assert r.returncode == 0 and "finished" in r.stderr and "nothing to resume" in r.stderr, r.stderr
    assert not marker.exists()
    c = sqlite3.connect(out)
    assert c.execute("SELECT status FROM studies").fetchone()[0] == "finished"
    c.close()
