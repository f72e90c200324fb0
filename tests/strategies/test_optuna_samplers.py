"""optuna-tpe / optuna-gp: duplicates told their stored value for free, constraints, GP resume."""

from __future__ import annotations

import pytest

from llmnas.api import reopen, search
from llmnas.store import Store


def _trials(path):
    with Store(path) as st:
        info = st.get_study(None)
        state = st.load_state(info.id)
        return st.trials(info.id), state[2]


def test_tpe_duplicates_cost_no_budget_and_are_told_the_stored_value(tmp_path):
    path = tmp_path / "tpe.sqlite"
    s = search(store=path, strategy="optuna-tpe", budget=60, seed=3, dataset="cifar10")
    trials, state = _trials(path)
    assert s.n_evaluated == 60 and sum(t.status == "ok" for t in trials) == 60
    dups = [t for t in trials if t.status == "duplicate"]
    assert dups, "TPE on NB201 proposes repeats within 60 evaluations"
    records = state["optuna_trials"]
    assert len(records) == len(trials)  # every proposal is one Optuna trial, in order
    first = {t.key: t for t in trials if t.status == "ok"}
    for t in trials:
        number = t.meta["optuna_trial"]
        assert number == t.seq
        _, told_state, value, _ = records[number]
        assert told_state == "complete"
        assert value == first[t.key].score  # a duplicate is told the earlier trial's value
    assert all(t.number is None for t in dups)


def test_tpe_tells_constraints_so_infeasible_points_are_marked(tmp_path):
    path = tmp_path / "c.sqlite"
    search(store=path, strategy="optuna-tpe", budget=40, seed=0, dataset="cifar10", constraints=["flops_M <= 60"])
    trials, state = _trials(path)
    by_seq = {t.seq: t for t in trials}
    infeasible = [r for i, r in enumerate(state["optuna_trials"]) if not by_seq[i].feasible]
    feasible = [r for i, r in enumerate(state["optuna_trials"]) if by_seq[i].feasible]
    assert infeasible and feasible
    assert all(r[3]["flops_M <= 60"] > 0 for r in infeasible)
    assert all(r[3]["flops_M <= 60"] <= 0 for r in feasible)


def test_tpe_options_are_validated(tmp_path):
    from llmnas.errors import ConfigError

    with pytest.raises(ConfigError, match="n_startup_trials"):
        search(store=tmp_path / "x.sqlite", strategy="optuna-tpe", budget=5, strategy_options={"n_startup": 3})


@pytest.mark.slow
def test_gp_resume_equals_uninterrupted(tmp_path):
    opts = {"n_startup_trials": 4}
    full, part = tmp_path / "full.sqlite", tmp_path / "part.sqlite"
    search(store=full, study="x", strategy="optuna-gp", budget=9, seed=2, dataset="cifar100", strategy_options=opts)
    search(store=part, study="x", strategy="optuna-gp", budget=6, seed=2, dataset="cifar100", strategy_options=opts)
    run = reopen(part, "x", budget=9)
    try:
        run.run()
    finally:
        run.store.close()
    a, _ = _trials(full)
    b, _ = _trials(part)
    assert [(t.key, t.status) for t in a] == [(t.key, t.status) for t in b]
    assert {t.source for t in a} == {"optuna-gp"}
