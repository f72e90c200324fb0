"""Kill a running search (SIGKILL / Ctrl-C) at arbitrary moments; `resume` loses nothing and
ends with exactly the trials of an uninterrupted run."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from _cli_helpers import run_cli
from llmnas.store import Store

SPACE = """
name: slow
decisions:
  - {name: a, options: [0, 1, 2, 3, 4, 5]}
  - {name: b, options: [0, 1, 2, 3, 4, 5]}
  - {name: c, options: [x, y, z]}
  - {name: d, options: [0, 1, 2, 3]}
evaluator: {type: function, callable: "slowtrain:evaluate", signal: val, report: test}
"""
TRAIN = """
import os, time
def evaluate(arch):
    time.sleep(float(os.environ.get("SLOWTRAIN_S", "0.02")))  # a real evaluation takes time; the kill lands inside one most of the time
    v = (arch['a'] * 7 + arch['b'] * 3) % 11 + {'x': 0.5, 'y': 1.5, 'z': 0.0}[arch['c']] + arch['d'] * 0.25
    return {'val': v, 'test': v + 0.1}
"""


def _setup(tmp_path: Path) -> Path:
    (tmp_path / "slowtrain.py").write_text(TRAIN)
    (tmp_path / "space.yaml").write_text(SPACE)
    return tmp_path / "space.yaml"


def _trials(path: Path):
    with Store(path, create=False) as st:
        return [(t.seq, t.key, t.status, t.signal, t.source) for t in st.trials(st.get_study("x").id)]


def _count(path: Path) -> int:
    try:
        c = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        n = c.execute("SELECT COUNT(*) FROM trials WHERE status='ok'").fetchone()[0]
        c.close()
        return n
    except sqlite3.Error:
        return 0


def _start(tmp_path: Path, space: Path, out: Path, strategy: str, sleep_s: float = 0.02) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "llmnas.cli", "search", "--space", str(space), "--strategy", strategy, "--budget", "90",
         "--seed", "3", "--out", str(out), "--study", "x", "-q"],
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(tmp_path), "SLOWTRAIN_S": str(sleep_s)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )


@pytest.mark.parametrize("strategy", ["rea", "ls"])
def test_sigkill_then_resume_equals_uninterrupted(tmp_path, strategy):
    space = _setup(tmp_path)
    env = {"PYTHONPATH": str(tmp_path)}
    ref = tmp_path / "ref.sqlite"
    r = run_cli("search", "--space", str(space), "--strategy", strategy, "--budget", "90", "--seed", "3",
                "--out", str(ref), "--study", "x", "-q", cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stderr
    expected = _trials(ref)
    assert sum(1 for t in expected if t[2] == "ok") == 90

    out = tmp_path / "killed.sqlite"
    kills = 0
    for threshold in (15, 40, 70):  # kill it three times at different points, resuming in between
        proc = _start(tmp_path, space, out, strategy) if kills == 0 else subprocess.Popen(
            [sys.executable, "-m", "llmnas.cli", "resume", str(out), "-q"], cwd=tmp_path,
            env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.time() + 60
        while _count(out) < threshold and time.time() < deadline and proc.poll() is None:
            time.sleep(0.01)
        assert proc.poll() is None, proc.stderr.read().decode()
        before = _count(out)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kills += 1
        assert _count(out) >= before  # nothing committed was lost
    r = run_cli("resume", str(out), "-q", cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stderr
    assert _trials(out) == expected  # same trials, same order, no duplicate evaluation


def test_ctrl_c_stops_cleanly_and_resumes(tmp_path):
    space = _setup(tmp_path)
    out = tmp_path / "int.sqlite"
    # 0.1 s an evaluation: the run is still going when the signal lands, even on a loaded machine
    proc = _start(tmp_path, space, out, "rea", sleep_s=0.1)
    deadline = time.time() + 60
    while _count(out) < 10 and time.time() < deadline:
        time.sleep(0.01)
    assert proc.poll() is None, "the run ended before Ctrl-C could be sent"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert "llmnas resume" in err.decode()
    with Store(out, create=False) as st:
        assert st.get_study("x").status == "interrupted"
    r = run_cli("resume", str(out), "-q", cwd=tmp_path, env={"PYTHONPATH": str(tmp_path)})
    assert r.returncode == 0, r.stderr
    with Store(out, create=False) as st:
        study = st.get_study("x")
        trials = st.trials(study.id)
        assert study.stop_reason == "budget"
        assert sum(t.status == "ok" for t in trials) == 90
        assert len({t.key for t in trials if t.status == "ok"}) == 90
