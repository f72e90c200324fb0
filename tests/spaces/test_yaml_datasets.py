"""A user's own benchmark with several datasets, through the YAML space interface:
``--dataset``, ``bench --datasets a,b``, ``--signal`` among the table's columns, a space path
that resumes from another folder, and bench rows that stopped before their budget."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from _cli_helpers import run_cli

from llmnas.errors import ConfigError, DataError
from llmnas.spaces.yaml_space import build_yaml_problem, space_datasets

DEPTHS, ACTS, WIDTHS = (2, 3, 4), ("relu", "gelu", "silu"), (8, 16)


def _table(path: Path, offset: float) -> dict[tuple, dict[str, float]]:
    """One CSV of all 18 rows; ``val``/``test`` differ per dataset by ``offset``; ``alt`` ranks backwards."""
    rows = {}
    lines = ["depth,act,width,val,test,alt,cost"]
    for i, (d, a, w) in enumerate(itertools.product(DEPTHS, ACTS, WIDTHS)):
        val = round(0.5 + 0.02 * i + offset, 4)
        row = {"val": val, "test": round(val - 0.01, 4), "alt": round(1 - 0.02 * i, 4), "cost": float(d * w)}
        rows[(d, a, w)] = row
        lines.append(f"{d},{a},{w},{row['val']},{row['test']},{row['alt']},{row['cost']}")
    path.write_text("\n".join(lines) + "\n")
    return rows


DECISIONS = """decisions:
  - {name: depth, options: [2, 3, 4]}
  - {name: act, options: [relu, gelu, silu]}
  - {name: width, options: [8, 16]}
"""


@pytest.fixture
def two_datasets(tmp_path: Path) -> Path:
    sub = tmp_path / "bench"
    sub.mkdir()
    _table(sub / "t-alpha.csv", 0.0)
    _table(sub / "t-beta.csv", 0.3)
    y = sub / "gnn.yaml"
    y.write_text("name: gnn\n" + DECISIONS + "evaluator: {type: table, path: 't-{dataset}.csv', datasets: [alpha, beta], "
                 "signal: val, report: test, costs: [cost]}\n")
    return y


def _one_error_line(r, *needles):
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    lines = [ln for ln in r.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    for n in needles:
        assert n in lines[0], lines[0]


def test_datasets_pick_their_table(two_datasets, tmp_path):
    assert space_datasets(two_datasets) == ["alpha", "beta"]
    arch = {"depth": 4, "act": "silu", "width": 16}
    _, default = build_yaml_problem(two_datasets)
    _, beta = build_yaml_problem(two_datasets, "beta")
    assert default.dataset == "alpha" and beta.dataset == "beta"
    assert beta.evaluate(arch).signal == pytest.approx(default.evaluate(arch).signal + 0.3)
    with pytest.raises(ConfigError, match="did you mean 'beta'"):
        build_yaml_problem(two_datasets, "betta")
    mapping = two_datasets.with_name("m.yaml")
    mapping.write_text("name: gnn\n" + DECISIONS + "evaluator: {type: table, path: {a: t-alpha.csv, b: t-beta.csv}, "
                       "signal: val}\n")
    assert space_datasets(mapping) == ["a", "b"]
    assert build_yaml_problem(mapping, "b")[1].evaluate(arch).signal == beta.evaluate(arch).signal
    bad = two_datasets.with_name("bad.yaml")
    bad.write_text("name: gnn\n" + DECISIONS + "evaluator: {type: table, path: 't-{dataset}.csv', signal: val}\n")
    with pytest.raises(DataError, match="no 'datasets' list"):
        build_yaml_problem(bad)


@pytest.mark.slow
def test_bench_two_datasets_of_one_yaml_space_give_one_table(two_datasets, tmp_path):
    args = ("bench", "--space", str(two_datasets), "--datasets", "alpha,beta", "--strategies", "rs,rea",
            "--seeds", "2", "--budgets", "6", "--workers", "1", "--out", "b")
    r = run_cli(*args, "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.strip().splitlines()]
    assert [(row["strategy"], row["dataset"]) for row in rows] == [
        ("rs", "alpha"), ("rs", "beta"), ("rea", "alpha"), ("rea", "beta")]
    for row in rows:  # beta's table is alpha's + 0.3: the numbers come from the right file
        assert 0.5 <= row["val_mean"] - (0.3 if row["dataset"] == "beta" else 0.0) <= 0.85
        assert row["stop"] == "budget" and row["short"] == 0
    text = run_cli(*args, cwd=tmp_path)  # the same runs, reused: one printed table with both
    assert text.returncode == 0, text.stderr
    body = [ln for ln in text.stdout.splitlines() if "│" in ln and ("alpha" in ln or "beta" in ln)]
    assert len(body) == 4 and "reference" not in text.stdout


def test_bench_datasets_on_a_yaml_space_without_datasets_exits_2(tmp_path):
    _table(tmp_path / "t.csv", 0.0)
    y = tmp_path / "one.yaml"
    y.write_text("name: one\n" + DECISIONS + "evaluator: {type: table, path: t.csv, signal: val}\n")
    _one_error_line(run_cli("bench", "--space", str(y), "--datasets", "cora", "--strategies", "rs", "--seeds", "1",
                            "--out", "b", cwd=tmp_path), "declares no datasets", "drop --datasets")
    _one_error_line(run_cli("search", "--space", str(y), "--dataset", "cora", "--strategy", "rs", "-q",
                            "--out", "r.sqlite", cwd=tmp_path), "declares no datasets")


def test_signal_selects_a_table_column_or_exits_2(two_datasets, tmp_path):
    r = run_cli("search", "--space", str(two_datasets), "--strategy", "rs", "--budget", "18", "--signal", "alt",
                "--out", "r.sqlite", "-q", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    from llmnas.store import Store

    with Store(tmp_path / "r.sqlite", create=False) as st:
        study = st.studies()[0]
        trials = [t for t in st.trials(study.id) if t.status == "ok"]
    assert study.config["resolved"]["evaluator"]["signal"] == "alt"
    assert all(t.signal == t.metrics["alt"] for t in trials)
    best = max(trials, key=lambda t: t.signal)
    assert (best.arch["depth"], best.arch["act"], best.arch["width"]) == (2, "relu", 8)  # alt ranks backwards
    _one_error_line(run_cli("search", "--space", str(two_datasets), "--strategy", "rs", "--signal", "vall", "-q",
                            "--out", "x.sqlite", cwd=tmp_path),
                    "--signal 'vall' is not a numeric column", "did you mean 'val'", "choices: val, test, alt, cost")


def test_a_run_made_with_a_relative_space_path_resumes_from_another_folder(two_datasets, tmp_path):
    r = run_cli("search", "--space", "bench/gnn.yaml", "--dataset", "beta", "--strategy", "rea", "--budget", "5",
                "--out", "r.sqlite", "-q", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    again = run_cli("resume", str(tmp_path / "r.sqlite"), "--budget", "9", "-q", cwd=elsewhere)
    assert again.returncode == 0, again.stderr
    assert "after 9 evaluations" in again.stdout


def test_bench_flags_rows_that_stopped_before_their_budget(two_datasets, tmp_path):
    # only 3 of the 18 rows meet the constraint and the others are skipped: rs runs out at 3 of 6
    r = run_cli("bench", "--space", str(two_datasets), "--strategies", "rs", "--seeds", "2", "--budgets", "6", "--workers", "1",
                "-c", "cost <= 16", "--over-budget", "skip", "--out", "b", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    (row,) = [ln for ln in r.stdout.splitlines() if "alpha" in ln]
    assert "rs !" in row and "exhausted" in row and "│         3 │" in row.replace("3.0", "3")
    assert "warning: rows marked ! stopped before their budget: rs alpha budget 6: 2 of 2 runs (fewest 3 evaluated; " \
           "stop: exhausted)" in r.stderr
    md = (tmp_path / "b" / "summary.md").read_text()
    assert "| rs ! | alpha | 6 | 2 | 3 | exhausted |" in md


def test_bench_numbers_keep_their_significant_digits():
    from llmnas.bench import fixed, mean_std

    assert mean_std(0.8012, 0.0123) == "0.801 ± 0.012"  # a 0-1 metric is not rounded to 0.80 ± 0.01
    assert mean_std(93.654, 0.25) == "93.65 ± 0.25"
    assert mean_std(0.8, 0.0) == "0.8000 ± 0"
    assert fixed(0.01234) == "0.01234" and fixed(1234.5) == "1234"
