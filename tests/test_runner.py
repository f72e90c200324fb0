from __future__ import annotations

import pytest

from llmnas.api import Run, prepare, resolved_config, search
from llmnas.config import make_config
from llmnas.store import Store
from llmnas.strategies.base import STRATEGIES, Strategy
from llmnas.types import Proposal


def _trials(p, study="x"):
    with Store(p) as st:
        return st.trials(st.get_study(study).id)


class Repeater(Strategy):
    """Proposes a fixed cycle of archs: exercises duplicates, illegal archs and the stall bound."""

    name = "test-repeater"

    def __init__(self, ctx, settings=None):
        super().__init__(ctx, settings)
        self.i = 0
        self.told = []

    def ask(self, n):
        codes = ["000001", "000001", "000002", "bad", "000001"]
        code = codes[min(self.i, len(codes) - 1)]
        self.i += 1
        if code == "bad":
            return [Proposal({"edge_0_1": "conv_9x9"}, "test")]
        return [Proposal(self.ctx.space.from_ncode(code), "test")]

    def tell(self, trials):
        self.told.extend(t.status for t in trials)

    def _state(self):
        return {"i": self.i}

    def _load(self, s):
        self.i = s["i"]


if "test-repeater" not in STRATEGIES:
    STRATEGIES.register("test-repeater")(Repeater)


def test_duplicates_are_free_illegal_recorded_and_stall_stops(tmp_path):
    p = tmp_path / "r.sqlite"
    s = search(store=p, study="x", strategy="test-repeater", budget=10, max_stall=5)
    trials = _trials(p)
    statuses = [t.status for t in trials]
    assert statuses[:4] == ["ok", "duplicate", "ok", "illegal"]
    assert s.n_evaluated == 2 and s.stop_reason == "stalled"
    assert statuses.count("duplicate") == 5 + 1 - 1  # stall counts consecutive non-new proposals
    dup = trials[1]
    assert dup.signal == trials[0].signal and dup.number is None and "same as trial 0" in dup.reason
    assert "not an option" in trials[3].reason


def test_budget_counts_unique_evaluations(tmp_path):
    p = tmp_path / "r.sqlite"
    s = search(store=p, study="x", strategy="reinforce", budget=50, seed=3)
    trials = _trials(p)
    ok = [t for t in trials if t.status == "ok"]
    assert len(ok) == 50 == s.n_evaluated
    assert len({t.key for t in ok}) == 50
    assert [t.number for t in ok] == list(range(50))


def test_target_stops_early(tmp_path):
    s = search(store=tmp_path / "r.sqlite", study="x", strategy="ls", budget=500, seed=0, target=91.0)
    assert s.stop_reason == "target" and s.best.signal >= 91.0 and s.n_evaluated < 500


def test_failed_evaluations_are_recorded_not_fatal(tmp_path):
    (tmp_path / "flaky.py").write_text(
        "def evaluate(arch):\n    if arch['a'] == 1:\n        raise RuntimeError('out of memory')\n    return float(arch['a'])\n")
    (tmp_path / "s.yaml").write_text(
        "name: flaky\ndecisions: [{name: a, options: [0, 1, 2, 3]}]\nevaluator: {type: function, callable: 'flaky:evaluate'}\n")
    s = search(store=tmp_path / "r.sqlite", study="x", space=str(tmp_path / "s.yaml"), strategy="rs", budget=3, seed=0, dataset=None)
    trials = _trials(tmp_path / "r.sqlite")
    failed = [t for t in trials if t.status == "failed"]
    assert len(failed) == 1 and "RuntimeError: out of memory" in failed[0].reason
    assert s.n_evaluated == 3 and s.best.signal == 3.0


def test_exhausting_a_small_space(tmp_path):
    (tmp_path / "s.yaml").write_text(
        "name: tiny\ndecisions: [{name: a, options: [0, 1, 2]}, {name: b, options: [x, y]}]\n"
        "evaluator: {type: function, callable: 'tiny:evaluate'}\n")
    (tmp_path / "tiny.py").write_text("def evaluate(arch):\n    return arch['a'] + (arch['b'] == 'y')\n")
    for strategy in ("rs", "rea", "ls", "reinforce"):
        s = search(store=tmp_path / f"{strategy}.sqlite", study="x", space=str(tmp_path / "s.yaml"), strategy=strategy,
                   budget=6, seed=0, dataset=None, strategy_options={"population_size": 2, "sample_size": 2} if strategy == "rea" else {})
        assert s.n_evaluated == 6, strategy
        assert s.best.signal == 3
