"""The supernet EA baseline (SPOS/AutoFormer): generations, top-k, crossover, resume."""

from __future__ import annotations

from collections import Counter

import numpy as np

from llmnas.api import reopen, search
from llmnas.runner import History
from llmnas.spaces.nb201 import NB201Space
from llmnas.store import Store
from llmnas.strategies import STRATEGIES
from llmnas.strategies.base import StrategyContext
from llmnas.strategies.supernet_ea import crossover, mutate_each


def _trials(path, study="x"):
    with Store(path, create=False) as st:
        return st.trials(st.get_study(study).id)


def test_generations_follow_spos_population_topk_mutation_crossover(tmp_path):
    search(store=tmp_path / "ea.sqlite", study="x", strategy="supernet-ea", budget=200, seed=3, dataset="cifar10")
    trials = [t for t in _trials(tmp_path / "ea.sqlite") if t.status == "ok"]
    assert len(trials) == 200 and len({t.key for t in trials}) == 200
    gens: dict[int, Counter] = {}
    for t in trials:
        gens.setdefault(t.meta["generation"], Counter())[t.source] += 1
    assert gens[0] == Counter(random=50)
    for g in (1, 2, 3):
        assert sum(gens[g].values()) == 50
        assert gens[g]["mutation"] == 25 and gens[g]["crossover"] == 25
    # evolution helps: later generations are better on average than the random one
    mean = {g: np.mean([t.signal for t in trials if t.meta["generation"] == g]) for g in gens}
    assert mean[3] > mean[0] + 1.0


def test_resume_equals_uninterrupted(tmp_path):
    search(store=tmp_path / "full.sqlite", study="x", strategy="supernet-ea", budget=130, seed=7, dataset="cifar100")
    search(store=tmp_path / "part.sqlite", study="x", strategy="supernet-ea", budget=77, seed=7, dataset="cifar100")
    run = reopen(tmp_path / "part.sqlite", "x", budget=130)
    try:
        run.run()
    finally:
        run.store.close()
    key = [(t.key, t.status, t.source) for t in _trials(tmp_path / "full.sqlite")]
    assert key == [(t.key, t.status, t.source) for t in _trials(tmp_path / "part.sqlite")]


def test_top_k_holds_only_architectures_within_the_constraint(tmp_path):
    search(store=tmp_path / "c.sqlite", study="x", strategy="supernet-ea", budget=120, seed=1, dataset="cifar10",
           constraints=["flops_M <= 60"], strategy_options={"population_size": 20, "top_k": 5, "mutation_num": 8,
                                                           "crossover_num": 8})
    trials = [t for t in _trials(tmp_path / "c.sqlite") if t.status == "ok"]
    assert any(not t.feasible for t in trials)
    with Store(tmp_path / "c.sqlite", create=False) as st:
        _, _, state = st.load_state(st.get_study("x").id)
    ea = STRATEGIES.get("supernet-ea")(StrategyContext(NB201Space(), np.random.default_rng(0), History()),
                                       STRATEGIES.get("supernet-ea").Settings(population_size=20, top_k=5))
    ea.load_state_dict(state)
    top = ea.best_top()
    feasible = sorted((t.score for t in trials if t.feasible), reverse=True)
    assert [e[2] for e in top] == feasible[:5] and all(e[3] for e in top)


def test_crossover_and_mutation_operators():
    space = NB201Space()
    rng = np.random.default_rng(0)
    a, b = space.sample(rng), space.sample(rng)
    for _ in range(20):
        c = crossover(space, a, b, rng)
        assert all(c[n] in (a[n], b[n]) for n in space.names) and space.check(c) is None
    changed = [sum(mutate_each(space, a, 0.1, rng)[n] != a[n] for n in space.names) for _ in range(2000)]
    # each of 6 decisions re-drawn with p=0.1, a re-draw keeps the value with p=1/5: 6*0.1*0.8 = 0.48
    assert abs(np.mean(changed) - 0.48) < 0.06


def test_state_dict_is_json_and_settings_are_checked():
    import json

    import pytest

    from llmnas.errors import ConfigError

    cls = STRATEGIES.get("supernet-ea")
    ctx = StrategyContext(NB201Space(), np.random.default_rng(0), History())
    ea = cls(ctx)
    ea.ask(1)
    json.dumps(ea.state_dict())
    with pytest.raises(ConfigError, match="top_k"):
        cls(ctx, cls.Settings(population_size=5, top_k=6))
