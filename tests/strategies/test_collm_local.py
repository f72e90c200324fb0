"""CoLLM's local proposals (the default preset): the Coordinator's statistics and elites, the
allowed set held by the grammar, duplicate re-asks, and the LLM-off control on the same loop."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from llmnas.errors import ConfigError
from llmnas.spaces.base import Decision, SearchSpace
from llmnas.strategies.collm import CoLLM
from llmnas.strategies.collm.local import changed, elites, neighbourhood, option_stats, stats_block, trie_pattern
from llmnas.types import Trial

from .collm_helpers import SPACE, make_run

LOCAL = {"preset": "local"}


def _trial(space: SearchSpace, code: str, signal: float | None, seq: int = 0) -> Trial:
    arch = space.from_ncode(code)
    return Trial(seq=seq, round=0, arch=arch, key=space.canonical_key(arch), status="ok" if signal is not None
                 else "failed", signal=signal, score=signal)


def test_statistics_are_computed_on_a_known_history():
    space = SearchSpace("s", [Decision("a", ("x", "y", "z")), Decision("b", (1, 2))])
    trials = [_trial(space, "00", 10.0), _trial(space, "01", 20.0), _trial(space, "11", 40.0),
              _trial(space, "21", None)]  # no signal: not counted
    a, b = option_stats(trials, space)
    assert [(s.count, s.mean, s.best) for s in a] == [(2, 15.0, 20.0), (1, 40.0, 40.0), (0, None, None)]
    assert [(s.count, s.mean, s.best) for s in b] == [(1, 10.0, 10.0), (2, 30.0, 40.0)]
    low = option_stats(trials, space, higher=False)  # a minimised signal: best is the smallest
    assert low[1][1].best == 20.0
    text = stats_block(trials, space)
    assert text.splitlines() == [
        "Per-option statistics over the 3 evaluated architectures (option: mean / best signal, count):",
        "- a: 0=x 15/20 (2); 1=y 40/40 (1); 2=z -",
        "- b: 0=1 10/10 (1); 1=2 30/40 (2)"]
    top = elites(trials + [_trial(space, "11", 40.0, 5)], 2, lambda t: t.score)
    assert [t.key for t in top] == ["11", "01"]  # one per architecture, best first


def test_compact_statistics_show_used_options_best_first():
    space = SearchSpace("s", [Decision("a", ("x", "y", "z")), Decision("b", (1, 2))])
    trials = [_trial(space, "00", 10.0), _trial(space, "01", 20.0), _trial(space, "11", 40.0),
              _trial(space, "21", None)]
    assert stats_block(trials, space, compact=True, signal="acc").splitlines() == [
        "Mean acc per option over the 3 evaluated architectures, best first, with counts "
        "(options not used yet are left out):",
        "- a: y 40 (1), x 15 (2)",
        "- b: 2: 30 (2), 1: 10 (1)"]  # numeric options get a colon, so "2: 30" cannot read as "2 30"
    low = stats_block(trials, space, higher=False, compact=True).splitlines()
    assert low[1:] == ["- a: x 15 (2), y 40 (1)", "- b: 1: 10 (1), 2: 30 (2)"]  # minimised: lowest mean first
    assert stats_block([], space, compact=True).startswith("Per-option statistics: none yet")


def test_compact_feedback_costs_fewer_characters_than_the_full_one(tmp_path):
    """Same scripted run twice: the compact refine turn says the same results in far fewer characters,
    and feedback: full gives back the earlier turn (per option mean/best/count, every line labelled)."""
    def script(messages):
        last = messages[-1]["content"]
        if "Iteration 0" in last or last.startswith("Results of iteration"):
            return _brief()
        return json.dumps({"candidates": [c for c in ("333330", "333331", "333332", "333313", "333323",
                                                       "333303", "333133", "333233", "330333", "303333")]})

    turns = {}
    for form in ("compact", "full"):
        run, client = make_run(tmp_path / form, script, budget=20,
                               options={**LOCAL, "feedback": form, "results_list": True})
        assert run.strategy.feedback_form == form
        run.run()
        turns[form] = [r.messages[-1]["content"] for r in client.requests if r.purpose == "navigator"][1]
    full, compact = turns["full"], turns["compact"]
    # the default preset's form (docs/collm.md §8: as good at 5 seeds, a third less LLM time); others keep full
    assert CoLLM.Settings().feedback == "compact" and CoLLM.Settings().findings_chars == 0
    assert CoLLM.Settings(preset="paper").feedback == CoLLM.Settings(preset="compact").feedback == "full"
    assert "Per-option statistics over the 10 evaluated architectures" in full and "| val_200 " in full
    assert "Best so far: val_200" in full and "0=none" in full
    assert "Mean val_200 per option over the 10 evaluated architectures" in compact
    # the same codes in the same order, each with its score
    codes = lambda text: re.findall(r"^- (\d{6})\b", text, re.M)
    assert codes(compact) == codes(full) and len(codes(compact)) == 10 + 5  # results, then elites
    assert len(compact) < 0.75 * len(full)


def test_a_state_from_before_the_compact_feedback_resumes_with_the_full_form(tmp_path):
    run, _ = make_run(tmp_path, lambda m: _brief() if "Iteration 0" in m[-1]["content"] else
                      json.dumps({"candidates": ["333330", "333331", "333332"]}), budget=3,
                      options={**LOCAL, "n_min": 3, "n_max": 3, "feedback": "compact"})
    run.run()
    state = json.loads(json.dumps(run.strategy.state_dict()))
    assert run.strategy.feedback_form == state["feedback_form"] == "compact" and state["iteration"] >= 1
    s2 = CoLLM.__new__(type(run.strategy))
    s2.__dict__.update(run.strategy.__dict__)
    s2.feedback_form = "full"
    s2.load_state_dict(state)
    assert s2.feedback_form == "compact"  # the pinned form wins over anything else
    s2.load_state_dict({k: v for k, v in state.items() if k != "feedback_form"})
    assert s2.feedback_form == "full"  # a state written before the key existed: the form it began with


def test_the_local_preset_defaults_to_the_compact_turn_and_pins_its_findings_bound(tmp_path):
    """The default turn has no findings field; a state written by the earlier default (full turn,
    no pinned bound) resumes with the findings bound it began with, and a pinned bound wins."""
    from llmnas.strategies.collm.strategy import LOCAL_FINDINGS_CHARS

    brief = json.dumps({"favour": [], "avoid": [], "vary": [], "explore": "little"})
    run, _ = make_run(tmp_path, lambda m: brief if "Iteration 0" in m[-1]["content"] else
                      json.dumps({"candidates": ["333330", "333331", "333332"]}), budget=3,
                      options={**LOCAL, "n_min": 3, "n_max": 3})
    run.run()
    strat = run.strategy
    assert strat.feedback_form == "compact" and strat.brief_bounds[0] == 0
    assert "findings" not in strat.nav_schema["properties"]
    state = json.loads(json.dumps(strat.state_dict()))
    assert state["findings_chars"] == 0 and state["iteration"] >= 1
    tokens = strat.nav_tokens
    old = {k: v for k, v in state.items() if k != "findings_chars"}
    old["feedback_form"] = "full"  # what the earlier default pinned
    strat.load_state_dict(old)
    assert strat.brief_bounds[0] == LOCAL_FINDINGS_CHARS and "findings" in strat.nav_schema["properties"]
    assert strat.nav_tokens > tokens  # the budget follows the schema
    strat.load_state_dict(state)
    assert strat.brief_bounds[0] == 0 and "findings" not in strat.nav_schema["properties"]
    assert strat.nav_tokens == tokens


def test_the_local_preset_lists_no_results_beside_the_statistics_and_pins_its_turn(tmp_path):
    """The default turn carries the elites and per-option statistics but not the iteration's results
    one by one (``results_list: false``); ``results_list: true`` gives the list back, and
    ``strategy_items`` bounds the favour / avoid lists. Both are pinned in the state: a state
    written before them resumes with the list and four options a list."""
    from llmnas.strategies.collm.strategy import LOCAL_MAX_ITEMS

    gen = ["333330", "333331", "333332", "333313", "333323", "333303", "333133", "333233", "330333", "303333"]

    def script(messages):
        last = messages[-1]["content"]
        if "Iteration 0" in last or last.startswith("Results of iteration"):
            return _brief()
        return json.dumps({"candidates": gen})

    turns, schemas = {}, {}
    for listed in (False, True):
        run, client = make_run(tmp_path / str(listed), script, budget=20,
                               options={**LOCAL, **({"results_list": True, "strategy_items": 2} if listed else {})})
        run.run()
        navs = [r for r in client.requests if r.purpose == "navigator"]
        turns[listed], schemas[listed] = navs[1].messages[-1]["content"], navs[1].schema
        strat = run.strategy
    plain, listed_turn = turns[False], turns[True]
    codes = lambda text: re.findall(r"^- (\d{6})\b", text, re.M)
    assert len(codes(listed_turn)) == 10 + 5 and len(codes(plain)) == 5  # results + elites / elites only
    assert "Mean val_200 per option over the 10 evaluated architectures" in plain
    assert "The Generator proposed 10 candidates; 10 were new and valid." in plain
    assert plain.startswith("Results of iteration 1 (val_200).")
    assert len(plain) <= len(listed_turn) - 10 * len("- 333330 91.5")  # shorter by at least the ten result lines
    for listed, items in ((False, LOCAL_MAX_ITEMS), (True, 2)):
        props = schemas[listed]["properties"]
        assert props["favour"]["maxItems"] == props["avoid"]["maxItems"] == items
    assert CoLLM.Settings().strategy_items is None and CoLLM.Settings().results_list is False
    assert CoLLM.Settings(preset="paper").results_list is True and CoLLM.Settings(preset="paper").strategy_items is None
    from llmnas.strategies.collm.strategy import SiLLM
    assert SiLLM.Settings().results_list is True and CoLLM.Settings(sillm=True).results_list is True
    assert SiLLM.Settings(results_list=False).results_list is False
    # pinned: the listed run's state keeps its list; a state from before the settings resumes listed, 4 options
    state = json.loads(json.dumps(strat.state_dict()))
    assert state["results_list"] is True and state["strategy_items"] == 2
    tokens = strat.nav_tokens
    strat.load_state_dict({**state, "results_list": False})
    assert strat.results_list is False
    strat.load_state_dict({k: v for k, v in state.items() if k not in ("results_list", "strategy_items")})
    assert strat.results_list is True and strat.brief_bounds[1] == LOCAL_MAX_ITEMS
    assert strat.nav_schema["properties"]["favour"]["maxItems"] == LOCAL_MAX_ITEMS and strat.nav_tokens > tokens
    with pytest.raises(ValueError, match="results_list: false"):
        CoLLM.Settings(statistics=False, results_list=False)


def test_trie_pattern_matches_exactly_its_codes():
    rng = np.random.default_rng(1)
    for width in (1, 2, 6):
        codes = sorted({"".join(map(str, rng.integers(0, 5, width))) for _ in range(40)})
        pattern = re.compile(trie_pattern(codes))
        assert all(pattern.fullmatch(c) for c in codes)
        every = {"".join(map(str, t)) for t in np.ndindex(*([5] * width))} if width < 6 else \
            {"".join(map(str, rng.integers(0, 5, width))) for _ in range(3000)}
        assert not [c for c in every - set(codes) if pattern.fullmatch(c)]
    assert trie_pattern(["310", "311", "320"]) == "^3(1[0-1]|20)$"
    with pytest.raises(ValueError):
        trie_pattern([])


def test_neighbourhood_is_unvisited_legal_and_within_the_distance():
    anchor = SPACE.from_ncode("333333")
    visited = {SPACE.canonical_key(SPACE.from_ncode("333330"))}
    rng = np.random.default_rng(0)
    near = neighbourhood(SPACE, [anchor], 1, lambda k: k in visited, rng, 1000)
    # 6 edges x 4 other ops, less the visited one and cells that fold into the same key
    assert 0 < len(near) <= 23 and "333330" not in near
    assert all(changed(SPACE, c, ["333333"])[1] == 1 for c in near)
    assert len({SPACE.canonical_key(SPACE.from_ncode(c)) for c in near}) == len(near)
    two = neighbourhood(SPACE, [anchor], 2, lambda k: k in visited, rng, 1000)
    assert set(near) <= set(two) and max(changed(SPACE, c, ["333333"])[1] for c in two) == 2
    # avoiding "edge_0_1 -> op 0" drops every change to option 0 at position 0
    avoid = neighbourhood(SPACE, [anchor], 2, lambda k: False, rng, 1000, avoid=[(0, 0)])
    assert avoid and not [c for c in avoid if c[0] == "0"]
    capped = neighbourhood(SPACE, [anchor], 2, lambda k: False, rng, 30)
    assert len(capped) == 30 and set(near) - {"333330"} <= set(capped) | {"333330"}


def _brief(vary=("333333",), explore="little", avoid=(), findings=None) -> str:
    """A strategy in the default preset's form (no findings field unless given)."""
    reply = {"favour": ["edge_0_1=nor_conv_3x3"], "avoid": list(avoid), "vary": list(vary), "explore": explore}
    return json.dumps(reply if findings is None else {"findings": findings, **reply})


def test_local_loop_holds_the_generator_to_the_allowed_set_and_re_asks(tmp_path):
    generator = iter([["333330", "333330", "333323"],  # one repeat within the reply
                      ["333331", "333332", "333330"],  # the re-ask: one code already taken
                      ["333313", "333312", "333311"]])

    def script(messages):
        last = messages[-1]["content"]
        if "Iteration 0" in last or last.startswith("Results of iteration"):
            return _brief()
        return json.dumps({"candidates": next(generator)})

    run, client = make_run(tmp_path, script, budget=6, options={**LOCAL, "n_min": 3, "n_max": 5})
    assert run.run().n_evaluated == 6
    reqs = client.requests
    assert [r.purpose for r in reqs[:4]] == ["navigator", "generator", "generator", "navigator"]
    gen = reqs[1]
    # iteration 1 varies the Navigator's code at distance 1 ("little"): the grammar is that set
    arr = gen.schema["properties"]["candidates"]
    groups = [g["pattern"] for g in arr["prefixItems"]]
    assert len(groups) == arr["minItems"] == arr["maxItems"] == 3 and arr["items"] is False
    allowed = neighbourhood(SPACE, [SPACE.from_ncode("333333")], 1, lambda k: False, np.random.default_rng(0), 1000)
    # the answer slots' grammars deal the allowed set into disjoint groups, and admit nothing else
    for code in allowed:
        assert sum(bool(re.fullmatch(g, code)) for g in groups) == 1
    assert not any(re.fullmatch(g, "333300") for g in groups)
    assert "333333" in gen.messages[-1]["content"] and "up to 1 decision changed" in gen.messages[-1]["content"]
    # the re-ask names the repeat and the taken codes, and its grammar excludes what was taken
    again = reqs[2]
    assert again.messages[-1]["content"].startswith("That reply gave 2 new architectures")
    assert "333330" in again.messages[-1]["content"]
    assert not any(re.fullmatch(g["pattern"], "333330") for g in again.schema["properties"]["candidates"]["prefixItems"])
    log = run.strategy.log
    assert log[0]["reasks"] == 1 and log[0]["attempted"] == 6 and log[0]["proposed"] == 4
    assert (log[0]["duplicate_reply"], log[0]["duplicate_run"], log[0]["new"]) == (2, 0, 4)
    assert log[0]["anchors"] == ["333333"] and log[0]["distance"] == 1
    # the Navigator's refine turn carries the Coordinator's elites and per-option statistics
    refine = reqs[3].messages[-1]["content"]  # the compact turn: per decision the options used, best mean first
    assert "Best architectures so far" in refine and "Mean val_200 per option over the 4 evaluated" in refine
    assert "- edge_0_1: nor_conv_3x3 89.9 (4)" in refine
    # and its "vary" field is held to evaluated codes
    vary = reqs[3].schema["properties"]["vary"]["items"]["pattern"]
    done = run.store.trials(run.study.id)[:4]
    assert all(re.fullmatch(vary, SPACE.to_ncode(t.arch)) for t in done) and not re.fullmatch(vary, "000000")


def test_llm_off_control_makes_no_llm_call_and_draws_from_the_same_set(tmp_path):
    def script(messages):
        raise AssertionError("the LLM-off control must not call the LLM")

    run, client = make_run(tmp_path, script, strategy="collm-off", budget=30, options=LOCAL)
    summary = run.run()
    assert summary.n_evaluated == 30 and client.requests == []
    trials = run.store.trials(run.study.id)
    log = run.strategy.log
    assert [e["proposed"] for e in log] == [10, 10, 10]
    # iteration 1 has no elite: random cells; later ones are within distance 1 ("little") of the best 3
    for e in log[1:]:
        assert len(e["anchors"]) == 3 and e["distance"] == 1
    later = [t for t in trials if t.meta.get("iteration", 0) >= 2]
    for t in later:
        anchors = log[t.meta["iteration"] - 1]["anchors"]
        assert changed(SPACE, SPACE.to_ncode(t.arch), anchors)[1] == 1
    assert all(t.source.startswith("random#") for t in trials)


def test_llm_off_control_is_seeded_and_resumable(tmp_path):
    a, _ = make_run(tmp_path / "a", lambda m: "", strategy="collm-off", budget=25, options=LOCAL)
    b, _ = make_run(tmp_path / "b", lambda m: "", strategy="collm-off", budget=25, options=LOCAL)
    a.run(), b.run()
    ka = [t.key for t in a.store.trials(a.study.id)]
    assert ka == [t.key for t in b.store.trials(b.study.id)]
    # a copy of the strategy restored from its state proposes what the original proposes next
    s1 = a.strategy
    s2 = CoLLM.__new__(type(s1))
    s2.__dict__.update(s1.__dict__)
    s2.load_state_dict(json.loads(json.dumps(s1.state_dict())))
    assert s2.anchor_codes == s1.anchor_codes and s2.distance == s1.distance


def test_presets_set_the_forms_and_explicit_fields_win():
    local, paper, compact = CoLLM.Settings(), CoLLM.Settings(preset="paper"), CoLLM.Settings(preset="compact")
    assert (local.encoding, local.navigator_format, local.proposals, local.statistics) == ("code", "brief", "local", True)
    assert (paper.encoding, paper.navigator_format, paper.proposals, paper.statistics) == ("json", "paper", "free", False)
    assert (compact.proposals, compact.generator_reasks, local.generator_reasks) == ("free", 0, 2)
    assert CoLLM.Settings(preset="paper", statistics=True).statistics is True
    assert CoLLM.Settings(encoding="json").proposals == "free"  # local sets are sets of codes
    with pytest.raises(ValueError, match="needs encoding 'code'"):
        CoLLM.Settings(encoding="json", proposals="local")
    with pytest.raises(ValueError, match="set proposals: local"):
        CoLLM.Settings(preset="paper", generator="random")
    from llmnas.strategies.collm.strategy import CoLLMOff

    with pytest.raises(ValueError, match="collm-off loads no model"):
        CoLLMOff.Settings(generator="llm")


def test_unknown_strategy_option_still_fails_clearly(tmp_path):
    with pytest.raises(ConfigError, match="preset"):
        make_run(tmp_path, lambda m: "", options={"preset": "tiny"})


def test_sillm_local_turn_shares_the_conversation_and_the_slot_grammar(tmp_path):
    replies = iter([["333332", "333331"], ["333330", "333313"]])

    def script(messages):
        last = messages[-1]["content"]
        if last.startswith("Now follow the strategy"):
            return json.dumps({"candidates": next(replies)})
        return _brief()

    run, client = make_run(tmp_path, script, strategy="sillm", budget=4, options={**LOCAL, "n_min": 2, "n_max": 2})
    assert run.run().n_evaluated == 4
    reqs = client.requests
    assert [r.purpose for r in reqs[:2]] == ["navigator", "generator"]
    turn = reqs[1].messages[-1]["content"]
    assert "- 333333 (not evaluated yet)" in turn and "Propose 2 new architectures" in turn
    assert len(reqs[1].schema["properties"]["candidates"]["prefixItems"]) == 2


def test_position_groups_hold_whole_edit_buckets_and_cover_the_set():
    from llmnas.strategies.collm.local import position_groups

    anchors = ["333333", "000000"]
    codes = neighbourhood(SPACE, [SPACE.from_ncode(a) for a in anchors], 1, lambda k: False,
                          np.random.default_rng(0), 1000)
    groups = position_groups(SPACE, codes, anchors, 10, np.random.default_rng(1))
    assert len(groups) == 10 and sorted(c for g in groups for c in g) == sorted(codes)
    for g in groups:  # a (nearest anchor, changed decision) bucket is never split across groups
        for c in g:
            a, _ = changed(SPACE, c, anchors)
            pos = next(i for i in range(6) if c[i] != a[i])
            same = [d for d in codes if changed(SPACE, d, anchors)[0] == a and d[pos] != a[pos]
                    and d[:pos] + d[pos + 1:] == a[:pos] + a[pos + 1:]]
            assert set(same) <= set(g)
    # fewer buckets than slots: the largest are split, still disjoint and covering
    few = position_groups(SPACE, codes[:8], anchors, 10, np.random.default_rng(1))
    assert sorted(c for g in few for c in g) == sorted(codes[:8]) and len(few) <= 10


def test_elite_anchor_puts_the_best_so_far_first(tmp_path):
    def script(messages):
        last = messages[-1]["content"]
        if "Iteration 0" in last or last.startswith("Results of iteration"):
            return _brief(vary=())
        return json.dumps({"candidates": []})

    run, _ = make_run(tmp_path, script, strategy="collm", budget=3,
                      options={**LOCAL, "elite_anchor": True, "generator": "random", "n_min": 3, "n_max": 3})
    run.run()
    best = max(run.store.trials(run.study.id), key=lambda t: t.score)
    run.strategy._set_anchors({"vary": ["000000"]})
    assert run.strategy.anchor_codes[:2] == [SPACE.to_ncode(best.arch), "000000"]
