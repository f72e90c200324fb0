"""The lmsearcher strategy through the real runner and store, with scripted rankers."""

from __future__ import annotations

import json

import pytest
from helpers import candidates, make_run, pick

from llmnas.api import reopen, search
from llmnas.strategies.lmsearcher import prompt as lp
from llmnas.strategies.lmsearcher.rankers import closest_to_best
from llmnas.spaces.nb201 import NB201Space
from llmnas.store import Store
from llmnas.strategies.lmsearcher.strategy import listed_share

SPACE = NB201Space()


def _trials(run):
    return run.store.trials(run.study.id)


def test_warmup_then_one_llm_step_per_query_and_the_answer_is_taken(tmp_path):
    run, client = make_run(tmp_path, pick(lambda c: c[-1]), budget=12, options={"constrained": "off"})
    summary = run.run()
    trials = _trials(run)
    assert summary.n_evaluated == 12 and [t.source for t in trials] == ["warmup"] * 5 + ["ranker"] * 7
    assert len(client.requests) == 7  # one call per ranking step, no re-ask
    for t, req in zip(trials[5:], client.requests):
        pool = candidates(req.messages)
        assert len(pool) == 10 == len(set(pool)) and t.meta["pool"] == pool
        assert t.key == pool[-1] and t.meta["choice"] == pool[-1] and t.meta["parse"] == "exact"
        visited = {x.key for x in trials if x.seq < t.seq}
        assert not visited & set(pool), "the pool holds only unvisited architectures"
        assert t.meta["history_len"] == t.seq and req.schema is None and t.meta["constrained"] is False
        # the search prompt is the shared builder's (make-data uses it too), from the run's history
        assert req.messages == lp.build_messages([(x.key, x.score) for x in trials if x.seq < t.seq], pool,
                                                 order="chronological", scores="raw", max_history=200)
    # the history text only grows at its end (raw scores, no cap reached), so the server's prompt
    # cache keeps all of it; only the candidate list after it is new in each step
    histories = [req.messages[1]["content"].split(lp.CANDIDATES)[0].rstrip("\n") for req in client.requests]
    for a, b in zip(histories, histories[1:]):
        assert b.startswith(a + ",") and len(b) > len(a) + 6
    counts = run.strategy.counts
    assert counts["llm_steps"] == counts["listed_first"] == 7 and counts["fallback"] == 0
    assert listed_share(counts) == 1.0
    calls = run.store.llm_calls(run.study.id)
    assert len(calls) == 7 and {c["purpose"] for c in calls} == {"ranker"}


def test_a_model_that_never_names_a_listed_candidate_ends_within_the_bound(tmp_path, cli):
    run, client = make_run(tmp_path, lambda messages: "I think 999999 is best", budget=15, max_reasks=2,
                           options={"constrained": "off"})
    summary = run.run()
    trials = _trials(run)
    assert summary.stop_reason == "budget" and summary.n_evaluated == 15
    steps = 10
    assert len(client.requests) == steps * 3  # 1 ask + 2 re-asks per step, never more
    assert [t.source for t in trials[5:]] == ["fallback-closest"] * steps
    for t in trials[5:]:
        assert t.meta["fallback"] == "closest" and t.meta["asks"] == 3
        assert "not one of the listed candidates" in t.meta["reason"]
        # the fallback is the candidate closest to the best so far, recomputed from the store
        before = sorted((x for x in trials if x.seq < t.seq), key=lambda x: -x.score)
        pool = [SPACE.to_indices(SPACE.from_ncode(c)) for c in t.meta["pool"]]
        i = closest_to_best([SPACE.to_indices(x.arch) for x in before], pool)
        assert t.key == t.meta["pool"][i]
    assert run.strategy.counts["fallback"] == steps and listed_share(run.strategy.counts) == 0.0
    calls = run.store.llm_calls(run.study.id)
    assert len(calls) == 30 and all(c["parse_status"] == "failed" for c in calls)
    run.store.close()
    show = cli("show", str(tmp_path / "run.sqlite"))
    assert "LLM steps 10: listed candidate 0 at the first ask + 0 after a re-ask (0%), fallback 10" in show.stdout


def test_constrained_reply_names_a_json_string_and_random_fallback(tmp_path):
    # the schema is sent; a model that still answers off-list falls back to a random pool member
    run, client = make_run(tmp_path, lambda m: '"000000"', budget=8, max_reasks=0,
                           options={"constrained": True, "fallback": "random"})
    run.run()
    trials = _trials(run)
    assert all(r.schema == {"type": "string", "enum": candidates(r.messages)} for r in client.requests)
    assert [t.source for t in trials[5:]] == ["fallback-random"] * 3
    assert all(t.key in t.meta["pool"] and t.meta["constrained"] for t in trials[5:])


def test_unlisted_form_sends_the_pool_only_as_unique_prefixes_and_maps_the_answer_back(tmp_path):
    answers = []

    def script(messages):
        # the prompt lists no candidate, ends with the newest history entry, and shows raw scores
        user = messages[1]["content"]
        assert lp.CANDIDATES not in user and messages[0]["content"] == lp.SYSTEM_UNLISTED
        answers.append(user)
        return '"%s"' % client.requests[-1].schema["enum"][3]

    run, client = make_run(tmp_path, script, budget=12, options={"constrained": True, "candidates": "grammar"})
    assert run.strategy.prompt_form() == {"listed": False, "scores": "raw", "max_history": 200}
    run.run()
    trials = _trials(run)
    assert [t.source for t in trials] == ["warmup"] * 5 + ["ranker"] * 7
    for t, req in zip(trials[5:], client.requests):
        prefixes = lp.unique_prefixes(t.meta["pool"])
        assert req.schema == {"type": "string", "enum": prefixes}
        assert t.key == t.meta["pool"][3] and t.meta["parse"] == "prefix" and t.meta["listed"] is False
        assert not any(code in req.messages[1]["content"] for code in t.meta["pool"])
        before = [x for x in trials if x.seq < t.seq]
        last = before[-1]
        assert req.messages[1]["content"].endswith(f"{last.key}|{last.score:.2f}")
    # append-only: each step's text extends the previous one (nothing rescales, nothing leaves the cap)
    for a, b in zip(answers, answers[1:]):
        assert b.startswith(a + ",")


def test_unlisted_form_needs_constrained_replies_and_the_default_is_the_listed_form(tmp_path):
    from llmnas.errors import ConfigError

    with pytest.raises(ConfigError, match="candidates=grammar"):
        make_run(tmp_path, pick(lambda c: c[0]), options={"constrained": "off", "candidates": "grammar"})
    # the default listed form: evaluation order, raw scores, the whole history (its text only grows)
    run, _ = make_run(tmp_path, pick(lambda c: c[0]), options={"constrained": True}, study="a")
    assert run.strategy.prompt_form() == {"listed": True, "scores": "raw", "max_history": 200}
    # best first (the paper's order, and make-data's) keeps the paper's normalised scores and 30 entries
    run, _ = make_run(tmp_path, pick(lambda c: c[0]), options={"constrained": True, "history_order": "best-first"},
                      study="a2")
    assert run.strategy.prompt_form() == {"listed": True, "scores": "normalised", "max_history": 30}
    run, _ = make_run(tmp_path, pick(lambda c: c[0]), options={"constrained": True, "candidates": "grammar",
                                                               "scores": "normalised", "max_history": 50}, study="b")
    assert run.strategy.prompt_form() == {"listed": False, "scores": "normalised", "max_history": 50}
    # long codes: the cached form's default history stays near 4,096 tokens (NB301: 32 digits a code)
    run, _ = make_run(tmp_path, pick(lambda c: c[0]), options={"constrained": True, "candidates": "grammar"},
                      study="c", space="nb301")
    assert run.strategy.prompt_form() == {"listed": False, "scores": "raw", "max_history": 4096 // 40}


def test_a_reask_that_succeeds_is_marked(tmp_path):
    replies = iter(["no idea", None, "no idea", None, "no idea", None])

    def script(messages):
        r = next(replies)
        return r if r is not None else candidates(messages)[2]

    run, client = make_run(tmp_path, script, budget=8, options={"constrained": "off"})
    run.run()
    trials = _trials(run)
    assert [t.source for t in trials[5:]] == ["ranker-reask"] * 3
    assert all(t.meta["asks"] == 2 and t.key == t.meta["pool"][2] for t in trials[5:])
    assert "could not be used" in client.requests[1].messages[-1]["content"]  # the re-ask says why
    assert run.strategy.counts["listed_reask"] == 3


def test_replay_reproduces_the_run_without_a_model(tmp_path):
    rule = pick(lambda c: max(c, key=lambda code: sum(map(int, code))))
    run, _ = make_run(tmp_path, rule, budget=14, options={"constrained": "off"})
    run.run()
    first = [(t.key, t.source) for t in _trials(run)]
    path = run.store.path
    run.store.close()
    again = search(store=tmp_path / "again.sqlite", study="r", strategy="lmsearcher", budget=14, seed=0,
                   strategy_options={"constrained": "off"}, llm={"backend": "replay", "replay_run": str(path)})
    with Store(tmp_path / "again.sqlite") as st:
        assert [(t.key, t.source) for t in st.trials(st.get_study("r").id)] == first
    assert again.n_evaluated == 14


@pytest.mark.parametrize("strategy", ["lmsearcher-closest"])
def test_resume_equals_uninterrupted(tmp_path, strategy):
    full, part = tmp_path / "full.sqlite", tmp_path / "part.sqlite"
    search(store=full, study="x", strategy=strategy, budget=40, seed=3, dataset="cifar100")
    search(store=part, study="x", strategy=strategy, budget=17, seed=3, dataset="cifar100")
    run = reopen(part, "x", budget=40)
    try:
        run.run()
    finally:
        run.store.close()

    def keys(p):
        with Store(p) as st:
            return [(t.key, t.source) for t in st.trials(st.get_study("x").id)]

    assert keys(full) == keys(part)
    assert {s for _, s in keys(full)} == {"warmup", "closest"}


def test_state_is_json_and_counters_survive(tmp_path):
    run, _ = make_run(tmp_path, pick(lambda c: c[0]), budget=9, options={"constrained": "off"})
    run.run()
    state = json.loads(json.dumps(run.strategy.state_dict()))
    run2, _ = make_run(tmp_path, pick(lambda c: c[0]), budget=9, options={"constrained": "off"}, study="u")
    run2.strategy.load_state_dict(state)
    assert run2.strategy.counts == run.strategy.counts and run2.strategy.counts["listed_first"] == 4
    assert state["prompt_form"] == {"listed": True, "scores": "raw", "max_history": 200}


def test_a_resumed_run_keeps_its_prompt_form(tmp_path):
    # the form is pinned in the state: a resume under other defaults keeps the run's own form
    run, _ = make_run(tmp_path, pick(lambda c: c[0]), budget=7, options={"constrained": "off", "scores": "raw"})
    run.run()
    state = run.strategy.state_dict()
    other, _ = make_run(tmp_path, pick(lambda c: c[0]), options={"constrained": True, "candidates": "grammar"},
                        study="o")
    assert other.strategy.prompt_form()["listed"] is False
    other.strategy.load_state_dict(state)
    assert other.strategy.prompt_form() == {"listed": True, "scores": "raw", "max_history": 200}
    # a state written before the cached form existed (no prompt_form) resumes with the listed form
    legacy = json.loads(json.dumps(state))
    del legacy["prompt_form"]
    old, _ = make_run(tmp_path, pick(lambda c: c[0]), options={"constrained": True}, study="p")
    old.strategy.load_state_dict(legacy)
    assert old.strategy.prompt_form() == {"listed": True, "scores": "normalised", "max_history": 30}


def test_random_ranker_and_bad_options(tmp_path):
    s = search(store=tmp_path / "r.sqlite", strategy="lmsearcher", budget=12, seed=1,
               strategy_options={"ranker": "random"}, llm={"model": "no-model-needed"})
    assert s.n_evaluated == 12
    from llmnas.errors import ConfigError

    with pytest.raises(ConfigError, match="pool_size"):
        search(store=tmp_path / "b.sqlite", strategy="lmsearcher", budget=5, strategy_options={"pool_size": 0})
    with pytest.raises(ConfigError, match="ranker"):
        search(store=tmp_path / "b.sqlite", strategy="lmsearcher", budget=5, strategy_options={"ranker": "gpt"})


def test_pool_shrinks_when_the_space_runs_out(tmp_path):
    # the 3-op example table has 729 rows; budget it all: the last steps see small pools, then one
    from pathlib import Path

    yaml = Path(__file__).resolve().parents[3] / "examples" / "nb201-3ops" / "space.yaml"
    s = search(store=tmp_path / "e.sqlite", space=str(yaml), strategy="lmsearcher-closest", budget=729, seed=0)
    assert s.n_evaluated == 729
    with Store(tmp_path / "e.sqlite") as st:
        trials = st.trials(st.get_study(None).id)
    assert trials[-1].source == "only-candidate" and len({t.key for t in trials}) == 729
