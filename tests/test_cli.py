from __future__ import annotations

import csv
import io
import json

import pytest


def _one_error_line(r, *needles):
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    lines = [l for l in r.stderr.strip().splitlines() if l.strip()]
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("error: ") and "Traceback" not in r.stderr
    for n in needles:
        assert n in lines[0], lines[0]
    return lines[0]


@pytest.mark.slow
@pytest.mark.parametrize(
    "args,needles",
    [
        (["--space", "nb202"], ["unknown space 'nb202'", "did you mean 'nb201'"]),
        (["--strategy", "reaa"], ["unknown strategy 'reaa'", "did you mean 'rea'"]),
        (["--dataset", "cifar1000"], ["unknown dataset 'cifar1000'", "cifar100"]),
        (["--budget", "0"], ["budget", "greater than or equal to 1"]),
        (["--budget", "20000"], ["larger than the space (15,625", "lower --budget"]),
        (["--constraint", "energy <= 3"], ["unknown metric 'energy'", "flops_M"]),
        (["--constraint", "flops below 3"], ["METRIC OP NUMBER"]),
        (["--strategy", "rea", "--option", "populaton_size=5"], ["populaton_size", "population_size"]),
        (["--over-budget", "drop"], ["over_budget"]),
        (["--signal", "test_200"], ["unknown nb201 signal"]),
    ],
)
def test_bad_input_gives_one_line_and_exit_2(cli, args, needles):
    _one_error_line(cli("search", "--out", "x.sqlite", "-q", *args), *needles)


@pytest.mark.slow
def test_bad_yaml_and_csv(cli, tmp_path):
    (tmp_path / "bad.yaml").write_text("name: x\ndecisions: [\n")
    _one_error_line(cli("search", "--space", "bad.yaml", "-q"), "malformed YAML")
    (tmp_path / "t.csv").write_text("a,val\n1,0.5\n")
    (tmp_path / "s.yaml").write_text("name: x\ndecisions: [{name: a, options: [1, 2]}]\n"
                                    "evaluator: {type: table, path: t.csv, signal: acc}\n")
    _one_error_line(cli("search", "--space", "s.yaml", "-q"), "lacks column(s) acc")
    _one_error_line(cli("search", "--space", "missing.yaml", "-q"), "not found")


def test_missing_run_and_config(cli):
    _one_error_line(cli("show", "nope.sqlite"), "not found")
    _one_error_line(cli("search", "--config", "nope.yaml"), "not found")


@pytest.mark.slow
def test_config_file_and_flag_override(cli, tmp_path):
    (tmp_path / "run.yaml").write_text("space: nb201\ndataset: cifar100\nstrategy: rea\nbudget: 15\nseed: 2\n"
                                       "strategy_options: {population_size: 5, sample_size: 2}\n")
    r = cli("search", "--config", "run.yaml", "--budget", "12", "--out", "r.sqlite", "--study", "x", "-q")
    assert r.returncode == 0, r.stderr
    r = cli("export", "r.sqlite", "--format", "json")
    doc = json.loads(r.stdout)
    assert doc["config"]["budget"] == 12 and doc["config"]["dataset"] == "cifar100"
    assert doc["config"]["strategy_options"] == {"population_size": 5, "sample_size": 2}
    assert len(doc["trials"]) == 12
    (tmp_path / "typo.yaml").write_text("strategy: rea\nbugdet: 5\n")
    _one_error_line(cli("search", "--config", "typo.yaml", "-q"), "unknown key 'bugdet'")


@pytest.mark.slow
def test_search_show_export_plot(cli, tmp_path):
    r = cli("search", "--space", "nb201", "--dataset", "cifar10", "--strategy", "ls", "--budget", "40", "--seed", "1",
            "--out", "run.sqlite")
    assert r.returncode == 0, r.stderr
    assert "stopped on budget after 40 evaluations" in r.stdout
    r = cli("show", "run.sqlite", "--trials", "3")
    assert r.returncode == 0, r.stderr
    for text in ("best architecture", "trajectory", "val_200 / test_200", "40 evaluated"):
        assert text in r.stdout
    r = cli("export", "run.sqlite", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert len(rows) == 40 and "arch.edge_0_1" in rows[0] and "m.test_200" in rows[0]
    for ext in ("png", "svg"):
        r = cli("plot", "run.sqlite", "--out", f"p.{ext}")
        assert r.returncode == 0, r.stderr
        data = (tmp_path / f"p.{ext}").read_bytes()
        assert data.startswith(b"\x89PNG") if ext == "png" else b"<svg" in data[:2000]
    _one_error_line(cli("plot", "run.sqlite", "--out", "p.jpg"), ".png or .svg")
    _one_error_line(cli("export", "run.sqlite", "--format", "xml"), "csv, json")


@pytest.mark.slow
def test_bench_json_and_files(cli, tmp_path):
    r = cli("bench", "--datasets", "cifar10,cifar100", "--strategies", "rs,rea", "--budgets", "20,30",
            "--seeds", "4", "--out", "b", "--json")
    assert r.returncode == 0, r.stderr
    rows = [json.loads(l) for l in r.stdout.strip().splitlines()]
    assert len(rows) == 2 * 2 * 2
    keys = ["strategy", "space", "dataset", "budget", "seeds", "test_mean", "test_std", "val_mean", "best_test_mean"]
    for row in rows:
        assert list(row)[: len(keys)] == keys and row["seeds"] == 4
        assert row["best_test_mean"] >= row["test_mean"] - 1e-9
    assert (tmp_path / "b" / "summary.md").read_text().startswith("| strategy")
    assert len((tmp_path / "b" / "runs.csv").read_text().strip().splitlines()) == 1 + 32
    r = cli("plot", "b", "--out", "bench.png")
    assert r.returncode == 0 and (tmp_path / "bench.png").stat().st_size > 10_000


@pytest.mark.slow
def test_bench_reuses_finished_runs(cli, tmp_path):
    args = ("bench", "--strategies", "rea", "--seeds", "3", "--budgets", "20", "--out", "b", "--json")
    a = cli(*args)
    b = cli(*args)
    assert a.returncode == b.returncode == 0
    assert json.loads(a.stdout)["test_mean"] == json.loads(b.stdout)["test_mean"]


def test_help_lists_commands(cli):
    r = cli("--help")
    assert r.returncode == 0
    for c in ("search", "resume", "show", "export", "bench", "plot"):
        assert c in r.stdout


@pytest.mark.slow
def test_bench_per_strategy_options(cli, tmp_path):
    r = cli("bench", "--strategies", "rea,ls", "--seeds", "2", "--budgets", "15", "--out", "b", "--json",
            "--option", "rea.population_size=4", "--option", "rea.sample_size=2", "--option", "ls.num_init=3")
    assert r.returncode == 0, r.stderr
    from llmnas.store import Store

    stores = sorted((tmp_path / "b" / "stores").glob("*.sqlite"))
    opts = {}
    for p in stores:
        with Store(p) as st:
            for s in st.studies():
                opts[s.config["strategy"]] = s.config["strategy_options"]
    assert opts == {"rea": {"population_size": 4, "sample_size": 2}, "ls": {"num_init": 3}}
    bad = cli("bench", "--strategies", "rea", "--seeds", "1", "--option", "rs.x=1", "--out", "c")
    assert bad.returncode == 2 and "not one of this command's strategies" in bad.stderr


@pytest.mark.slow
def test_bench_variants_get_their_own_rows_options_and_llm_settings(cli, tmp_path):
    r = cli("bench", "--datasets", "cifar100", "--strategies", "rs,lmsearcher@a,lmsearcher@b", "--seeds", "2",
            "--budgets", "15", "--out", "b", "--json", "--option", "lmsearcher@a.ranker=closest",
            "--option", "lmsearcher@b.ranker=random", "--option", "lmsearcher@b.llm.temperature=0.3")
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.strip().splitlines()]
    assert [row["strategy"] for row in rows] == ["rs", "lmsearcher@a", "lmsearcher@b"]
    from llmnas.store import Store

    seen = {}
    for p in sorted((tmp_path / "b" / "stores").glob("lmsearcher@*.sqlite")):
        with Store(p) as st:
            for s in st.studies():
                seen[p.name.split("-")[0]] = (s.config["strategy"], s.config["strategy_options"], (s.config.get("llm") or {}).get("temperature"))
    assert seen["lmsearcher@a"][:2] == ("lmsearcher", {"ranker": "closest"})
    assert seen["lmsearcher@b"] == ("lmsearcher", {"ranker": "random"}, 0.3)
    assert seen["lmsearcher@a"][2] != 0.3
    dup = cli("bench", "--strategies", "rs,rs", "--seeds", "1", "--out", "c")
    assert dup.returncode == 2 and "names rs twice" in dup.stderr
    no_llm = cli("bench", "--strategies", "rs@x", "--seeds", "1", "--option", "rs@x.llm.model=m", "--out", "d")
    assert no_llm.returncode == 2 and "uses no LLM" in no_llm.stderr


@pytest.mark.slow
def test_bench_passes_space_options(cli, tmp_path):
    r = cli("bench", "--space-option", "canonical=isomorphism", "--strategies", "rs", "--seeds", "1", "--budgets", "10",
            "--out", "b", "--json")
    assert r.returncode == 0, r.stderr
    from llmnas.store import Store

    (store,) = (tmp_path / "b" / "stores").glob("*.sqlite")
    with Store(store) as st:
        assert [s.config["space_options"] for s in st.studies()] == [{"canonical": "isomorphism"}]
    bad = cli("bench", "--space-option", "bogus=1", "--strategies", "rs", "--seeds", "1", "--out", "c")
    assert bad.returncode == 2 and "unknown nb201 space option" in bad.stderr
