"""make-data's search-loop steps: the states the deployed ranker sees (warm-up, then its picks;
pools of unvisited random cells of the whole table), labelled with the best of each pool."""

from __future__ import annotations

import json
import re

import pytest

from llmnas.errors import ConfigError
from llmnas.strategies.lmsearcher.make_data import make_data
from llmnas.strategies.lmsearcher.search_steps import search_steps
from llmnas.strategies.lmsearcher.sources import load_source


def _steps(order, n, **kw):
    out = []
    for i, (key, rec) in enumerate(search_steps(order, 0, **kw)):
        if i >= n:
            break
        out.append((key, rec))
    return out


def test_search_steps_follow_the_loop_and_label_the_best_of_each_pool():
    src = load_source("nb201", "cifar10")
    table = {"".join(str(int(x)) for x in row): float(s) for row, s in zip(src.rows, src.signal)}
    steps = _steps([src], 2 * 95 + 3, pools=(10, 50), budget=100, warmup=5)
    first = [r for _, r in steps if r["meta"]["trajectory"] == 0]
    assert len(first) == 95 and [r["meta"]["step"] for r in first] == list(range(95))
    for i, rec in enumerate(first):
        hist = [c for c, _ in rec["history"]]
        pool = [c for c, _ in rec["pool"]]
        assert len(hist) == 5 + i and len(set(hist)) == len(hist)
        assert len(pool) == 10 and len(set(pool)) == 10 and not set(pool) & set(hist)
        for code, signal in rec["history"] + rec["pool"]:
            assert table[code] == signal  # codes are the whole space's NCodes, signals the table's
        best = max(range(10), key=lambda j: (rec["pool"][j][1], -j))
        assert rec["label"] == best
        if i:
            assert hist[-1] == first[i - 1]["pool"][first[i - 1]["label"]][0]  # the pick joined the history
    second = [r for _, r in steps if r["meta"]["trajectory"] == 1]
    assert second and all(len(r["pool"]) == 50 and r["meta"]["pool_size"] == 50 for r in second)
    assert _steps([src], 30, pools=(10, 50)) == steps[:30]  # same seed, same steps


def test_make_data_appends_search_steps_and_leaves_the_sampler_steps_unchanged(tmp_path):
    kw = dict(benchmarks=["nb201", "transnas-micro:jigsaw"], exclude=["nb201:cifar100", "nb201:imagenet16-120"],
              fmt="ncode")
    plain = make_data(tmp_path / "a.jsonl", 60, 4, **kw)
    both = make_data(tmp_path / "b.jsonl", 60, 4, search_samples=200, search_pools=(10,), **kw)
    a, b = (tmp_path / "a.jsonl").read_text().splitlines(), (tmp_path / "b.jsonl").read_text().splitlines()
    assert len(b) == 260 and b[:60] == a
    assert sum(both.search_counts.values()) == 200 and plain.search_counts == {}
    tail = [json.loads(x) for x in b[60:]]
    assert {r["meta"]["source"] for r in tail} == {"on-policy"}
    assert {(r["meta"]["benchmark"], r["meta"]["dataset"]) for r in tail} == {("nb201", "cifar10"),
                                                                              ("transnas-micro", "jigsaw")}
    less = make_data(tmp_path / "c.jsonl", 60, 4, search_samples=50, search_exclude=["nb201"], **kw)
    c = (tmp_path / "c.jsonl").read_text().splitlines()
    assert c[:60] == a and less.search_counts == {"transnas-micro:jigsaw": 50}
    assert {json.loads(x)["meta"]["benchmark"] for x in c[60:]} == {"transnas-micro"}
    with pytest.raises(ConfigError, match="leaves no table for the search steps"):
        make_data(tmp_path / "d.jsonl", 60, 4, search_samples=50, search_exclude=["nb201", "transnas-micro"], **kw)


@pytest.mark.parametrize("kwargs,needle", [
    (dict(search_samples=5), "use it with --format ncode"),
    (dict(search_samples=5, fmt="ncode", search_pools=(1,)), "every pool size must be at least 2"),
    (dict(search_samples=5, fmt="ncode", search_budget=5), "must exceed the warm-up"),
    (dict(search_samples=5, fmt="ncode", search_budget=700, benchmarks=["transnas-micro:jigsaw"]),
     "too few for a search of 700"),
    (dict(search_samples=-1, fmt="ncode"), "--search-samples must be at least 0"),
])
def test_bad_search_settings_are_one_clear_error(tmp_path, kwargs, needle):
    with pytest.raises(ConfigError, match=re.escape(needle)):
        make_data(tmp_path / "x.jsonl", 10, **kwargs)
    assert not (tmp_path / "x.jsonl").exists()


def test_cli_writes_search_steps(cli, tmp_path):
    out = tmp_path / "d.jsonl"
    r = cli("lmsearcher", "make-data", "--out", str(out), "--samples", "20", "--benchmarks", "nb201:cifar10",
            "--format", "ncode", "--search-samples", "30", "--search-pools", "10,20", "--quiet")
    assert r.returncode == 0, r.stderr
    assert "50 samples written" in r.stdout and "search steps" in r.stdout
    assert len(out.read_text().splitlines()) == 50
    r = cli("lmsearcher", "make-data", "--out", str(tmp_path / "e.jsonl"), "--format", "ncode",
            "--search-samples", "3", "--search-pools", "10,x", "--quiet")
    assert r.returncode == 2 and "--search-pools '10,x'" in r.stderr and r.stderr.count("error:") == 1


def test_rank_probe_on_search_steps(cli):
    from llmnas.strategies.lmsearcher.rank_probe import pick_closest, probe_steps, run_probe

    steps = probe_steps("nb201:cifar100", 120, 1, kind="search")
    assert len(steps) == 120 and [len(s.history) for s in steps[:95]] == list(range(5, 100))
    assert len(steps[95].history) == 5  # the second search begins
    rows = {r.ranker: r for r in run_probe(["nb201:cifar100"], 120, 1, {"closest": pick_closest}, kind="search")}
    assert rows["oracle"].mean_rank() == 1.0 and 1.0 < rows["closest"].mean_rank() < 5.5
    with pytest.raises(ConfigError, match="--steps-from 'x'"):
        probe_steps("nb201:cifar100", 5, 1, kind="x")


def test_the_packaged_model_ranks_held_out_search_steps_better_than_the_baselines():
    pytest.importorskip("torch")
    from llmnas.strategies.lmsearcher.ncode_ranker import load_ncode_ranker
    from llmnas.strategies.lmsearcher.rank_probe import pick_additive, pick_closest, run_probe

    model = load_ncode_ranker("ncode-ranker")
    rows = {r.ranker: r for r in run_probe(["nb201:cifar100"], 190, 1, {
        "ncode": lambda s: model.choose(s.history, s.pool), "closest": pick_closest, "additive": pick_additive},
        kind="search")}
    assert rows["ncode"].mean_rank() < 2.0 < rows["additive"].mean_rank() and rows["closest"].mean_rank() > 2.5
