"""The ray executor on one local Ray instance (2 CPUs, no dashboard, 100 MB object store):
the same trials as in-process, per-evaluation resource requests, a dead worker re-queued."""

from __future__ import annotations

import pytest

from _executor_helpers import make_space, trial_rows
from llmnas.api import search
from llmnas.store import Store
from test_executors import Batcher  # noqa: F401  (registers test-batcher)

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, object_store_memory=100 * 1024 * 1024, log_to_driver=False,
             logging_level="ERROR")
    yield
    ray.shutdown()


@pytest.fixture()
def space(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path / "sp"))
    return make_space(tmp_path / "sp")


def _search(tmp_path, space, name, executor, **kw):
    out = tmp_path / f"{name}.sqlite"
    search(store=out, study="x", space=str(space), strategy=kw.pop("strategy", "test-batcher"), budget=kw.pop("budget", 24),
           seed=kw.pop("seed", 11), executor=executor, **kw)
    return out


def test_ray_gives_the_trials_of_the_local_executor(tmp_path, space):
    local = trial_rows(_search(tmp_path, space, "local", {"kind": "local"}, seed=4, budget=20))
    on_ray = trial_rows(_search(tmp_path, space, "ray", {"kind": "ray", "workers": 2}, seed=4, budget=20))
    assert local == on_ray and {"ok", "duplicate", "illegal", "failed"} <= {r[4] for r in local}


def test_ray_dead_worker_requeued_then_failed_with_reason(tmp_path, space):
    make_space(space.parent, doomed=["44x"], flaky=["33y"])  # these kill their Ray worker
    from llmnas.strategies.base import STRATEGIES, Strategy
    from llmnas.types import Proposal

    class Fixed(Strategy):
        name = "test-ray-fixed"
        batch_size = 3

        def ask(self, n):
            return [Proposal({"a": 4, "b": 4, "c": "x"}), Proposal({"a": 3, "b": 3, "c": "y"}), Proposal({"a": 2, "b": 2, "c": "x"})]

        def tell(self, trials):
            pass

    if "test-ray-fixed" not in STRATEGIES:
        STRATEGIES.register("test-ray-fixed")(Fixed)
    out = _search(tmp_path, space, "dead", {"kind": "ray", "workers": 2, "max_requeues": 1}, strategy="test-ray-fixed",
                  budget=2, max_stall=3)
    with Store(out, create=False) as st:
        trials = {f"{t.arch['a']}{t.arch['b']}{t.arch['c']}": t for t in st.trials(st.get_study("x").id) if t.round == 0}
    doomed, flaky, fine = trials["44x"], trials["33y"], trials["22x"]
    assert doomed.status == "failed" and "was lost 2 time(s), its worker died" in doomed.reason
    assert "max_requeues" in doomed.reason and len(doomed.meta["lost_workers"]) == 2
    assert flaky.status == "ok" and len(flaky.meta["lost_workers"]) == 1
    assert fine.status == "ok" and "lost_workers" not in fine.meta


def test_ray_resource_request_bounds_concurrency(tmp_path, space, monkeypatch):
    """num_cpus=2 per evaluation on a 2-CPU Ray instance: evaluations never overlap; with 1 they do."""
    (space.parent / "sleep").write_text("0.5")

    def max_overlap(name, num_cpus):
        out = _search(tmp_path, space, name, {"kind": "ray", "num_cpus": num_cpus}, strategy="rs", budget=6,
                      batch_size=6, seed=2)
        with Store(out, create=False) as st:
            secs = {f"{t.arch['a']}{t.arch['b']}{t.arch['c']}": t.eval_seconds for t in st.trials(st.get_study("x").id)}
        spans = []
        for p in (space.parent / "started").iterdir():
            key, _, t0 = p.name.split("-")
            if key in secs and p.stat().st_mtime_ns > 0:
                spans.append((int(t0) / 1e9, int(t0) / 1e9 + secs[key]))
        for p in (space.parent / "started").iterdir():
            p.unlink()
        return max(sum(1 for a, b in spans if a <= s < b) for s, _ in spans)

    assert max_overlap("one-at-a-time", 2.0) == 1
    assert max_overlap("two-at-a-time", 1.0) == 2


def test_ray_hung_evaluation_is_cancelled_after_the_timeout(tmp_path, space):
    """On Ray the clock starts at submission (a replacement worker's start-up counts), so the
    timeout here leaves room for a loaded machine; the stuck-every-time case is in test_executors."""
    from test_executors import Fixed4  # noqa: F401  (registers test-fixed4)

    make_space(space.parent, stall=["11x"])
    out = _search(tmp_path, space, "hung", {"kind": "ray", "workers": 2, "max_requeues": 1, "eval_timeout_s": 6.0},
                  strategy="test-fixed4", budget=4)
    with Store(out, create=False) as st:
        trials = {f"{t.arch['a']}{t.arch['b']}{t.arch['c']}": t for t in st.trials(st.get_study("x").id) if t.round == 0}
    stall = trials["11x"]
    assert stall.status == "ok" and stall.meta["lost_workers"] == ["no result within eval_timeout_s=6 s (task cancelled)"]
    assert all(trials[k].status == "ok" and "lost_workers" not in trials[k].meta for k in ("00x", "22x", "33x"))
