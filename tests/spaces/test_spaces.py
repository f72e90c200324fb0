from __future__ import annotations

import numpy as np
import pytest

from llmnas.data import load_nb201
from llmnas.errors import ConfigError, DataError, SpaceError
from llmnas.spaces.base import Decision, SearchSpace
from llmnas.spaces.nb201 import NB201Space
from llmnas.spaces.yaml_space import build_yaml_problem, read_space_file


def test_nb201_basic_facts():
    s = NB201Space()
    assert s.size() == 15625
    assert len(s.decisions) == 6
    assert NB201Space(canonical="isomorphism").size() == 6466


def test_nb201_ncode_matches_table_ops_and_cell_string():
    s = NB201Space()
    t = load_nb201()
    # Row 1 of the official table: |nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|
    cell = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
    arch = s.from_cell_string(cell)
    assert s.to_ncode(arch) == "".join(map(str, t["ops"][1])) == "334131"
    assert s.to_cell_string(arch) == cell
    assert s.from_ncode("334131") == arch


def test_ncode_round_trip_every_nb201_arch_sampled():
    s = NB201Space()
    rng = np.random.default_rng(0)
    for _ in range(500):
        a = s.sample(rng)
        assert s.from_ncode(s.to_ncode(a)) == a
        assert s.decode(s.encode(a)) == a


def test_mutate_changes_exactly_one_decision():
    s = NB201Space()
    rng = np.random.default_rng(1)
    a = s.sample(rng)
    for _ in range(200):
        b = s.mutate(a, rng)
        assert sum(a[k] != b[k] for k in a) == 1


def test_neighbors_are_all_single_changes():
    s = NB201Space()
    a = s.from_ncode("000000")
    nb = s.neighbors(a)
    assert len(nb) == 24
    assert len({s.to_ncode(x) for x in nb}) == 24
    assert all(sum(a[k] != b[k] for k in a) == 1 for b in nb)


def test_check_gives_reasons():
    s = NB201Space()
    a = s.from_ncode("123401")
    assert s.check(a) is None
    assert "missing decision" in s.check({k: v for k, v in list(a.items())[:5]})
    bad = dict(a, edge_0_1="conv_7x7")
    assert "not an option" in s.check(bad)
    assert "unknown decision" in s.check(dict(a, extra="x"))
    assert s.is_legal(bad)[0] is False


def test_isomorphism_key_folds_equivalent_cells():
    s = NB201Space(canonical="isomorphism")
    t = load_nb201()
    # find two rows with the same isomorphism class
    iso = t["iso"]
    first = {}
    for row, cls in enumerate(iso.tolist()):
        if cls in first:
            a = s.from_indices(t["ops"][first[cls]])
            b = s.from_indices(t["ops"][row])
            assert s.canonical_key(a) == s.canonical_key(b)
            assert s.to_ncode(a) != s.to_ncode(b)
            break
        first[cls] = row


def test_ncode_wide_decisions_use_fixed_width_fields():
    s = SearchSpace("wide", [Decision("a", tuple(range(20))), Decision("b", ("x", "y")), Decision("c", tuple(range(100)))])
    assert s.ncode_layout() == [("a", 0, 2), ("b", 2, 1), ("c", 3, 2)]
    arch = {"a": 7, "b": "y", "c": 42}
    assert s.to_ncode(arch) == "07142"
    assert s.from_ncode("07142") == arch
    with pytest.raises(SpaceError, match="out of range"):
        s.from_ncode("25142")  # 25 is not an index of a 20-option decision
    with pytest.raises(SpaceError, match="digits"):
        s.from_ncode("0714")
    rng = np.random.default_rng(3)
    for _ in range(200):
        a = s.sample(rng)
        assert s.from_ncode(s.to_ncode(a)) == a


def test_decode_is_lenient_but_check_is_strict():
    s = SearchSpace("t", [Decision("depth", (2, 3, 4)), Decision("act", ("relu", "gelu"))])
    assert s.decode({"depth": "3", "act": "gelu"}) == {"depth": 3, "act": "gelu"}
    assert s.check({"depth": "3", "act": "gelu"}) is not None
    with pytest.raises(SpaceError, match="not an option"):
        s.decode({"depth": 5, "act": "relu"})


def test_bad_decisions_rejected():
    with pytest.raises(ConfigError):
        SearchSpace("t", [Decision("a", (1, 2)), Decision("a", (1, 2))])
    with pytest.raises(ConfigError):
        Decision("a", (1, 1))


def test_describe_mentions_every_decision_and_option():
    s = NB201Space()
    text = s.describe()
    for d in s.decisions:
        assert d.name in text
    assert "nor_conv_3x3" in text and "15,625" in text


def _write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_yaml_space_with_table(tmp_path):
    _write(tmp_path, "t.csv", "depth,act,val,test,params_M\n2,relu,1.0,1.5,3\n3,relu,2.0,2.5,4\n4,gelu,3.0,2.0,5\n")
    y = _write(tmp_path, "s.yaml", """
name: toy
decisions:
  - {name: depth, options: [2, 3, 4]}
  - {name: act, options: [relu, gelu]}
evaluator: {type: table, path: t.csv, signal: val, report: test}
""")
    space, ev = build_yaml_problem(y)
    assert space.size() == 3  # restricted to the table's rows
    rng = np.random.default_rng(0)
    seen = {space.to_ncode(space.sample(rng)) for _ in range(100)}
    assert seen == {"00", "10", "21"}
    r = ev.evaluate({"depth": 4, "act": "gelu"})
    assert (r.signal, r.report, r.metrics["params_M"]) == (3.0, 2.0, 5.0)
    assert ev.cost_metrics() == ["params_M"]
    assert space.check({"depth": 4, "act": "relu"}) == "this combination is not in the benchmark table"


def test_yaml_errors_are_clear(tmp_path):
    bad = _write(tmp_path, "bad.yaml", "name: x\ndecisions: [\n")
    with pytest.raises(DataError, match="malformed YAML"):
        read_space_file(bad)
    missing = _write(tmp_path, "m.yaml", "name: x\ndecisions:\n  - {name: a}\n")
    with pytest.raises(DataError, match="options"):
        read_space_file(missing)
    typo = _write(tmp_path, "t.yaml", "name: x\ndecisons: []\n")
    with pytest.raises(DataError, match="decisons"):
        read_space_file(typo)
    with pytest.raises(DataError, match="not found"):
        read_space_file(tmp_path / "nope.yaml")


def test_yaml_table_missing_columns(tmp_path):
    _write(tmp_path, "t.csv", "depth,val\n2,1.0\n")
    y = _write(tmp_path, "s.yaml", """
name: toy
decisions: [{name: depth, options: [2, 3]}, {name: act, options: [relu]}]
evaluator: {type: table, path: t.csv, signal: val, report: test}
""")
    with pytest.raises(DataError, match="lacks column.*act.*test"):
        build_yaml_problem(y)


def test_yaml_function_evaluator(tmp_path):
    _write(tmp_path, "mytrain.py", "def evaluate(arch):\n    return {'val': arch['depth'] * 1.0, 'test': arch['depth'] + 0.5}\n"
           "def costs(arch):\n    return {'params_M': arch['depth'] * 2.0}\n")
    y = _write(tmp_path, "f.yaml", """
name: fn
decisions: [{name: depth, options: [1, 2, 3]}]
evaluator: {type: function, callable: "mytrain:evaluate", signal: val, report: test, costs_callable: "mytrain:costs", costs: [params_M]}
""")
    space, ev = build_yaml_problem(y)
    r = ev.evaluate({"depth": 3})
    assert (r.signal, r.report) == (3.0, 3.5)
    assert ev.measure({"depth": 2}, "params_M") == 4.0
