"""CoLLM's compact forms: NCode candidates (grammar-enforced) and the brief, bounded strategy."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from llmnas.config import make_config
from llmnas.errors import LlmnasError
from llmnas.spaces.registry import SPACES, build_problem
from llmnas.spaces.base import Decision, SearchSpace
from llmnas.strategies.collm import CoLLM
from llmnas.strategies.collm.coordinator import extract_candidates, results_block, screen
from llmnas.strategies.collm.strategy import _brief_schema, _brief_tokens, _strategy_text

from .collm_helpers import SPACE, make_run


def _space(name: str) -> SearchSpace:
    try:
        return build_problem(make_config(dict(space=name, strategy="rs", budget=1))).space
    except LlmnasError:  # a supernet space: its evaluator needs a trained supernet, the space nothing
        from llmnas.spaces.supernets.configs import make_net_config
        from llmnas.spaces.supernets.spaces import make_space

        return make_space(make_net_config(name))


@pytest.mark.parametrize("name", SPACES.names())
def test_compact_encoding_round_trips_on_every_registered_space(name):
    space = _space(name)
    pattern = re.compile(space.ncode_pattern())
    rng = np.random.default_rng(0)
    archs = [space.sample(rng) for _ in range(200)]
    codes = [space.to_ncode(a) for a in archs]
    assert all(pattern.fullmatch(c) for c in codes), "the grammar admits every legal code"
    sc = screen(codes, space, lambda key: False)
    assert sc.counts["illegal"] == 0 and sc.counts["legal"] == len(codes)
    # what the Coordinator decodes is the architecture that was encoded (in its canonical form)
    decoded = {space.canonical_key(a) for _, a in sc.new}
    assert decoded == {space.canonical_key(a) for a in archs}
    # a field one past its last option is outside the grammar and rejected with a reason
    d0 = space.decisions[0]
    bad = str(len(d0.options)).zfill(d0.width) + codes[0][d0.width:]
    if len(bad) == len(codes[0]):
        assert not pattern.fullmatch(bad)
        rejected = screen([bad], space, lambda key: False)
        assert rejected.counts["illegal"] == 1 and d0.name in rejected.reasons[0]


def test_pattern_covers_wide_fields_exactly():
    space = SearchSpace("w", [Decision("a", tuple(range(12))), Decision("b", ("x", "y"))])
    pattern = re.compile(space.ncode_pattern())
    assert pattern.fullmatch("111") and pattern.fullmatch("000") and pattern.fullmatch("101")
    assert not pattern.fullmatch("121") and not pattern.fullmatch("002") and not pattern.fullmatch("11")


def test_malformed_compact_reply_is_rejected_with_reasons():
    items, how = extract_candidates({"candidates": ["012340", "01234", "0123x5", "912340", "012340"]}, "")
    sc = screen(items, SPACE, lambda key: False)
    assert how == "schema" and sc.counts == {"attempted": 5, "parsed": 2, "legal": 2, "new": 1, "illegal": 3,
                                             "duplicate_run": 0, "duplicate_reply": 1}
    assert any("must be 6 digits" in r for r in sc.reasons) and any("edge_0_1" in r for r in sc.reasons)
    assert sc.repeats == [SPACE.from_ncode("012340")]  # the repeat, listed once, for a re-ask
    visited = screen(["012340", "012340"], SPACE, lambda key: True)
    assert visited.counts["duplicate_run"] == 2 and visited.repeats == [SPACE.from_ncode("012340")]
    # a reply that is no JSON at all (e.g. cut off) still yields its complete codes
    items, how = extract_candidates(None, '{"candidates": ["012340", "2233', code_length=6)
    assert how == "codes" and items == ["012340"]


def _brief(favour=("edge_0_1=nor_conv_3x3",), vary=("333333",)) -> str:
    return json.dumps({"findings": "convs win", "favour": list(favour), "avoid": ["edge_1_2=none"],
                       "vary": list(vary), "explore": "little"})


def test_compact_loop_with_brief_strategy_and_code_candidates(tmp_path):
    calls = []

    def script(messages):
        calls.append(messages)
        if len(calls) % 2:  # the Navigator
            return _brief()
        if len(calls) == 2:
            return json.dumps({"candidates": ["333333", "333332", "333331", "999999", "333333"]})
        return json.dumps({"candidates": ["333330", "333322", "333311"]})

    run, client = make_run(tmp_path, script, budget=6,
                           options={"encoding": "code", "navigator_format": "brief", "n_min": 2, "n_max": 5})
    summary = run.run()
    assert summary.n_evaluated == 6
    nav, gen = client.requests[0], client.requests[1]
    # both replies are grammar-constrained: the strategy by its bounded schema, candidates by the NCode pattern
    assert nav.schema == _brief_schema(SPACE, "code") and nav.params["max_tokens"] == _brief_tokens(nav.schema)
    item = gen.schema["properties"]["candidates"]["items"]
    assert item == {"type": "string", "pattern": SPACE.ncode_pattern()}
    system = gen.messages[0]["content"]
    assert "string of 6 digits" in system and '{"candidates": ["<code>", ...]}' in system
    strategy = gen.messages[-1]["content"]
    assert "Favour: edge_0_1=nor_conv_3x3" in strategy and "Vary these architectures: 333333" in strategy
    log = run.strategy.log
    assert log[0]["new"] == 3 and log[0]["illegal"] == 1 and log[0]["duplicate_reply"] == 1
    assert log[0]["navigator_cut"] is False
    # the Navigator reads results as codes, not JSON objects
    refine = client.requests[2].messages[-1]["content"]
    assert "- 333333 | val_200" in refine and "{" not in refine.split("Best so far")[0]
    trials = run.store.trials(run.study.id)
    assert trials[0].key == "333333" and trials[0].arch == SPACE.from_ncode("333333")


def test_brief_schema_admits_only_the_space_options():
    schema = _brief_schema(SPACE, "code")
    pairs = schema["properties"]["favour"]["items"]["enum"]
    assert len(pairs) == 30 and "edge_2_3=avg_pool_3x3" in pairs
    assert schema["properties"]["vary"]["items"]["pattern"] == SPACE.ncode_pattern()
    assert "vary" not in _brief_schema(SPACE, "json")["properties"]


def test_cut_strategy_keeps_whole_lines_and_says_so():
    text, cut = _strategy_text("# SUMMARY\nconvs help\n# KEY PAT", None, "length", 64)
    assert cut and text.startswith("# SUMMARY\nconvs help") and "cut at its 64-token budget" in text
    assert "KEY PAT" not in text
    assert _strategy_text("one line cut mid-w", None, "length", 64) == ("", True)
    assert _strategy_text("# SUMMARY\nall", None, "stop", 64) == ("# SUMMARY\nall", False)
    brief, cut = _strategy_text("", {"findings": "a", "favour": ["x=1"], "avoid": [], "vary": [],
                                     "explore": "much"}, "stop", 64)
    assert brief == "Findings: a\nFavour: x=1\nHow far to move from them: much" and not cut


def test_results_block_writes_codes_when_asked():
    arch = SPACE.from_ncode("012340")
    r = {"arch": arch, "status": "ok", "signal": 90.5, "score": 90.5, "feasible": True, "reason": "", "metrics": {}}
    assert results_block([r], "val_200", None, SPACE.to_ncode) == "- 012340 | val_200 90.5"
    assert json.dumps(arch, separators=(", ", ": ")) in results_block([r], "val_200")


def test_default_settings_are_the_compact_forms():
    s = CoLLM.Settings()
    assert s.encoding == "code" and s.navigator_format == "brief" and s.navigator_max_tokens is None


def test_sillm_compact_turns_share_one_conversation(tmp_path):
    replies = iter([_brief(), json.dumps({"candidates": ["333333", "333330"]}),
                    _brief(vary=("333330",)), json.dumps({"candidates": ["333300", "333000"]})])
    run, client = make_run(tmp_path, lambda m: next(replies), strategy="sillm", budget=4,
                           options={"encoding": "code", "navigator_format": "brief", "n_min": 2, "n_max": 2})
    assert run.run().n_evaluated == 4
    reqs = client.requests
    assert [r.purpose for r in reqs] == ["navigator", "generator"] * 2
    # the proposal turn continues the analysis turn's conversation, with the candidates' grammar
    assert reqs[1].messages[:2] == reqs[0].messages[:2] and reqs[1].messages[2]["content"] == _brief()
    assert reqs[1].schema["properties"]["candidates"]["items"]["pattern"] == SPACE.ncode_pattern()
    assert '{"candidates": ["<code>", ...]}' in reqs[1].messages[-1]["content"]
    assert [t.key for t in run.store.trials(run.study.id)] == ["333333", "333330", "333300", "333000"]
