"""Every classical strategy through the same contract: ask/tell, JSON state, resume = uninterrupted."""

from __future__ import annotations

import json

import numpy as np
import pytest

from llmnas.api import reopen, search
from llmnas.runner import History
from llmnas.seeding import child_rng
from llmnas.spaces.nb201 import NB201Space
from llmnas.store import Store
from llmnas.strategies import STRATEGIES
from llmnas.strategies.base import StrategyContext

CLASSICAL = ["rs", "rea", "ls", "reinforce", "optuna-tpe"]


def _keys(path, study):
    with Store(path) as st:
        return [(t.key, t.status, t.source, t.signal) for t in st.trials(st.get_study(study).id)]


@pytest.mark.parametrize("name", CLASSICAL)
def test_resume_at_k_equals_uninterrupted(tmp_path, name):
    full = tmp_path / "full.sqlite"
    part = tmp_path / "part.sqlite"
    search(store=full, study="x", strategy=name, budget=60, seed=11, dataset="cifar100")
    search(store=part, study="x", strategy=name, budget=23, seed=11, dataset="cifar100")
    run = reopen(part, "x", budget=60)
    try:
        run.run()
    finally:
        run.store.close()
    assert _keys(full, "x") == _keys(part, "x")


@pytest.mark.parametrize("name", CLASSICAL)
def test_state_dict_is_json_and_restores_behaviour(name):
    space = NB201Space()
    hist = History()
    cls = STRATEGIES.get(name)
    a = cls(StrategyContext(space, child_rng(0, "strategy"), hist))
    from llmnas.spaces.nb201_evaluator import NB201Evaluator
    from llmnas.types import Trial

    ev = NB201Evaluator(space)
    seq = 0
    for _ in range(25):  # drive it by hand
        (p,) = a.ask(1)
        r = ev.evaluate(p.arch)
        t = Trial(seq=seq, round=seq, arch=p.arch, key=space.canonical_key(p.arch), status="ok", number=seq,
                  signal=r.signal, score=r.signal, report=r.report)
        hist.add(t)
        a.tell([t])
        seq += 1
    state = json.loads(json.dumps(a.state_dict()))
    b = cls(StrategyContext(space, child_rng(999, "strategy"), hist))
    b.load_state_dict(state)
    assert json.dumps(b.state_dict(), sort_keys=True) == json.dumps(a.state_dict(), sort_keys=True)
    assert [p.arch for p in a.ask(1)] == [p.arch for p in b.ask(1)]


@pytest.mark.parametrize("name", CLASSICAL)
def test_same_seed_same_trials_other_seed_differs(tmp_path, name):
    search(store=tmp_path / "a.sqlite", study="x", strategy=name, budget=30, seed=4)
    search(store=tmp_path / "b.sqlite", study="x", strategy=name, budget=30, seed=4)
    search(store=tmp_path / "c.sqlite", study="x", strategy=name, budget=30, seed=5)
    assert _keys(tmp_path / "a.sqlite", "x") == _keys(tmp_path / "b.sqlite", "x")
    assert _keys(tmp_path / "a.sqlite", "x") != _keys(tmp_path / "c.sqlite", "x")


def test_rea_uses_tournament_and_aging():
    """After P random members, children are single-decision mutations of a population member."""
    space = NB201Space()
    hist = History()
    rea = STRATEGIES.get("rea")(StrategyContext(space, np.random.default_rng(0), hist))
    from llmnas.types import Trial

    for i in range(30):
        (p,) = rea.ask(1)
        if i < 10:
            assert p.source == "random"
        else:
            assert p.source == "mutation"
            parents = {space.to_ncode(t.arch) for t in rea.population}
            child = space.to_ncode(p.arch)
            assert any(sum(a != b for a, b in zip(child, par)) == 1 for par in parents)
        t = Trial(seq=i, round=i, arch=p.arch, key=space.canonical_key(p.arch), status="ok", score=float(i))
        hist.add(t)
        rea.tell([t])
        assert len(rea.population) == min(i + 1, 10)
    assert [t.score for t in rea.population] == [float(i) for i in range(20, 30)]  # oldest removed first


def test_ls_climbs_neighbourhoods():
    space = NB201Space()
    hist = History()
    ls = STRATEGIES.get("ls")(StrategyContext(space, np.random.default_rng(0), hist))
    from llmnas.spaces.nb201_evaluator import NB201Evaluator
    from llmnas.types import Trial

    ev = NB201Evaluator(space)
    sources = []
    for i in range(60):
        (p,) = ls.ask(1)
        sources.append(p.source)
        r = ev.evaluate(p.arch)
        t = Trial(seq=i, round=i, arch=p.arch, key=space.canonical_key(p.arch), status="ok", score=r.signal, signal=r.signal)
        hist.add(t)
        ls.tell([t])
    assert sources[:10] == ["random"] * 10
    assert sources[10:34] == ["neighbor"] * 24  # the full neighbourhood of the best initial arch
    centre = ls.chosen[0]
    assert ls.best[2] >= max(t.signal for t in hist.evaluated()[:10])
    assert centre is not None
