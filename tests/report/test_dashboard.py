"""`llmnas dashboard` without a browser: the live mirror follows a search and never writes the store."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
import time
import urllib.request

import pytest

from llmnas.api import search
from llmnas.cli import main
from llmnas.executors.sleepy import write_space
from llmnas.report.dashboard import Dashboard
from llmnas.store import Store


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.loads(r.read())


def _n_trials(base: str, study_id: int = 0) -> int:
    return len(_get(f"{base}/api/studies/{study_id}?after=0")["trials"])


def test_dashboard_serves_a_finished_run_and_leaves_the_store_untouched(tmp_path):
    run = tmp_path / "rea.sqlite"
    search(store=run, study="rea", strategy="rea", budget=30, seed=0, dataset="cifar10")
    before = hashlib.sha256(run.read_bytes()).hexdigest(), run.stat().st_mtime_ns
    board = Dashboard(run, port=0, interval=0.1).start()
    stop = threading.Event()
    follower = threading.Thread(target=board.follow, args=(stop,))
    follower.start()
    try:
        base = board.url.removesuffix("/dashboard/")
        deadline = time.time() + 30
        while time.time() < deadline and not _get(f"{base}/api/studies")["study_summaries"]:
            time.sleep(0.1)
        studies = _get(f"{base}/api/studies")["study_summaries"]
        assert [s["study_name"] for s in studies] == ["rea"]
        assert _n_trials(base) == 30
        assert all(st.path == run for st in board.mirror.stores.values())
        with Store(run, readonly=True) as ro, pytest.raises(Exception, match="readonly"):
            ro.add_event(1, "x", "a write")  # the mode the mirror opens stores in
        time.sleep(0.3)  # a few more passes of the follower
    finally:
        stop.set()
        follower.join(timeout=10)
        board.close()
    assert (hashlib.sha256(run.read_bytes()).hexdigest(), run.stat().st_mtime_ns) == before


@pytest.mark.slow
def test_mirror_follows_a_search_in_another_process(tmp_path):
    space = write_space(tmp_path)
    run = tmp_path / "live.sqlite"
    env = {**os.environ, "LLMNAS_SLEEP_S": "0.25"}
    proc = subprocess.Popen([sys.executable, "-m", "llmnas.cli", "search", "--space", str(space), "--strategy", "optuna-tpe",
                             "--budget", "40", "--seed", "0", "--out", str(run), "-q"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 60
        while time.time() < deadline and not run.exists():
            time.sleep(0.1)
        time.sleep(1.0)
        board = Dashboard(run, port=0, interval=0.2).start()
        try:
            board.mirror.sync()
            base = board.url.removesuffix("/dashboard/")
            seen = [_n_trials(base)]
            while proc.poll() is None and time.time() < deadline:
                board.mirror.sync()
                seen.append(_n_trials(base))
                time.sleep(0.5)
            assert proc.wait(timeout=60) == 0, proc.stderr.read()
            board.mirror.sync()
            final = board.storage.get_all_trials(0)
        finally:
            board.close()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert seen[0] < seen[-1], f"the trial count did not grow while the search ran: {seen}"
    with Store(run, readonly=True) as st:
        trials = st.trials(st.get_study(None).id)
    assert len(final) == len(trials) and all(t.state.name == "COMPLETE" for t in final)
    assert [t.params for t in final] == [t.arch for t in trials]
    assert sum(t.status == "ok" for t in trials) == 40


def test_dashboard_cli_errors(tmp_path, capsys):
    assert main(["dashboard", str(tmp_path / "missing.sqlite")]) == 2
    assert "not found" in capsys.readouterr().err
    run = tmp_path / "r.sqlite"
    search(store=run, strategy="rs", budget=3, seed=0)
    assert main(["dashboard", str(run), "--interval", "0"]) == 2
    assert "--interval" in capsys.readouterr().err
