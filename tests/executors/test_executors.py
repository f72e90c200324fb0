"""Executors (local, process): the same trials on every executor, results committed as they
arrive, a dead worker's job re-queued a bounded number of times, clear setup errors."""

from __future__ import annotations

import sqlite3
import sys
import threading
import time
from pathlib import Path

import pytest

from _executor_helpers import make_space, trial_rows
from llmnas.api import search
from llmnas.errors import ConfigError, LlmnasError
from llmnas.strategies.base import STRATEGIES, Strategy
from llmnas.types import Proposal


class Batcher(Strategy):
    """Proposes rounds of 7 with in-round duplicates, an illegal arch and random ones."""

    name = "test-batcher"
    batch_size = 7

    def ask(self, n):
        space, rng = self.ctx.space, self.ctx.rng
        out = [Proposal(space.sample(rng), "random") for _ in range(max(1, n - 3))]
        out.insert(1, Proposal(dict(out[0].arch), "repeat"))  # duplicate of one being evaluated
        out.append(Proposal({"a": 9, "b": 0, "c": "x"}, "bad"))  # illegal
        out.append(Proposal({"a": 5, "b": int(rng.integers(6)), "c": "z"}, "fails"))  # the evaluator raises
        return out[:n]

    def tell(self, trials):
        pass


if "test-batcher" not in STRATEGIES:
    STRATEGIES.register("test-batcher")(Batcher)


@pytest.fixture()
def space(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path / "sp"))
    return make_space(tmp_path / "sp")


def _run(tmp_path, space, name, executor, **kw):
    out = tmp_path / f"{name}.sqlite"
    s = search(store=out, study="x", space=str(space), strategy=kw.pop("strategy", "test-batcher"), budget=kw.pop("budget", 20),
               seed=4, executor=executor, **kw)
    return s, trial_rows(out)


@pytest.mark.slow
def test_same_seed_same_trials_local_and_process(tmp_path, space):
    s1, local = _run(tmp_path, space, "local", {"kind": "local"})
    s2, procs = _run(tmp_path, space, "proc", {"kind": "process", "workers": 2})
    assert local == procs
    statuses = {r[4] for r in local}
    assert {"ok", "duplicate", "illegal", "failed"} <= statuses  # the batches exercised every path
    assert s1.n_evaluated == s2.n_evaluated == 20
    dup = next(r for r in local if r[4] == "duplicate" and r[8] == "repeat")
    orig = next(r for r in local if r[3] == dup[3] and r[4] == "ok")
    assert dup[5] == orig[5] and dup[2] is None and f"same as trial {orig[0]}" == dup[7]
    failed = [r for r in local if r[4] == "failed"]
    assert failed and all(r[7].startswith("ValueError: diverged on 5") for r in failed)
    numbers = [r[2] for r in local if r[4] in ("ok", "failed")]
    assert numbers == list(range(len(numbers)))  # evaluation numbers in proposal order


def test_rs_batches_give_the_trials_of_single_asks(tmp_path, space):
    """--batch-size changes how many proposals one round holds, not which ones rs makes."""
    _, one = _run(tmp_path, space, "b1", {"kind": "local"}, strategy="rs", budget=15)
    _, five = _run(tmp_path, space, "b5", {"kind": "local"}, strategy="rs", budget=15, batch_size=5)
    assert [r[3] for r in one] == [r[3] for r in five]
    assert len({r[1] for r in five}) <= 4 < len({r[1] for r in one})


@pytest.mark.slow
def test_results_are_committed_as_they_arrive(tmp_path, monkeypatch):
    """One evaluation is held back; the others of its round must be in the store before it ends."""
    import numpy as np

    from llmnas.spaces.yaml_space import read_space_file

    sp = tmp_path / "sp"
    monkeypatch.syspath_prepend(str(sp))
    space_file = make_space(sp)
    space, _, _ = read_space_file(space_file)
    first = space.sample(np.random.default_rng(0))
    key = f"{first['a']}{first['b']}{first['c']}"
    (sp / "hold").mkdir(exist_ok=True)
    (sp / "hold" / key).write_text("")

    class HoldFirst(Strategy):
        name = "test-hold-first"
        batch_size = 6

        def ask(self, n):
            rng = np.random.default_rng(1)
            out, keys = [Proposal(dict(first), "held")], {key}
            while len(out) < n:
                a = space.sample(rng)
                k = f"{a['a']}{a['b']}{a['c']}"
                if k not in keys and a["c"] != "z":
                    keys.add(k)
                    out.append(Proposal(a, "free"))
            return out

        def tell(self, trials):
            pass

    if "test-hold-first" not in STRATEGIES:
        STRATEGIES.register("test-hold-first")(HoldFirst)
    out = tmp_path / "arrive.sqlite"
    seen: list[tuple[int, int]] = []

    def watch():
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                c = sqlite3.connect(f"file:{out}?mode=ro", uri=True, timeout=5)
                rows = c.execute("SELECT status FROM trials ORDER BY seq").fetchall()
                c.close()
            except sqlite3.Error:
                rows = []
            if rows and rows[0][0] == "pending":
                done = sum(1 for (s,) in rows if s == "ok")
                seen.append((len(rows), done))
                if done == 5:
                    break
            time.sleep(0.05)
        (sp / "go").write_text("")

    t = threading.Thread(target=watch, daemon=True)
    t.start()
    s = search(store=out, study="x", space=str(space_file), strategy="test-hold-first", budget=6, seed=0,
               executor={"kind": "process", "workers": 2})
    t.join(5)
    assert s.n_evaluated == 6
    assert seen and seen[-1] == (6, 5), seen  # five results stored while the first was still running


@pytest.mark.slow
def test_dead_worker_is_requeued_then_recorded_as_failed(tmp_path, monkeypatch):
    sp = tmp_path / "sp"
    monkeypatch.syspath_prepend(str(sp))
    space_file = make_space(sp, doomed=["00x"], flaky=["11x"])

    class Fixed(Strategy):
        name = "test-fixed"
        batch_size = 4

        def ask(self, n):
            return [Proposal({"a": a, "b": b, "c": "x"}, "fixed") for a, b in ((0, 0), (1, 1), (2, 2), (3, 3))]

        def tell(self, trials):
            pass

    if "test-fixed" not in STRATEGIES:
        STRATEGIES.register("test-fixed")(Fixed)
    out = tmp_path / "dead.sqlite"
    search(store=out, study="x", space=str(space_file), strategy="test-fixed", budget=3, seed=0, max_stall=4,
           executor={"kind": "process", "workers": 2, "max_requeues": 2})
    from llmnas.store import Store

    with Store(out, create=False) as st:
        trials = {f"{t.arch['a']}{t.arch['b']}{t.arch['c']}": t for t in st.trials(st.get_study("x").id) if t.round == 0}
    doomed, flaky = trials["00x"], trials["11x"]
    assert doomed.status == "failed" and "was lost 3 time(s), its worker died" in doomed.reason
    assert "SIGKILL" in doomed.reason and "max_requeues" in doomed.reason
    assert len(doomed.meta["lost_workers"]) == 3
    assert flaky.status == "ok" and len(flaky.meta["lost_workers"]) == 1  # re-queued once, then fine
    assert trials["22x"].status == trials["33x"].status == "ok" and "lost_workers" not in trials["22x"].meta
    started = sorted(p.name.split("-")[0] for p in (sp / "started").iterdir())
    assert started.count("00x") == 3 and started.count("11x") == 2 and started.count("22x") == 1


class Fixed4(Strategy):
    name = "test-fixed4"
    batch_size = 4

    def ask(self, n):
        return [Proposal({"a": a, "b": a, "c": "x"}, "fixed") for a in range(4)]

    def tell(self, trials):
        pass


if "test-fixed4" not in STRATEGIES:
    STRATEGIES.register("test-fixed4")(Fixed4)


def _round0(out):
    from llmnas.store import Store

    with Store(out, create=False) as st:
        return {f"{t.arch['a']}{t.arch['b']}{t.arch['c']}": t for t in st.trials(st.get_study("x").id) if t.round == 0}


@pytest.mark.slow
def test_hung_evaluation_is_stopped_after_the_timeout_and_requeued(tmp_path, monkeypatch):
    sp = tmp_path / "sp"
    monkeypatch.syspath_prepend(str(sp))
    space_file = make_space(sp, stuck=["00x"], stall=["11x"])
    out = tmp_path / "hung.sqlite"
    t0 = time.perf_counter()
    search(store=out, study="x", space=str(space_file), strategy="test-fixed4", budget=3, seed=0, max_stall=4,
           executor={"kind": "process", "workers": 2, "max_requeues": 1, "eval_timeout_s": 1.0})
    assert time.perf_counter() - t0 < 60
    trials = _round0(out)
    stuck, stall = trials["00x"], trials["11x"]
    assert stuck.status == "failed" and "was lost 2 time(s)" in stuck.reason and "eval_timeout_s=1 s" in stuck.reason
    assert stall.status == "ok" and stall.meta["lost_workers"] == ["no result within eval_timeout_s=1 s (worker stopped)"]
    assert trials["22x"].status == trials["33x"].status == "ok"


def test_gpu_ids_are_handed_to_the_workers(tmp_path, monkeypatch):
    sp = tmp_path / "sp"
    monkeypatch.syspath_prepend(str(sp))
    space_file = make_space(sp)
    (sp / "sleep").write_text("0.2")
    search(store=tmp_path / "g.sqlite", study="x", space=str(space_file), strategy="test-fixed4", budget=4, seed=0,
           executor={"kind": "process", "workers": 2, "gpu_ids": [3, 5]})
    seen = {p.read_text() for p in (sp / "started").iterdir()}
    assert seen == {"3", "5"}  # each worker saw only its own GPU


def test_worker_that_cannot_build_the_evaluator_stops_the_run_clearly(tmp_path, monkeypatch):
    sp = tmp_path / "sp"
    monkeypatch.syspath_prepend(str(sp))
    space_file = make_space(sp)
    src = (sp / "exec_eval.py").read_text()
    (sp / "exec_eval.py").write_text(
        f"import os\nif os.getpid() != {__import__('os').getpid()}:\n    raise ImportError('only on the driver')\n" + src)
    sys.modules.pop("exec_eval", None)
    with pytest.raises(LlmnasError, match="cannot build the evaluator.*only on the driver.*same files and packages"):
        search(store=tmp_path / "s.sqlite", study="x", space=str(space_file), strategy="rs", budget=4, seed=0,
               batch_size=4, executor={"kind": "process", "workers": 1})
    from llmnas.store import Store

    with Store(tmp_path / "s.sqlite", create=False) as st:
        study = st.get_study("x")
        assert study.stop_reason == "error" and any(k == "error" for _, k, _ in st.events(study.id))


def test_executor_config_errors_are_one_clear_line():
    from llmnas.config import make_config

    with pytest.raises(ConfigError, match="executor.kind: Input should be 'local', 'process' or 'ray'"):
        make_config({"executor": {"kind": "dask"}})
    with pytest.raises(ConfigError, match="workers applies to the process and ray executors"):
        make_config({"executor": {"workers": 4}})
    with pytest.raises(ConfigError, match=r"unknown key 'executor.gpus'; did you mean 'gpu_ids'\? \(valid keys: kind, workers"):
        make_config({"executor": {"kind": "ray", "gpus": 1}})
    with pytest.raises(ConfigError, match="eval_timeout_s needs worker processes"):
        make_config({"executor": {"eval_timeout_s": 5}})
    with pytest.raises(ConfigError, match="gpu_ids applies to the process executor"):
        make_config({"executor": {"kind": "ray", "gpu_ids": [0]}})


def test_missing_ray_names_the_extra(monkeypatch, tmp_path):
    from llmnas.cli import main

    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    from llmnas.executors.ray_exec import import_ray
    from llmnas.executors.base import ExecutorError

    with pytest.raises(ExecutorError, match=r"pip install 'llmnas\[ray\]'"):
        import_ray()
    assert main(["search", "--strategy", "rs", "--budget", "3", "--executor", "ray", "--out", str(tmp_path / "r.sqlite"), "-q"]) == 2


def test_unreachable_ray_cluster_fails_fast_with_one_clear_line(tmp_path, capsys):
    import socket

    from llmnas.cli import main

    pytest.importorskip("ray")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t0 = time.perf_counter()
    rc = main(["search", "--strategy", "rs", "--budget", "3", "--executor", "ray", "--ray-address", f"127.0.0.1:{port}",
               "--out", str(tmp_path / "r.sqlite"), "-q"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and err[0].startswith(f"error: cannot reach the Ray cluster at 127.0.0.1:{port}")
    assert time.perf_counter() - t0 < 15


@pytest.mark.slow
def test_bench_executors_prints_measured_times_and_checks_the_trials(tmp_path):
    from _cli_helpers import run_cli

    r = run_cli("bench-executors", "--executors", "local,process:2", "--budget", "12", "--batch-size", "6",
                "--sleep", "0.2", "--out", str(tmp_path / "b"), "--json", cwd=tmp_path, timeout=300)
    assert r.returncode == 0, r.stderr
    import json

    rows = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    assert [row["executor"] for row in rows] == ["local", "process x2"]
    assert all(row["evaluated"] == 12 and row["same_trials"] for row in rows)
    local, procs = rows
    assert local["search_s"] >= 12 * 0.2  # the sleeps really happened, one at a time
    assert procs["search_s"] < local["search_s"] and procs["speedup_search"] > 1.2
    bad = run_cli("bench-executors", "--executors", "local,dask:2", cwd=tmp_path)
    assert bad.returncode == 2 and "unknown executor 'dask'" in bad.stderr
