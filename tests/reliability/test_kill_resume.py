"""SIGKILL at chosen moments, then `llmnas resume`: during a store write (inside the
transaction of each kind of write), during an evaluation (in-process and on worker processes)
and during an LLM call. Afterwards no finished trial is lost or changed, no architecture is
evaluated twice, the SQLite file passes `PRAGMA integrity_check`, and (for a seeded run on a
deterministic evaluator) the trials equal those of an uninterrupted run. Also: `llmnas show`
reads a run from a second process while it runs. And, on a user YAML space with a slow Python
evaluator: three SIGKILLs at different points of a sequential run (rea, ls), and Ctrl-C."""

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
from _executor_helpers import make_space
from _fake_llm import LLM_FLAGS, CollmServer
from llmnas.store import Store

pytestmark = pytest.mark.slow

# Runs the CLI in a child process that SIGKILLs itself when SQLite starts executing the N-th
# statement that begins with PREFIX (so the kill lands inside that write's transaction).
KILLER = r"""
import os, signal, sqlite3, sys
prefix, nth = sys.argv[1], int(sys.argv[2])
seen = [0]
real_connect = sqlite3.connect

def connect(*a, **k):
    conn = real_connect(*a, **k)
    def trace(stmt):
        if stmt.lstrip().upper().startswith(prefix):
            seen[0] += 1
            if seen[0] == nth:
                os.kill(os.getpid(), signal.SIGKILL)
    conn.set_trace_callback(trace)
    return conn

sqlite3.connect = connect
from llmnas.cli import main
sys.exit(main(sys.argv[3:]))
"""


def _rows(path: Path) -> list[tuple]:
    with Store(path, create=False) as st:
        return [(t.seq, t.round, t.number, t.key, t.status, t.signal, t.source) for t in st.trials(st.get_study("x").id)]


def _intact(path: Path) -> None:
    c = sqlite3.connect(path)
    try:
        assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        c.close()


def _ok_count(path: Path) -> int:
    try:
        c = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            return c.execute("SELECT COUNT(*) FROM trials WHERE status='ok'").fetchone()[0]
        finally:
            c.close()
    except sqlite3.Error:
        return 0


@pytest.fixture()
def space(tmp_path):
    return make_space(tmp_path / "sp")


def _default_sigint() -> None:
    """Child set-up for the Ctrl-C tests: the default SIGINT disposition. A shell starts a
    background job with SIGINT ignored, a child inherits that, and Python then installs no
    KeyboardInterrupt handler, so the signal these tests send would be dropped."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _search_args(space: Path, out: Path, executor: list[str] = ()) -> list[str]:
    return ["search", "--space", str(space), "--strategy", "rea", "--budget", "40", "--seed", "5", "--batch-size", "4",
            "--out", str(out), "--study", "x", "-q", *executor]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The trials of the uninterrupted run (the same space in another folder)."""
    folder = tmp_path_factory.mktemp("ref")
    out = folder / "ref.sqlite"
    r = run_cli(*_search_args(make_space(folder / "sp"), out), cwd=folder)
    assert r.returncode == 0, r.stderr
    return _rows(out)


@pytest.mark.parametrize("prefix,nth", [("INSERT INTO TRIALS", 4), ("UPDATE TRIALS", 9), ("INSERT INTO STATES", 6),
                                        ("COMMIT", 23), ("INSERT INTO EVENTS", 1)])
def test_sigkill_inside_a_store_write_then_resume(tmp_path, space, reference, prefix, nth):
    out = tmp_path / "killed.sqlite"
    p = subprocess.run([sys.executable, "-c", KILLER, prefix, str(nth), *_search_args(space, out)], cwd=tmp_path,
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == -signal.SIGKILL, p.stderr  # it died inside the write
    _intact(out)
    before = {r[0]: r for r in _rows(out) if r[4] != "pending"} if out.exists() else {}
    r = run_cli("resume", str(out), "-q", cwd=tmp_path)
    if prefix == "INSERT INTO EVENTS" and not before:  # killed before the study was fully created
        assert r.returncode == 2 or r.returncode == 0
        return
    assert r.returncode == 0, r.stderr
    after = _rows(out)
    _intact(out)
    assert all(row == before[row[0]] for row in after if row[0] in before)  # nothing finished was lost or changed
    assert after == reference  # the uninterrupted run's trials, no duplicate


@pytest.mark.parametrize("executor", [[], ["--executor", "process", "--workers", "2"]], ids=["local", "process"])
def test_sigkill_during_evaluation_then_resume(tmp_path, space, reference, executor):
    (space.parent / "sleep").write_text("0.05")
    out = tmp_path / "eval.sqlite"
    started = space.parent / "started"
    for threshold in (8, 25):
        args = _search_args(space, out, executor) if threshold == 8 else ["resume", str(out), "-q"]
        proc = subprocess.Popen([sys.executable, "-m", "llmnas.cli", *args], cwd=tmp_path,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.time() + 90
        while _ok_count(out) < threshold and time.time() < deadline and proc.poll() is None:
            time.sleep(0.01)
        n_started = len(list(started.iterdir())) if started.exists() else 0
        while time.time() < deadline and proc.poll() is None:  # wait until an evaluation is running
            if started.exists() and len(list(started.iterdir())) > n_started:
                break
            time.sleep(0.005)
        assert proc.poll() is None, proc.stderr.read().decode()
        before = {r[0]: r for r in _rows(out) if r[4] != "pending"}
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        _intact(out)
        assert {r[0]: r for r in _rows(out) if r[4] != "pending"} == before  # the kill lost nothing committed
    time.sleep(1.5)  # orphaned workers notice the driver is gone and exit
    pids = {int(p.name.split("-")[1]) for p in started.iterdir()}
    alive = [pid for pid in pids if pid != os.getpid() and _alive(pid)]
    assert not alive, f"worker processes outlived the killed driver: {alive}"
    r = run_cli("resume", str(out), "-q", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert _rows(out) == reference


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie of a process we did not start is not running
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def test_sigkill_during_an_llm_call_then_resume(tmp_path):
    """The Generator request of round 2 is held by the server; the run is killed while it waits."""
    held = {"done": False}

    def hold(body, n):
        if not held["done"] and n >= 5 and body["messages"][0]["content"].startswith("You are the Generator"):
            held["done"] = True
            return True
        return False

    server = CollmServer(hold=hold).start()
    out = tmp_path / "llm.sqlite"
    try:
        proc = subprocess.Popen([sys.executable, "-m", "llmnas.cli", "search", *LLM_FLAGS, "--llm-base-url", server.url,
                                 "--budget", "20", "--seed", "0", "--out", str(out), "--study", "x", "-q"],
                                cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert server.holding.wait(60), proc.stderr.read().decode() if proc.poll() is not None else "no request"
        before = {r[0]: r for r in _rows(out) if r[4] != "pending"}
        with Store(out, create=False) as st:
            calls_before = st.llm_calls(st.get_study("x").id)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        server.release()
        _intact(out)
        r = run_cli("resume", str(out), "-q", "--llm-base-url", server.url, cwd=tmp_path, timeout=120)
    finally:
        server.release()
        server.stop()
    assert r.returncode == 0, r.stderr
    after = _rows(out)
    assert before and all(row == before[row[0]] for row in after if row[0] in before)
    ok = [row[3] for row in after if row[4] == "ok"]
    assert len(ok) == len(set(ok)) == 20
    with Store(out, create=False) as st:
        calls = st.llm_calls(st.get_study("x").id)
    assert calls[: len(calls_before)] == calls_before  # recorded calls kept, the killed one not recorded twice
    assert sum(1 for c in calls if c["_round"] == calls_before[-1]["_round"] and c["purpose"] == "generator") == 1


def test_show_reads_a_run_while_it_runs(tmp_path, space):
    (space.parent / "sleep").write_text("0.5")  # 40 x 0.5 s on 2 workers: long enough for `show` on a loaded CPU
    out = tmp_path / "live.sqlite"
    proc = subprocess.Popen([sys.executable, "-m", "llmnas.cli", *_search_args(space, out, ["--executor", "process", "--workers", "2"])],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    seen = []
    try:
        deadline = time.time() + 90
        while _ok_count(out) < 3 and time.time() < deadline:
            time.sleep(0.02)
        while proc.poll() is None and len(seen) < 3:
            r = run_cli("show", str(out), "--trials", "3", cwd=tmp_path)
            assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
            seen.append(_ok_count(out))
        assert proc.wait(120) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert len(seen) >= 2 and seen == sorted(seen) and seen[0] < 40  # read mid-run, progress visible
    final = run_cli("show", str(out), cwd=tmp_path)
    assert final.returncode == 0 and "budget" in final.stdout
    _intact(out)


def test_ctrl_c_during_parallel_evaluation_stops_cleanly_and_resumes(tmp_path, space, reference):
    (space.parent / "sleep").write_text("0.3")  # long enough that the run is still going when Ctrl-C lands
    out = tmp_path / "int.sqlite"
    proc = subprocess.Popen([sys.executable, "-m", "llmnas.cli", *_search_args(space, out, ["--executor", "process", "--workers", "2"])],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_default_sigint)
    deadline = time.time() + 90
    while _ok_count(out) < 6 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.01)
    assert proc.poll() is None, "the run ended before Ctrl-C could be sent"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "llmnas resume" in err, err
    with Store(out, create=False) as st:
        assert st.get_study("x").status == "interrupted"
    time.sleep(1.0)
    pids = {int(p.name.split("-")[1]) for p in (space.parent / "started").iterdir()}
    assert not [pid for pid in pids if _alive(pid)], "worker processes outlived Ctrl-C"
    r = run_cli("resume", str(out), "-q", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert _rows(out) == reference


# ----- kills at arbitrary moments of a sequential run on a user space --------------------------
SLOW_SPACE = """
name: slow
decisions:
  - {name: a, options: [0, 1, 2, 3, 4, 5]}
  - {name: b, options: [0, 1, 2, 3, 4, 5]}
  - {name: c, options: [x, y, z]}
  - {name: d, options: [0, 1, 2, 3]}
evaluator: {type: function, callable: "slowtrain:evaluate", signal: val, report: test}
"""
SLOW_TRAIN = """
import os, time
def evaluate(arch):
    time.sleep(float(os.environ.get("SLOWTRAIN_S", "0.02")))  # a real evaluation takes time; the kill lands inside one most of the time
    v = (arch['a'] * 7 + arch['b'] * 3) % 11 + {'x': 0.5, 'y': 1.5, 'z': 0.0}[arch['c']] + arch['d'] * 0.25
    return {'val': v, 'test': v + 0.1}
"""


def _setup(tmp_path: Path) -> Path:
    (tmp_path / "slowtrain.py").write_text(SLOW_TRAIN)
    (tmp_path / "space.yaml").write_text(SLOW_SPACE)
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
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=_default_sigint,
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
