"""The packaged table benchmarks: shipped files, values against their provenance notes, CLI use."""

from __future__ import annotations

from importlib import resources

import pytest

from llmnas.spaces.tables.catalog import BENCHMARKS, NB_MACRO, NB301, TRANSNAS_MICRO
from llmnas.spaces.tables.tables import BenchTableEvaluator, BenchTableSpace


@pytest.mark.parametrize("name", sorted(BENCHMARKS))
def test_each_table_ships_with_provenance_and_licence(name):
    folder = resources.files("llmnas.data").joinpath(BENCHMARKS[name].folder)
    files = {p.name for p in folder.iterdir()}
    assert f"{BENCHMARKS[name].folder}.npz" in files and "PROVENANCE.md" in files
    assert any(f.startswith("LICENSE") for f in files)
    assert "sha256" in folder.joinpath("PROVENANCE.md").read_text()


def test_values_match_the_provenance_notes():
    macro = BenchTableSpace(NB_MACRO)
    ev = BenchTableEvaluator(macro)
    best = max(macro.representatives, key=lambda i: ev.evaluate(macro.from_indices(i)).signal)
    assert macro.to_ncode(macro.from_indices(best)) == "22212220"  # PROVENANCE: best key, mean 93.127
    res = ev.evaluate(macro.from_ncode("22212220"))
    assert res.signal == pytest.approx(93.127, abs=1e-3) and res.report == res.signal
    assert ev.measure(macro.from_ncode("02012100"), "params_M") == pytest.approx(0.890666)
    micro = BenchTableSpace(TRANSNAS_MICRO, "jigsaw")
    vals = [BenchTableEvaluator(micro).evaluate(micro.from_indices(i)).signal for i in micro.representatives]
    assert min(vals) == pytest.approx(0.14, abs=0.01) and max(vals) == pytest.approx(94.99, abs=0.01)
    nb301 = BenchTableSpace(NB301)
    vals = [BenchTableEvaluator(nb301).evaluate(nb301.from_indices(i)).signal for i in nb301.representatives]
    assert min(vals) == pytest.approx(91.24, abs=0.01) and max(vals) == pytest.approx(94.49, abs=0.01)


@pytest.mark.slow
def test_search_on_a_table_space_and_bad_input(cli, tmp_path):
    r = cli("search", "--space", "transnas-macro", "--dataset", "room_layout", "--strategy", "lmsearcher-closest",
            "--budget", "20", "--out", str(tmp_path / "t.sqlite"))
    assert r.returncode == 0, r.stderr
    assert "stopped on budget after 20 evaluations" in r.stdout
    r = cli("search", "--space", "nb-macro", "--dataset", "cifar100", "--strategy", "rs", "--budget", "5")
    assert r.returncode == 2 and r.stderr.count("error:") == 1 and "choices: cifar10" in r.stderr
    r = cli("search", "--space", "nb301", "--signal", "val_12", "--strategy", "rs", "--budget", "5")
    assert r.returncode == 2 and "has one signal" in r.stderr
