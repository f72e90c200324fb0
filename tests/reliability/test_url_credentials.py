"""Credentials in a base URL (``http://user:pass@host/v1``) are used for the requests but never
stored (config, call records, events), exported or printed (16)."""

from __future__ import annotations

import pytest

import base64

from _cli_helpers import run_cli
from _fake_http import serve_json, stop
from _fake_llm import LLM_FLAGS, body_for, collm_reply
from _fake_llm import free_port

PASSWORD = "s3cretPW-19x"


def _files_hold(tmp_path, text):
    return [f.name for f in tmp_path.rglob("*") if f.is_file() and text.encode() in f.read_bytes()]


@pytest.mark.slow
def test_url_credentials_are_used_but_never_stored_or_shown(tmp_path):
    auth = []

    def answer(body, headers):
        auth.append(headers.get("Authorization", ""))
        return 200, body_for(collm_reply(body, len(auth))), {}

    httpd, url = serve_json(answer)
    cred_url = url.replace("http://", f"http://alice:{PASSWORD}@")
    out = tmp_path / "c.sqlite"
    try:
        r = run_cli("search", *LLM_FLAGS, "--llm-base-url", cred_url, "--budget", "6", "--out", str(out),
                    "--study", "x", cwd=tmp_path, timeout=60)
        assert r.returncode == 0, r.stderr
        assert auth and all(a == "Basic " + base64.b64encode(f"alice:{PASSWORD}".encode()).decode() for a in auth)
        shown = run_cli("show", str(out), cwd=tmp_path)
        exported = run_cli("export", str(out), "--format", "json", "-o", str(tmp_path / "e.json"), cwd=tmp_path)
        assert shown.returncode == 0 and exported.returncode == 0, shown.stderr + exported.stderr
        assert "***@127.0.0.1" in shown.stdout
        for text in (r.stdout, r.stderr, shown.stdout, exported.stderr):
            assert PASSWORD not in text
        assert _files_hold(tmp_path, PASSWORD) == []
    finally:
        stop(httpd)
    down = f"http://bob:{PASSWORD}@127.0.0.1:{free_port()}/v1"  # nothing listens: the error names the URL, not the password
    r = run_cli("search", *LLM_FLAGS, "--llm-base-url", down, "--llm-option", "max_retries=0", "--budget", "6",
                "--out", str(tmp_path / "d.sqlite"), "--study", "x", "-q", cwd=tmp_path, timeout=60)
    assert r.returncode == 2 and "***@127.0.0.1" in r.stderr and PASSWORD not in r.stderr
    assert _files_hold(tmp_path, PASSWORD) == []
