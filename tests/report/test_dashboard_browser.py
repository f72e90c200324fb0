"""`llmnas dashboard` in a real headless browser (Debian's chromium) while a search runs.

Chromium comes from the project's set-up script (`sh scripts/system-deps.sh --test`). The test
starts a search in one process (the sleepy space: every evaluation sleeps), `llmnas dashboard`
on its store in another, renders the study's trial list in chromium twice, checks that the
page names the study and that its trial count grew in between, and saves a PNG screenshot of
the study page (``LLMNAS_SCREENSHOT=path`` keeps a copy, e.g. for the README).
"""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from llmnas.executors.sleepy import write_space

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed; run `sh scripts/system-deps.sh --test`"),
]
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars"]


def _chromium(args: list[str], url: str) -> str:
    with tempfile.TemporaryDirectory() as profile:
        out = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--virtual-time-budget=10000", *args, url],
                             capture_output=True, text=True, timeout=90)
    return out.stdout


def _page_text(url: str) -> str:
    dom = _chromium(["--dump-dom"], url)
    dom = re.sub(r"<(style|script)[^>]*>.*?</\1>", " ", dom, flags=re.S)
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", dom)))


def _trial_count(text: str) -> int:
    m = re.search(r"(\d+) Trials", text)
    assert m, f"no trial count on the page: {text[:500]!r}"
    return int(m.group(1))


@pytest.mark.slow
def test_dashboard_live_in_chromium(tmp_path):
    space = write_space(tmp_path)
    run = tmp_path / "live.sqlite"
    env = {**os.environ, "LLMNAS_SLEEP_S": "0.4"}
    cli = [sys.executable, "-m", "llmnas.cli"]
    search = subprocess.Popen([*cli, "search", "--space", str(space), "--strategy", "optuna-tpe", "--budget", "80",
                               "--seed", "0", "--study", "sleepy-tpe", "--out", str(run), "-q"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    board = None
    try:
        deadline = time.time() + 60
        while time.time() < deadline and not run.exists():
            time.sleep(0.1)
        time.sleep(1.5)
        board = subprocess.Popen([*cli, "dashboard", str(run), "--port", "0", "--interval", "0.5"], env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = board.stdout.readline()
        m = re.search(r"http://127\.0\.0\.1:\d+/dashboard/", line)
        assert m, f"no address printed: {line!r} {board.stderr.read() if board.poll() is not None else ''}"
        url = m.group(0)

        first = _page_text(url + "studies/0/trials")
        assert "sleepy-tpe" in first
        n1 = _trial_count(first)
        assert search.poll() is None, "the search ended before the first look; slow it down"
        time.sleep(4)
        second = _page_text(url + "studies/0/trials")
        n2 = _trial_count(second)
        assert n2 > n1, f"the trial count did not grow while the search ran ({n1} -> {n2})"

        shot = tmp_path / "dashboard.png"
        _chromium([f"--screenshot={shot}", "--window-size=1400,1000"], url + "studies/0")
        data = shot.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000, "the screenshot is missing or blank"
        keep = os.environ.get("LLMNAS_SCREENSHOT")
        if keep:
            Path(keep).write_bytes(data)
        assert search.wait(timeout=120) == 0, search.stderr.read()
    finally:
        for p in (board, search):
            if p is not None and p.poll() is None:
                p.terminate()
                p.wait(timeout=10)
