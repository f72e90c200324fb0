"""``lmsearcher-oracle``: the loop's ceiling. Each step takes the pool's best table signal, read
before evaluation; only that strategy gets the table lookup, and only on a lookup evaluator."""

from __future__ import annotations

import json

import pytest

from llmnas.api import search, start
from llmnas.config import make_config
from llmnas.errors import ConfigError
from llmnas.spaces.registry import build_problem
from llmnas.store import Store


def test_oracle_takes_the_best_signal_of_every_pool(tmp_path):
    path = tmp_path / "o.sqlite"
    s = search(store=path, space="nb201", dataset="cifar100", strategy="lmsearcher-oracle", budget=40, seed=3)
    assert s.n_evaluated == 40
    problem = build_problem(make_config({"space": "nb201", "dataset": "cifar100", "strategy": "rea", "budget": 10}))
    space, ev = problem.space, problem.evaluator
    with Store(path) as st:
        trials = st.trials(st.get_study(None).id)
    ranked = [t for t in trials if t.source == "oracle"]
    assert [t.source for t in trials] == ["warmup"] * 5 + ["oracle"] * 35
    for t in ranked:
        signals = {code: ev.evaluate(space.from_ncode(code)).signal for code in t.meta["pool"]}
        assert len(signals) == 10 and t.signal == max(signals.values())


def test_only_the_ceiling_strategy_reads_the_table(tmp_path):
    with pytest.raises(ConfigError, match="only that strategy may use it"):
        search(store=tmp_path / "a.sqlite", space="nb201", strategy="lmsearcher", budget=10,
               strategy_options={"ranker": "oracle"})
    with pytest.raises(ConfigError, match="only that strategy may use it"):
        search(store=tmp_path / "b.sqlite", space="nb201", strategy="lmsearcher-oracle", budget=10,
               strategy_options={"ranker": "closest"})
    for name in ("rea", "lmsearcher-closest", "lmsearcher-ncode"):
        run = start(make_config({"space": "nb201", "strategy": name, "budget": 10}), tmp_path / f"{name}.sqlite")
        try:
            assert run.strategy.ctx.peek_signal is None
        finally:
            run.store.close()


def test_the_ceiling_refuses_an_evaluator_that_is_not_a_table(tmp_path, monkeypatch):
    (tmp_path / "evalmod_oracle.py").write_text(
        "def evaluate(arch):\n    return {'signal': float(arch['a']), 'report': 0.0}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    space = tmp_path / "s.yaml"
    space.write_text(json.dumps({"name": "s", "decisions": [{"name": "a", "options": list(range(8))},
                                                             {"name": "b", "options": list(range(8))}],
                                 "evaluator": {"type": "function", "callable": "evalmod_oracle:evaluate",
                                               "report": "report"}}))
    with pytest.raises(ConfigError, match="runs only on tabular spaces"):
        search(store=tmp_path / "f.sqlite", space=str(space), strategy="lmsearcher-oracle", budget=10)
    s = search(store=tmp_path / "g.sqlite", space=str(space), strategy="lmsearcher-closest", budget=10)
    assert s.n_evaluated == 10


def test_bench_marks_the_ceiling_rows(tmp_path):
    from llmnas.bench import CEILING_NOTE, aggregate, execute, markdown_table, plan

    tasks = plan(["lmsearcher-closest", "lmsearcher-oracle"], ["cifar100"], [30], [0, 1], {"space": "nb201"}, tmp_path)
    table = aggregate(execute(tasks, workers=1))
    md = markdown_table(table)
    rows = {line.split("|")[1].strip(): line for line in md.splitlines() if line.startswith("| lmsearcher")}
    assert set(rows) == {"lmsearcher-closest", "lmsearcher-oracle ^"}
    assert CEILING_NOTE in md
    by = {r["strategy"]: r for r in table}
    assert by["lmsearcher-oracle"]["val_mean"] >= by["lmsearcher-closest"]["val_mean"]
    assert CEILING_NOTE not in markdown_table([by["lmsearcher-closest"]])
