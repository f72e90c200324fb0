"""224 malformed LLM replies fed to both LLM strategies' parsers (CoLLM's Generator reply
parser and LM-Searcher's ranker choice parser): each gets a verdict with a reason, none
crashes, and nothing in them is ever executed (checked with a Python audit hook and a marker
file the injection payloads try to create). First the parsers alone, then each strategy end to
end through the real runner and SQLite store with the replies served by a scripted client."""

from __future__ import annotations

import collections
import os
import sys

import pytest

from _malformed import corpus
from llmnas.api import Run
from llmnas.config import make_config
from llmnas.llm import LLMSettings, ScriptedClient
from llmnas.llm.parsing import parse_json
from llmnas.strategies.lmsearcher.prompt import parse_choice
from llmnas.spaces.nb201 import NB201Space
from llmnas.store import Store
from llmnas.strategies.collm.coordinator import extract_candidates, screen

DANGEROUS = {"os.system", "subprocess.Popen", "os.exec", "os.posix_spawn", "os.spawn", "os.fork",
             "pickle.find_class", "builtins.input", "ctypes.dlopen", "os.startfile", "shutil.rmtree", "os.remove"}
_WATCH = {"on": False, "events": []}


def _hook(event: str, args: tuple) -> None:
    if not _WATCH["on"]:
        return
    if event in DANGEROUS:
        _WATCH["events"].append((event, repr(args)[:200]))
    elif event in ("compile", "exec"):
        # module imports compile/exec code from real files; code built from a string has none
        code = args[0] if args else None
        filename = args[1] if event == "compile" and len(args) > 1 else getattr(code, "co_filename", "")
        if not (isinstance(filename, str) and os.path.isfile(filename)):
            _WATCH["events"].append((event, repr(args)[:200]))


sys.addaudithook(_hook)


class watch_execution:
    def __enter__(self):
        _WATCH["events"].clear()
        _WATCH["on"] = True
        return _WATCH["events"]

    def __exit__(self, *exc):
        _WATCH["on"] = False


@pytest.fixture()
def replies(tmp_path):
    marker = tmp_path / "PWNED"
    items = corpus(str(marker))
    assert len(items) >= 200
    yield items
    assert not marker.exists(), "a reply's payload was executed"


SPACE = NB201Space()
SCHEMA = {"type": "object", "additionalProperties": False, "required": ["candidates"],
          "properties": {"candidates": {"type": "array", "items": SPACE.arch_json_schema(), "minItems": 10, "maxItems": 20}}}
CODES = ["310044", "000000", "123401", "444444", "012340", "221100", "330033", "101010", "432104", "040404"]


def test_the_execution_watch_sees_code_being_run(tmp_path):
    with watch_execution() as events:
        eval("1 + 1")  # noqa: S307 - the watch must notice this
        import pickle

        try:
            pickle.loads(pickle.dumps(collections.OrderedDict()))
        except Exception:
            pass
    kinds = {e for e, _ in events}
    assert "compile" in kinds or "exec" in kinds
    assert "pickle.find_class" in kinds


def test_collm_and_lmsearcher_parsers_give_every_malformed_reply_a_reasoned_verdict(replies):
    # warm up every code path once (imports) before watching
    extract_candidates(None, replies[0][1]), parse_choice("x", CODES), parse_json("[", SCHEMA)
    verdicts: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    with watch_execution() as events:
        for kind, text in replies:
            res = parse_json(text, SCHEMA)
            assert res.status in ("ok", "repaired", "failed")
            assert res.status != "failed" or res.reason, (kind, text[:80])
            items, how = extract_candidates(res.value if res.status != "failed" else None, text)
            sc = screen(items, SPACE, lambda key: False)
            assert all(SPACE.check(arch) is None for _, arch in sc.new)  # only legal archs get through
            reason = res.reason if res.status == "failed" else "; ".join(sc.reasons)
            if not sc.new:
                assert reason or not items, (kind, text[:80])  # nothing usable: say why
            verdicts["collm"][f"{kind}:{'usable' if sc.new else 'rejected'}"] += 1
            choice, why = parse_choice(text, CODES)
            assert (choice in CODES and why in ("exact", "extracted")) or (choice is None and why), (kind, text[:80])
            verdicts["lmsearcher"][f"{kind}:{'usable' if choice else 'rejected'}"] += 1
    assert events == [], events
    assert sum(verdicts["collm"].values()) == sum(verdicts["lmsearcher"].values()) == len(replies)
    # prose and empty replies never yield a candidate; a truncated one keeps its complete objects
    for kind in ("prose", "empty"):
        assert verdicts["collm"][f"{kind}:usable"] == 0 and verdicts["lmsearcher"][f"{kind}:usable"] == 0
    assert verdicts["collm"]["truncated:usable"] >= 30
    print("\nverdicts per kind:", {k: dict(sorted(v.items())) for k, v in verdicts.items()})


def _open_run(tmp_path, name, strategy, options, budget, client):
    store = Store(tmp_path / f"{name}.sqlite")
    cfg = make_config({"strategy": strategy, "budget": budget, "seed": 0, "strategy_options": options})
    from llmnas.api import prepare, resolved_config
    from llmnas.versions import versions

    problem, _, _ = prepare(cfg)
    info = store.create_study("x", resolved_config(cfg, problem), 0, versions())
    return store, Run(store, info, cfg, llm=client)


@pytest.mark.slow
def test_collm_run_survives_every_malformed_generator_reply(tmp_path, replies):
    from llmnas.llm_wiring import StoreSink

    texts = iter(t for _, t in replies)

    def script(messages):
        is_generator = messages[0]["content"].startswith("You are the Generator")
        return next(texts, "{}") if is_generator else "Explore convolutions; avoid none on every edge."

    client = ScriptedClient(script, settings=LLMSettings(model="scripted", max_reasks=0))
    store, run = _open_run(tmp_path, "collm", "collm",
                           {"max_iterations": len(replies), "max_empty_iterations": 1000, "n_min": 10, "n_max": 20,
                            "generator_reasks": 0},  # one call per corpus reply
                           2000, client)
    client.sink = StoreSink(store, run.study.id)
    run.runner.sink = client.sink
    try:
        with watch_execution() as events:
            summary = run.run()
        calls = store.llm_calls(run.study.id)
        trials = store.trials(run.study.id)
        log = store.load_state(run.study.id)[2]["log"]
    finally:
        store.close()
    assert events == [], events
    assert summary.stop_reason == "exhausted"
    gen = [c for c in calls if c["purpose"] == "generator"]
    assert len(gen) == len(replies) == len(log)
    for c in gen:  # every reply recorded with its verdict, and a reason when it failed
        assert c["parse_status"] in ("ok", "repaired", "failed")
        assert c["parse_status"] != "failed" or c["parse_reason"]
    assert sum(e["reply"] == "failed" for e in log) >= 150
    for e in log:
        assert e["attempted"] >= e["parsed"] >= e["legal"] >= e["new"] >= e["proposed"]
    assert trials and {t.status for t in trials} <= {"ok", "duplicate"}  # nothing illegal reached the runner


@pytest.mark.slow
def test_lmsearcher_run_survives_every_malformed_ranker_reply(tmp_path, replies):
    from llmnas.llm_wiring import StoreSink

    texts = iter(t for _, t in replies)
    client = ScriptedClient(lambda messages: next(texts, "nothing"), settings=LLMSettings(model="scripted", max_reasks=0))
    store, run = _open_run(tmp_path, "lms", "lmsearcher", {"warmup": 2, "constrained": False}, len(replies) + 2, client)
    client.sink = StoreSink(store, run.study.id)
    run.runner.sink = client.sink
    try:
        with watch_execution() as events:
            summary = run.run()
        calls = store.llm_calls(run.study.id)
        trials = store.trials(run.study.id)
    finally:
        store.close()
    assert events == [], events
    assert summary.n_evaluated == len(replies) + 2
    assert len(calls) == len(replies)
    steps = [t for t in trials if t.source != "warmup"]
    assert len(steps) == len(replies)
    for c, t in zip(calls, steps):
        if c["parse_status"] == "failed":
            assert c["parse_reason"].startswith("validate:") and t.source.startswith("fallback-")
            assert t.meta["reason"]  # the step records why the reply was not used
        else:
            assert t.source == "ranker" and t.meta["choice"] in t.meta["pool"]
    assert sum(t.source.startswith("fallback-") for t in steps) >= 200
