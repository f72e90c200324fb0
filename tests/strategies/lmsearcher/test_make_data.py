"""make-data: samples are well-formed chat records whose label is the best of its pool in the table."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from llmnas.strategies.lmsearcher import prompt as lp
from llmnas.strategies.lmsearcher.make_data import make_data
from llmnas.strategies.lmsearcher.sampler import SamplerSettings, prune
from llmnas.spaces.tables.catalog import table_datasets
from llmnas.strategies.lmsearcher.sources import load_source, select


def _read(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def _decode(code: str, subspace: list[list[int]]) -> tuple[int, ...]:
    """Original option indices of a subspace NCode (fixed decisions filled in)."""
    out, pos = [], 0
    for kept in subspace:
        if len(kept) == 1:
            out.append(kept[0])
            continue
        w = len(str(len(kept) - 1))
        out.append(kept[int(code[pos:pos + w])])
        pos += w
    assert pos == len(code), f"{code} is longer than its subspace"
    return tuple(out)


def _lookup(benchmark: str, dataset: str):
    src = load_source(benchmark, dataset)
    return {tuple(int(x) for x in r): float(s) for r, s in zip(src.rows, src.signal)}


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "train.jsonl"
    result = make_data(path, 400, seed=5)
    return path, result, _read(path)


@pytest.mark.slow
def test_samples_are_well_formed_and_labelled_with_the_best_of_their_pool(samples):
    path, result, records = samples
    assert len(records) == 400 == sum(result.counts.values())
    tables: dict = {}
    checked = 0
    for rec in records:
        msgs, meta = rec["messages"], rec["meta"]
        assert [m["role"] for m in msgs] == ["system", "user", "assistant"] and msgs[0]["content"] == lp.SYSTEM
        lines = msgs[1]["content"].splitlines()
        assert lines[0] == lp.HEADER and lines[2] == lp.CANDIDATES and lines[4] == lp.ASK
        pool = lines[3].split(";")
        answer = msgs[2]["content"]
        assert answer in pool and len(pool) == meta["pool_size"] == len(set(pool))
        key = (meta["benchmark"], meta["dataset"])
        table = tables.setdefault(key, _lookup(*key))
        truth = [table[_decode(c, meta["subspace"])] for c in pool]
        assert table[_decode(answer, meta["subspace"])] == max(truth) == meta["label_score"]
        history = [e.split("|") for e in lines[1].split(",")]
        assert len(history) == min(meta["history_len"], lp.DEFAULT_MAX_HISTORY)
        hist_truth = [table[_decode(c, meta["subspace"])] for c, _ in history]
        assert hist_truth == sorted(hist_truth, reverse=True), "history is best first"
        assert not {c for c, _ in history} & set(pool), "candidates are unvisited"
        assert float(history[0][1]) == 1.0
        if meta["history_len"] <= lp.DEFAULT_MAX_HISTORY:  # whole history shown: rebuild the prompt
            shown = [(c, table[_decode(c, meta["subspace"])]) for c, _ in history]
            assert msgs[:2] == lp.build_messages(shown, pool), "training prompt == search prompt"
            checked += 1
    assert {k.split(":")[0] for k, n in result.counts.items() if n} == set(table_datasets())
    assert checked > 50


def test_every_benchmark_gets_an_equal_share(samples):
    _, result, _ = samples
    per_bench: dict[str, int] = {}
    for key, n in result.counts.items():
        per_bench[key.split(":")[0]] = per_bench.get(key.split(":")[0], 0) + n
    assert max(per_bench.values()) - min(per_bench.values()) <= SamplerSettings().steps


def test_same_seed_same_file_and_exclusion(tmp_path):
    a, b, c = tmp_path / "a.jsonl", tmp_path / "b.jsonl", tmp_path / "c.jsonl"
    make_data(a, 60, seed=1, benchmarks=["nb201", "nb-macro"], exclude=["nb201:cifar100", "nb201:imagenet16-120"])
    make_data(b, 60, seed=1, benchmarks=["nb201", "nb-macro"], exclude=["nb201:cifar100", "nb201:imagenet16-120"])
    assert a.read_bytes() == b.read_bytes()
    seen = {(r["meta"]["benchmark"], r["meta"]["dataset"]) for r in _read(a)}
    assert seen == {("nb201", "cifar10"), ("nb-macro", "cifar10")}
    make_data(c, 60, seed=2, benchmarks=["nb201", "nb-macro"], exclude=["nb201:cifar100", "nb201:imagenet16-120"])
    assert c.read_bytes() != a.read_bytes()
    assert select(None, ["nb201", "transnas-micro"]) == [p for p in select(None, None)
                                                          if p[0] not in ("nb201", "transnas-micro")]


def test_pruning_re_indexes_and_keeps_enough_rows():
    src = load_source("nb201", "cifar10")
    s = SamplerSettings()
    rng = np.random.default_rng(0)
    subs = [prune(src, s, rng) for _ in range(200)]
    assert all(len(sub.rows) >= s.min_rows for sub in subs)
    assert any(len(sub.free) < 6 for sub in subs), "some decisions get fixed"
    assert any(len(k) < 5 for sub in subs for k in sub.kept if len(k) > 1), "some options get dropped"
    sub = next(sub for sub in subs if sub.pruned and len(sub.free) < 6)
    for r in sub.rows[:50]:
        code = sub.ncode(src.rows[r])
        assert len(code) == len(sub.free) and _decode(code, [list(k) for k in sub.kept]) == tuple(src.rows[r])


@pytest.mark.parametrize("kwargs,needle", [
    (dict(benchmarks=["nb999"]), "unknown benchmark 'nb999'"),
    (dict(exclude=["nb201:cifar1000"]), "has no dataset 'cifar1000'"),
    (dict(benchmarks=["nb201"], exclude=["nb201"]), "leaves no benchmark"),
    (dict(samples=0), "--samples must be at least 1"),
    (dict(settings=SamplerSettings(pool_size=1)), "--pool-size must be at least 2"),
    (dict(settings=SamplerSettings(p_fix=1.0)), "--p-fix and --p-drop"),
])
def test_bad_input_is_one_clear_error(tmp_path, kwargs, needle):
    from llmnas.errors import ConfigError

    args = {"samples": 10, **kwargs}
    with pytest.raises(ConfigError, match=re.escape(needle)):
        make_data(tmp_path / "x.jsonl", **args)
    assert not (tmp_path / "x.jsonl").exists()


@pytest.mark.parametrize("args,needle", [
    (["--benchmarks", "nb999"], "unknown benchmark 'nb999'"),
    (["--samples", "0"], "--samples must be at least 1"),
])
def test_cli_bad_input_gives_one_error_line(cli, tmp_path, args, needle):
    r = cli("lmsearcher", "make-data", "--out", str(tmp_path / "x.jsonl"), "--quiet", *args)
    assert r.returncode == 2 and needle in r.stderr and r.stderr.count("error:") == 1
    assert not (tmp_path / "x.jsonl").exists()


def test_cli_writes_the_file_and_prints_counts(cli, tmp_path):
    out = tmp_path / "d.jsonl"
    r = cli("lmsearcher", "make-data", "--out", str(out), "--samples", "40", "--benchmarks", "nb201,nb301",
            "--exclude", "nb201:cifar100,nb201:imagenet16-120", "--seed", "3")
    assert r.returncode == 0, r.stderr
    assert "nb201:cifar10" in r.stdout and "nb301:cifar10" in r.stdout and "40 samples written" in r.stdout
    assert "nb201:cifar100" not in r.stdout
    assert len(_read(out)) == 40
