"""The Python API builds a run's problem (space + evaluator) once per start, load-if-exists and
resume, not once to validate and again to run (a supernet's problem loads a checkpoint)."""

from __future__ import annotations

import pytest

import llmnas.api as api
from llmnas.config import make_config


@pytest.fixture
def builds(monkeypatch):
    calls: list[str] = []
    real = api.build_problem

    def counting(cfg):
        calls.append(cfg.space)
        return real(cfg)

    monkeypatch.setattr(api, "build_problem", counting)
    return calls


def test_each_way_into_a_run_builds_its_problem_once(tmp_path, builds) -> None:
    cfg = make_config({"space": "nb201", "strategy": "rea", "budget": 12, "seed": 1})
    path = tmp_path / "r.sqlite"
    run = api.start(cfg, path, "s")
    try:
        assert builds == ["nb201"]
        run.run()
    finally:
        run.store.close()
    builds.clear()
    again = api.start(cfg, path, "s", load_if_exists=True)
    again.store.close()
    assert builds == ["nb201"]
    builds.clear()
    more = api.reopen(path, "s", budget=20)  # a new budget re-validates and rewrites the stored config
    try:
        assert builds == ["nb201"]
        summary = more.run()
    finally:
        more.store.close()
    assert summary.n_evaluated == 20 and builds == ["nb201"]
