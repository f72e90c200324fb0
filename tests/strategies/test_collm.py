"""CoLLM-NAS strategy through the real runner with a scripted LLM (collm-nas.md §3, §12)."""

from __future__ import annotations

import json

import numpy as np

import pytest

from llmnas.errors import ConfigError
from llmnas.strategies.base import StrategyContext
from llmnas.strategies.collm import CoLLM
from llmnas.strategies.collm.memory import Conversation, estimate_tokens, window

from .collm_helpers import SPACE, Script, make_run, random_candidates

LEGAL = {"edge_0_1": "nor_conv_3x3", "edge_0_2": "nor_conv_3x3", "edge_1_2": "skip_connect",
         "edge_0_3": "nor_conv_1x1", "edge_1_3": "none", "edge_2_3": "nor_conv_3x3"}


def _trials(run):
    return run.store.trials(run.study.id)


def test_happy_path_alternates_roles_and_records_provenance(tmp_path):
    script = Script(random_candidates(1))
    run, _ = make_run(tmp_path, script, budget=25)
    summary = run.run()
    assert summary.stop_reason == "budget" and summary.n_evaluated == 25
    assert [r for r, _ in script.calls] == ["navigator", "generator"] * 3
    trials = _trials(run)
    assert [t.source for t in trials] == ["generator#1"] * 10 + ["generator#2"] * 10 + ["generator#3"] * 5
    for t in trials:
        assert t.meta["iteration"] == int(t.source.split("#")[1])
        assert t.meta["role"] == "generator" and t.meta["prompt"] == "generator_user"
    firsts = [t for t in trials if "strategy" in t.meta]
    assert [t.seq for t in firsts] == [0, 10, 20]
    assert firsts[1].meta["strategy"].startswith("# SUMMARY\nstrategy 2")
    assert trials[24].meta["counts"] == {"attempted": 10, "parsed": 10, "legal": 10, "new": 10,
                                         "proposed": 5, "cut": 5}
    # The Navigator's second turn reports iteration 1's results, best first, with their signal.
    refine = script.of("navigator")[1][-1]["content"]
    assert refine.startswith("Results of iteration 1.")
    best = max(trials[:10], key=lambda t: t.score)
    line = next(ln for ln in refine.splitlines() if ln.startswith("- "))
    assert json.dumps(best.arch, separators=(", ", ": ")) in line and f"val_200 {best.signal:.4g}" in line
    # The Generator gets the Navigator's latest strategy.
    assert "strategy 2" in script.of("generator")[1][-1]["content"]


def test_malformed_reply_is_recorded_and_the_run_goes_on(tmp_path):
    gen = random_candidates(2)
    script = Script(lambda i: "I cannot do that." if i == 0 else gen(i))
    run, client = make_run(tmp_path, script, budget=15)
    assert run.run().stop_reason == "budget"
    log = run.strategy.log
    assert log[0]["reply"] == "failed" and log[0]["attempted"] == 0 and log[0]["new"] == 0
    assert log[1]["reply"] == "ok" and log[1]["empty_before"] == 1
    assert "The Generator proposed 0 candidates; 0 were new" in script.of("navigator")[1][-1]["content"]
    assert {t.source for t in _trials(run)} == {"generator#2", "generator#3"}
    assert _trials(run)[0].meta["empty_before"] == 1


def test_empty_replies_stop_the_run_after_the_bound(tmp_path):
    script = Script([""])
    run, _ = make_run(tmp_path, script, budget=20, options={"max_empty_iterations": 2})
    summary = run.run()
    assert summary.stop_reason == "exhausted" and summary.n_trials == 0
    assert [r for r, _ in script.calls] == ["navigator", "generator"] * 2
    assert run.strategy.stopped.startswith("2 iterations in a row")
    assert run.strategy.ask(5) == []  # stays stopped without calling the LLM again
    assert len(script.calls) == 4


def test_illegal_candidates_are_dropped_with_their_reasons(tmp_path):
    bad = [dict(LEGAL, edge_0_1="conv_9x9"), {"edge_0_1": "none"}, "not an object", LEGAL]
    script = Script([json.dumps({"candidates": bad})] + [json.dumps({"candidates": [LEGAL]})])
    run, _ = make_run(tmp_path, script, budget=5, options={"n_min": 1, "n_max": 4, "max_empty_iterations": 1})
    summary = run.run()
    assert summary.n_evaluated == 1 and summary.stop_reason == "exhausted"
    first = run.strategy.log[0]
    assert first["reply"] == "failed" and first["found_by"] == "lenient"  # failed the schema, salvaged
    assert (first["attempted"], first["parsed"], first["legal"], first["new"], first["illegal"]) == (4, 1, 1, 1, 3)
    refine = script.of("navigator")[1][-1]["content"]
    assert "3 invalid (not in the search space)" in refine
    assert "candidate 1: edge_0_1: 'conv_9x9' is not an option" in refine
    assert "candidate 2: missing decision" in refine


def test_all_duplicate_replies_count_and_stop(tmp_path):
    script = Script([json.dumps({"candidates": [LEGAL] * 10})])
    run, _ = make_run(tmp_path, script, budget=20, options={"max_empty_iterations": 3})
    summary = run.run()
    assert summary.n_evaluated == 1 and summary.stop_reason == "exhausted"
    log = run.strategy.log
    assert (log[0]["new"], log[0]["duplicate_reply"]) == (1, 9)
    assert [e["duplicate_run"] for e in log[1:]] == [10, 10, 10]
    assert "10 already evaluated earlier" in script.of("navigator")[2][-1]["content"]


def test_truncated_reply_keeps_its_complete_objects(tmp_path):
    text = json.dumps({"candidates": [LEGAL, dict(LEGAL, edge_1_3="skip_connect")]})[:-60]
    script = Script([text])
    run, _ = make_run(tmp_path, script, budget=5, options={"n_min": 1, "max_empty_iterations": 1})
    run.run()
    assert run.strategy.log[0]["found_by"] == "objects" and run.strategy.log[0]["new"] == 1


def test_fallback_is_off_by_default_and_labelled_when_on(tmp_path):
    script = Script([""])
    run, _ = make_run(tmp_path, script, budget=12, options={"n_min": 5, "fallback": "mutation"})
    summary = run.run()
    assert summary.stop_reason == "budget" and summary.n_evaluated == 12
    trials = _trials(run)
    assert {t.source for t in trials} == {"fallback-mutation"}
    assert all(t.meta["role"] == "fallback" for t in trials)
    assert run.strategy.log[0]["fallback"] == 5
    assert CoLLM.Settings().fallback == "none"


def test_top_up_fills_each_iteration_to_n_min(tmp_path):
    # the Generator repeats one cell: 1 new candidate per iteration at most
    script = Script([json.dumps({"candidates": [LEGAL] * 10})])
    run, _ = make_run(tmp_path, script, budget=12, options={"n_min": 6, "fallback": "top-up"})
    summary = run.run()
    assert summary.n_evaluated == 12
    trials = _trials(run)
    first = [t for t in trials if t.round == 0]
    assert [t.source for t in first] == ["generator#1"] + ["fallback-mutation"] * 5
    assert all(t.meta["fallback"] == "top-up" for t in first[1:])
    assert run.strategy.log[0]["fallback"] == 5 and run.strategy.log[0]["new"] == 1


def test_state_round_trip_and_resume_skip_finished_iterations(tmp_path):
    script = Script(random_candidates(3))
    big = {"context_tokens": 16384}  # room for the whole conversation
    run, _ = make_run(tmp_path, script, budget=20, options=big)
    run.run()
    state = run.strategy.state_dict()
    assert json.loads(json.dumps(state)) == state
    twin, _ = make_run(tmp_path, Script(random_candidates(3)), budget=20, store=run.store, study="twin", options=big)
    twin.strategy.load_state_dict(json.loads(json.dumps(state)))
    assert twin.strategy.state_dict() == state
    # Resume the same study with a larger budget: iteration 3 starts with a refine, not a re-init.
    script2 = Script(random_candidates(4))
    resumed, _ = make_run(tmp_path, script2, budget=30, store=run.store, options=big)
    assert resumed.run().stop_reason == "budget"
    assert script2.of("navigator")[0][-1]["content"].startswith("Results of iteration 2.")
    assert len(script2.of("navigator")[0]) == 6  # system + 2 earlier exchanges + the new turn
    assert {t.source for t in _trials(resumed)[20:]} == {"generator#3"}


def test_sillm_uses_one_conversation_for_both_roles(tmp_path):
    script = Script(random_candidates(5))
    run, _ = make_run(tmp_path, script, strategy="sillm", budget=20)
    assert run.run().stop_reason == "budget"
    nav, gen = script.of("navigator"), script.of("generator")
    assert nav[0][0]["content"].startswith("You are a single language model")
    assert gen[0][0] == nav[0][0]  # same system prompt, same conversation
    assert gen[0][-2]["role"] == "assistant" and gen[0][-2]["content"].startswith("# SUMMARY\nstrategy 1")
    assert gen[0][-1]["content"].startswith("Now follow the strategy you just wrote")
    # The second reflection sees the first proposal turn (the conversation is shared).
    assert any(m["role"] == "assistant" and m["content"].startswith('{"candidates"') for m in nav[1])
    assert _trials(run)[0].meta["prompt"] == "sillm_generate"


def test_navigator_memory_switch_changes_the_messages(tmp_path):
    on, off = Script(random_candidates(6)), Script(random_candidates(6))
    (tmp_path / "a").mkdir()
    make_run(tmp_path / "a", on, budget=20)[0].run()
    (tmp_path / "b").mkdir()
    make_run(tmp_path / "b", off, budget=20, options={"navigator_memory": False})[0].run()
    second_on, second_off = on.of("navigator")[1], off.of("navigator")[1]
    assert [m["role"] for m in second_on] == ["system", "user", "assistant", "user"]
    assert [m["role"] for m in second_off] == ["system", "user"]
    assert "Your previous strategy was:" in second_off[-1]["content"]
    assert "strategy 1" in second_off[-1]["content"]
    assert "Your previous strategy was:" not in second_on[-1]["content"]


def test_generator_memory_switch_changes_the_messages(tmp_path):
    on = Script(random_candidates(7))
    (tmp_path / "a").mkdir()
    make_run(tmp_path / "a", on, budget=20, options={"generator_memory": True})[0].run()
    off = Script(random_candidates(7))
    (tmp_path / "b").mkdir()
    make_run(tmp_path / "b", off, budget=20)[0].run()
    assert [m["role"] for m in on.of("generator")[1]] == ["system", "user", "assistant", "user"]
    assert on.of("generator")[1][2]["content"].startswith('{"candidates"')
    assert [m["role"] for m in off.of("generator")[1]] == ["system", "user"]


def test_context_window_keeps_system_first_exchange_and_recent_turns():
    conv = Conversation("S" * 400)
    for k in range(6):
        conv.add("user", f"u{k}" + "x" * 400)
        conv.add("assistant", f"a{k}" + "y" * 400)
    # each message is about 165 estimated tokens: room for system + 2 exchanges + the new turn
    sent = conv.request("new" + "z" * 400, budget_tokens=1050)
    heads = [m["content"][:3] for m in sent]
    assert heads[0] == "SSS" and heads[-1] == "new"
    assert heads[1:3] == ["u0x", "a0y"]  # the first exchange stays
    assert heads[3:5] == ["u5x", "a5y"]  # then the newest exchange
    assert len(sent) == 6 and estimate_tokens(sent) <= 1050
    assert len(conv.turns) == 12  # a request stores nothing; the caller adds the exchange
    conv.exchange("new", "reply")
    turns = conv.turns + [{"role": "user", "content": "next"}]
    limited = window([{"role": "system", "content": "s"}], turns, 10**6, max_exchanges=1)
    assert [m["content"][:2] for m in limited] == ["s", "u0", "a0", "ne", "re", "ne"]
    assert len(conv.turns) == 14  # the full conversation is kept in the state


def test_settings_and_context_are_checked(tmp_path):
    with pytest.raises(ValueError, match="n_min"):
        CoLLM.Settings(n_min=12, n_max=10)
    with pytest.raises(ValueError, match="generator_memory"):
        CoLLM.Settings(sillm=True, generator_memory=True)
    import numpy as np

    ctx = StrategyContext(space=SPACE, rng=np.random.default_rng(0), history=None, llm=None)
    with pytest.raises(ConfigError, match="needs an LLM"):
        CoLLM(ctx)


def test_prompts_hide_the_space_name_and_state_the_constraint(tmp_path):
    script = Script(random_candidates(8))
    run, _ = make_run(tmp_path, script, budget=10, constraints=["flops_M <= 100"])
    run.run()
    system = script.of("navigator")[0][0]["content"]
    assert "nb201" not in system.lower() and "NAS-Bench" not in system
    assert "Resource constraint: flops_M <= 100" in system and "still evaluated" in system
    assert run.strategy.schema["properties"]["candidates"]["maxItems"] == 20


def test_reasoning_is_never_fed_back_to_the_navigator(tmp_path):
    gen = random_candidates(9)

    def script(messages):
        if messages[0]["content"].startswith("You are the Navigator"):
            return "<think>private chain of thought</think># SUMMARY\nvisible"
        return gen(0)

    run, client = make_run(tmp_path, script, budget=15)
    run.run()
    second = [r.messages for r in client.requests if r.messages[0]["content"].startswith("You are the Navigator")][1]
    assert second[2] == {"role": "assistant", "content": "# SUMMARY\nvisible"}
    assert not any("private chain" in m["content"] for m in second)


class _History:
    def __init__(self):
        self.keys = set()

    def is_visited(self, key):
        return key in self.keys

    def lookup(self, key):
        return None

    def evaluated(self):
        return []

    def best(self):
        return None


def test_works_on_any_search_space_through_ask_and_tell():
    import numpy as np

    from llmnas.llm import LLMSettings, ScriptedClient
    from llmnas.spaces.base import Decision, SearchSpace
    from llmnas.types import Trial

    space = SearchSpace("toy-space", [Decision("depth", (2, 3, 4), "blocks"), Decision("act", ("relu", "gelu"))],
                        "A toy family.")
    replies = iter(["# SUMMARY\ngo deep",
                    json.dumps({"candidates": [{"depth": "4", "act": "gelu"}, {"depth": 4, "act": "gelu"},
                                               {"depth": 5, "act": "relu"}]})])
    client = ScriptedClient(lambda m: next(replies), settings=LLMSettings(model="scripted", max_reasks=0))
    ctx = StrategyContext(space=space, rng=np.random.default_rng(0), history=_History(), llm=client,
                          run_info={"signal": "val_acc", "higher_is_better": True, "budget": 6,
                                    "constraints": [], "dataset": "toyset"})
    strat = CoLLM(ctx, CoLLM.Settings(n_min=1, n_max=3, encoding="json", navigator_format="paper"))
    assert strat.batch_size == 3
    props = strat.ask(3)
    assert [p.arch for p in props] == [{"depth": 4, "act": "gelu"}]  # "4" decoded; repeat and 5 dropped
    system = client.requests[0].messages[0]["content"]
    assert "highest val_acc on toyset" in system and "toy-space" not in system
    assert "## depth" in system and "## act" in system and "A toy family." in system
    gen_schema = client.requests[1].schema["properties"]["candidates"]
    assert gen_schema["items"] == space.arch_json_schema() and gen_schema["maxItems"] == 3
    strat.tell([Trial(seq=0, round=0, arch=props[0].arch, key="20", status="ok", signal=0.9, score=0.9)])
    assert strat.feedback["results"][0]["signal"] == 0.9


def test_an_endpoint_failure_leaves_the_state_unchanged(tmp_path):
    import numpy as np

    from llmnas.errors import EndpointError
    from llmnas.llm import LLMSettings, ScriptedClient

    replies = ["# SUMMARY\ns0", EndpointError("endpoint down; fix it"), "# SUMMARY\ns0",
               json.dumps({"candidates": [LEGAL]})]
    client = ScriptedClient(replies, settings=LLMSettings(model="scripted", max_reasks=0, max_retries=0))
    ctx = StrategyContext(space=SPACE, rng=np.random.default_rng(0), history=_History(), llm=client,
                          run_info={"signal": "val_200", "budget": 5, "constraints": []})
    strat = CoLLM(ctx, CoLLM.Settings(n_min=1, n_max=3, encoding="json", navigator_format="paper"))
    before = json.dumps(strat.state_dict())
    with pytest.raises(EndpointError):
        strat.ask(3)
    after = strat.state_dict()
    assert after["iteration"] == 0 and after["generator"]["turns"] == []
    assert len(after["navigator"]["turns"]) == 2  # the finished Navigator turn is kept
    strat.load_state_dict(json.loads(before))
    assert [p.source for p in strat.ask(3)] == ["generator#1"]
    assert strat.nav.turns[0]["content"].startswith("Iteration 0")


def test_top_up_moves_to_the_next_best_parent_when_a_neighbourhood_is_used_up():
    from llmnas.llm import LLMSettings, ScriptedClient
    from llmnas.runner import History
    from llmnas.strategies.base import StrategyContext
    from llmnas.types import Trial

    space = SPACE
    hist = History()
    best = space.from_ncode("333333")
    second = space.from_ncode("111111")
    seq = 0
    for arch, score in [(best, 90.0), (second, 80.0)] + [(a, 10.0) for a in space.neighbors(best)]:
        hist.add(Trial(seq=seq, round=0, arch=arch, key=space.canonical_key(arch), status="ok", score=score, signal=score))
        seq += 1
    ctx = StrategyContext(space, np.random.default_rng(0), hist,
                          llm=ScriptedClient(lambda m: "", settings=LLMSettings(model="scripted")))
    strat = CoLLM(ctx, CoLLM.Settings(fallback="top-up"))
    strat.log.append({})
    out = strat._fallback(5, set())
    assert len(out) == 5
    assert all(sum(a != b for a, b in zip(space.to_ncode(p.arch), "111111")) == 1 for p in out)
    assert all(p.source == "fallback-mutation" for p in out)


def test_top_up_in_iteration_1_mutates_the_generators_own_candidates(tmp_path):
    # nothing is evaluated before iteration 1's top-up: its parents are that iteration's
    # Generator candidates (one new cell here), not a random architecture
    script = Script([json.dumps({"candidates": [LEGAL] * 10})])
    run, _ = make_run(tmp_path, script, budget=6, options={"n_min": 6, "fallback": "top-up"})
    run.run()
    first = [t for t in _trials(run) if t.round == 0]
    parent = SPACE.to_ncode(SPACE.encode(LEGAL))
    tops = [t for t in first if t.source == "fallback-mutation"]
    assert len(tops) == 5
    assert all(t.meta["parents"].startswith("this iteration's Generator candidates") for t in tops)
    assert all(sum(a != b for a, b in zip(SPACE.to_ncode(t.arch), parent)) == 1 for t in tops)


def test_show_and_plot_tell_llm_trials_from_fallback_ones(tmp_path):
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from rich.console import Console

    from llmnas.llm_wiring import StoreSink
    from llmnas.report.plots import figure
    from llmnas.report.show import show_study

    script = Script([json.dumps({"candidates": [LEGAL] * 10})])  # 1 new cell per iteration
    run, client = make_run(tmp_path, script, budget=12, options={"n_min": 6, "fallback": "top-up"})
    client.sink = StoreSink(run.store, run.study.id)  # the calls stored as a CLI run stores them
    run.run()
    trials = _trials(run)
    n_llm = sum(t.source.startswith("generator") and t.status == "ok" for t in trials)
    n_fb = sum(t.source == "fallback-mutation" and t.status == "ok" for t in trials)
    assert n_llm >= 1 and n_fb >= 5 and n_llm + n_fb == 12
    buf = io.StringIO()
    show_study(Console(file=buf, width=200), run.store, run.store.get_study("t"))
    text = buf.getvalue()
    assert f"from the LLM ({n_llm} evaluated)" in text and f"from fallbacks ({n_fb} evaluated)" in text
    assert "scripted: " in text.split("sources")[0]  # the LLM row names the model
    assert "Navigator strategy 1" not in text and "--strategy-text" in text
    buf = io.StringIO()
    show_study(Console(file=buf, width=200), run.store, run.store.get_study("t"), strategy_text=True)
    assert "Navigator strategy 1" in buf.getvalue()
    fig = figure([str(tmp_path / "run.sqlite")])
    try:
        got: dict[str, int] = {}
        for c in fig.axes[0].collections:
            got[c.get_gid()] = got.get(c.get_gid(), 0) + len(c.get_offsets())
        assert got == {"LLM": n_llm, "fallback": n_fb}
        labels = {c.get_label() for c in fig.axes[0].collections}
        assert {"trial from the LLM", "trial from a fallback"} <= labels
    finally:
        plt.close(fig)


def test_token_estimate_counts_a_token_per_digit():
    # both embedded tokenizers split numbers into digits: a statistics line is digit-heavy
    words, numbers = [{"role": "user", "content": "a" * 100}], [{"role": "user", "content": "57.82/69.55 " * 10}]
    assert estimate_tokens(words) == 40 + 4
    assert estimate_tokens(numbers) == 80 + int(40 / 2.5) + 4  # 80 digits, 40 other characters
