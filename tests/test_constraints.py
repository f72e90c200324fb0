from __future__ import annotations

import pytest

from llmnas.api import search
from llmnas.constraints import Constraint
from llmnas.errors import ConfigError
from llmnas.store import Store


def test_parse():
    c = Constraint.parse("latency_ms[pixel3] <= 10")
    assert (c.metric, c.op, c.bound) == ("latency_ms[pixel3]", "<=", 10.0)
    assert c.holds(10) and not c.holds(10.5)
    assert Constraint.parse("params_M>0.5").holds(0.6)
    with pytest.raises(ConfigError, match="METRIC OP NUMBER"):
        Constraint.parse("flops under 50")


def _trials(path, study):
    with Store(path) as st:
        return st.trials(st.get_study(study).id)


@pytest.mark.parametrize("strategy", ["rs", "rea", "ls"])
def test_over_budget_never_reported_as_best(tmp_path, strategy):
    p = tmp_path / "c.sqlite"
    s = search(store=p, study="x", space="nb201", dataset="cifar10", strategy=strategy, budget=60, seed=2,
               constraints=["flops_M <= 60"])
    trials = _trials(p, "x")
    over = [t for t in trials if not t.feasible]
    assert over, "the constraint should exclude some sampled cells"
    assert all(t.status == "ok" and t.metrics["flops_M"] > 60 for t in over)  # evaluated but not eligible
    assert s.best.metrics["flops_M"] <= 60 and s.best.feasible
    feasible = [t for t in trials if t.status == "ok" and t.feasible]
    assert s.best.signal == max(t.signal for t in feasible)
    assert s.best_report_seen == max(t.report for t in feasible)


def test_skip_policy_does_not_evaluate(tmp_path):
    p = tmp_path / "c.sqlite"
    s = search(store=p, study="x", space="nb201", dataset="cifar10", strategy="rs", budget=40, seed=1,
               constraints=["flops_M <= 60"], over_budget="skip")
    trials = _trials(p, "x")
    skipped = [t for t in trials if t.status == "over_budget"]
    assert skipped and all(t.signal is None and t.score is None and "violates" in t.reason for t in skipped)
    assert s.n_evaluated == 40  # skipped ones do not use the budget
    assert all(t.metrics["flops_M"] <= 60 for t in trials if t.status == "ok")


def test_penalize_policy_tells_penalty(tmp_path):
    p = tmp_path / "c.sqlite"
    search(store=p, study="x", space="nb201", dataset="cifar10", strategy="rea", budget=30, seed=1,
           constraints=["flops_M <= 60"], over_budget="penalize", penalty=-5)
    pen = [t for t in _trials(p, "x") if t.status == "over_budget"]
    assert pen and all(t.score == -5 and t.signal is None for t in pen)


def test_unknown_metric_fails_before_running(tmp_path):
    with pytest.raises(ConfigError, match="unknown metric 'energy_mJ'"):
        search(store=tmp_path / "c.sqlite", space="nb201", strategy="rs", budget=5, constraints=["energy_mJ <= 3"])
    assert not (tmp_path / "c.sqlite").exists()
