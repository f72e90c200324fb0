"""Seeded baselines against the reference table of peers.md §4.3 (200 seeds, budget 100)."""

from __future__ import annotations

import pytest

from llmnas.bench import REFERENCE_NB201_100, aggregate, execute, plan


@pytest.mark.slow
def test_baselines_reproduce_reference_table(tmp_path):
    tasks = plan(["rs", "rea", "ls"], ["cifar10", "cifar100", "imagenet16-120"], [100], list(range(200)),
                 {"space": "nb201"}, tmp_path)
    table = aggregate(execute(tasks, workers=2))
    assert len(table) == 9
    for row in table:
        ref = REFERENCE_NB201_100[(row["strategy"], row["dataset"])]
        tol = 0.10 if row["dataset"] == "cifar10" else 0.25
        assert abs(row["test_mean"] - ref) <= tol, (row["strategy"], row["dataset"], row["test_mean"], ref)
        assert row["seeds"] == 200 and row["evaluated_mean"] == 100
