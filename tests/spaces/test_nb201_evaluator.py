from __future__ import annotations

import numpy as np
import pytest

from llmnas.data import load_nb201
from llmnas.errors import ConfigError
from llmnas.spaces.nb201_evaluator import NB201Evaluator
from llmnas.spaces.nb201 import NB201Space


@pytest.mark.parametrize("dataset,prefix", [("cifar10", "c10"), ("cifar100", "c100"), ("imagenet16-120", "in16")])
def test_values_come_from_the_table_row(dataset, prefix):
    t = load_nb201()
    space = NB201Space()
    ev = NB201Evaluator(space, dataset)
    for row in (0, 1, 777, 15624):
        arch = space.from_indices(t["ops"][row])
        r = ev.evaluate(arch)
        assert r.signal == t[f"{prefix}_val_200"][row]
        assert r.report == t[f"{prefix}_test_200"][row]
        assert r.metrics["val_12"] == t[f"{prefix}_val_12"][row]
        assert ev.measure(arch, "flops_M") == t[f"{prefix}_flops_M"][row]
        assert ev.measure(arch, "latency_ms[pixel3]") == t["lat_ms_pixel3"][row]


def test_optima_match_provenance():
    # PROVENANCE.md: test optima 94.37 / 73.51 / 47.31, validation 91.61 / 73.49 / 46.73.
    space = NB201Space()
    for ds, test_opt, val_opt in (("cifar10", 94.37, 91.61), ("cifar100", 73.51, 73.49), ("imagenet16-120", 47.31, 46.73)):
        ev = NB201Evaluator(space, ds)
        results = [ev.evaluate(a) for a in space.enumerate()]
        assert round(max(r.report for r in results), 2) == test_opt
        assert round(max(r.signal for r in results), 2) == val_opt


def test_signal_12_epochs():
    t = load_nb201()
    space = NB201Space()
    ev = NB201Evaluator(space, "cifar100", signal="val_12")
    arch = space.from_indices(t["ops"][5])
    assert ev.evaluate(arch).signal == t["c100_val_12"][5]
    assert ev.evaluate(arch).report == t["c100_test_200"][5]


def test_unknown_dataset_and_metric():
    space = NB201Space()
    with pytest.raises(ConfigError, match="did you mean 'cifar100'"):
        NB201Evaluator(space, "cifar1000")
    with pytest.raises(ConfigError, match="unknown nb201 signal"):
        NB201Evaluator(space, "cifar10", signal="test_200")
    ev = NB201Evaluator(space)
    assert len([m for m in ev.cost_metrics() if m.startswith("latency_ms[")]) == 27
    with pytest.raises(ConfigError, match="unknown metric 'energy'"):
        ev.measure(space.from_ncode("000000"), "energy")
