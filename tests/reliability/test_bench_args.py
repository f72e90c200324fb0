"""``llmnas bench`` refuses seed lists that would count one run several times or none at all,
and empty strategy or budget lists, instead of printing a misleading table (18)."""

from __future__ import annotations

import pytest

from llmnas.cli import main


@pytest.mark.parametrize("args, words", [
    (["--seeds", "1,1,1"], "lists seed 1 more than once"),
    (["--seeds", "5-1"], "is an empty range; write the smaller seed first, e.g. 1-5"),
    (["--seeds", ","], "lists no seed"),
    (["--strategies", ","], "--strategies names nothing"),
    (["--strategies", "rs,rs"], "--strategies names rs twice"),
    (["--budgets", "5,5"], "--budgets names 5 twice"),
])
def test_bad_bench_lists_are_refused(tmp_path, capsys, args, words):
    rc = main(["bench", "--budgets", "5", "--strategies", "rs", "--seeds", "2", "--out", str(tmp_path / "b"), "-q", *args])
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert rc == 2 and len(lines) == 1 and words in lines[0], err
    assert not (tmp_path / "b").exists()


def test_a_good_seed_range_runs_each_seed_once(tmp_path, capsys):
    rc = main(["bench", "--budgets", "5", "--strategies", "rs", "--seeds", "3-5", "--out", str(tmp_path / "b"), "--json"])
    out = capsys.readouterr().out
    assert rc == 0 and '"seeds": 3' in out
