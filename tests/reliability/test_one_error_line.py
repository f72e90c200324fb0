"""Inputs that used to end in a traceback now give one ``error:`` line (12): unusable ``--out``
paths for search, export, plot and bench; a seed past 2^63; a ragged CSV; a malformed base URL;
a full disk; an absurd reinforce learning rate. Tables with non-finite values or duplicate rows
are refused and JSON export is valid JSON (20); a small .csv.gz that expands to millions of rows
is refused after reading one row more than the space holds (21)."""

from __future__ import annotations

import gzip
import json
import resource
import sqlite3
import subprocess
import sys

import pytest

from _cli_helpers import run_cli
from llmnas.api import search, start
from llmnas.config import make_config
from llmnas.errors import StoreError
from llmnas.store import Store


def _one_error(r):
    lines = [ln for ln in r.stderr.strip().splitlines() if ln.strip()]
    assert r.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: "), (r.returncode, r.stderr)
    assert "Traceback" not in r.stderr
    return lines[0]


@pytest.fixture(scope="module")
def good_store(tmp_path_factory):
    p = tmp_path_factory.mktemp("g") / "run.sqlite"
    search(store=p, study="x", strategy="rs", budget=5, seed=0)
    return p


@pytest.mark.slow  # several CLI runs: >10 s on a busy 2-core machine
def test_unusable_output_paths(tmp_path, good_store):
    (tmp_path / "afile").write_text("x")
    rs = ["search", "--strategy", "rs", "--budget", "3", "-q"]
    assert "a part of it is a file" in _one_error(run_cli(*rs, "--out", str(tmp_path / "afile" / "r.sqlite"), cwd=tmp_path))
    assert "is a folder" in _one_error(run_cli(*rs, "--out", str(tmp_path), cwd=tmp_path))
    assert "cannot write" in _one_error(run_cli("export", str(good_store), "-o", str(tmp_path / "no" / "x.csv"), cwd=tmp_path))
    assert "does not exist" in _one_error(run_cli("plot", str(good_store), "--out", str(tmp_path / "no" / "p.png"), cwd=tmp_path))
    assert "is a file" in _one_error(run_cli("bench", "--strategies", "rs", "--seeds", "1", "--budgets", "3", "--out",
                                             str(tmp_path / "afile"), "-q", cwd=tmp_path))


@pytest.mark.slow
def test_bad_numbers_and_urls(tmp_path):
    rs = ["search", "--strategy", "rs", "--budget", "3", "-q", "--out", str(tmp_path / "r.sqlite")]
    assert "seed" in _one_error(run_cli(*rs, "--seed", str(2 ** 63), cwd=tmp_path))
    assert "learning_rate" in _one_error(run_cli("search", "--strategy", "reinforce", "--option", "learning_rate=1e308",
                                                 "--budget", "3", "-q", "--out", str(tmp_path / "q.sqlite"), cwd=tmp_path))
    line = _one_error(run_cli("search", "--strategy", "collm", "--llm", "openai", "--llm-base-url", "http://[::1",
                              "--budget", "3", "-q", "--out", str(tmp_path / "u.sqlite"), cwd=tmp_path))
    assert "malformed" in line and "valid keys" not in line
    assert not (tmp_path / "r.sqlite").exists() and not (tmp_path / "u.sqlite").exists()


def _table_space(tmp_path, rows, name="t.csv", gz=False):
    body = "a,b,val,test\n" + "".join(rows)
    table = tmp_path / (name + (".gz" if gz else ""))
    table.write_bytes(gzip.compress(body.encode()) if gz else body.encode())
    p = tmp_path / "s.yaml"
    p.write_text(json.dumps({"name": "s", "decisions": [{"name": "a", "options": [1, 2]}, {"name": "b", "options": ["x", "y"]}],
                             "evaluator": {"type": "table", "path": table.name, "signal": "val", "report": "test"}}))
    return p


GOOD = ["1,x,1,1\n", "1,y,2,2\n", "2,x,3,3\n", "2,y,4,4\n"]


@pytest.mark.parametrize("rows, words", [
    (["1,x,1\n", *GOOD[1:]], "column 'test' has a non-number '' at row 2"),  # a short row
    ([*GOOD[:3], "2,y,4,4,9\n"], "cannot read table"),
    ([r.replace("\n", ",0\n") for r in GOOD], "cannot read table"),  # every row one field too long
    ([*GOOD[:3], "2,y,inf,4\n"], "has an infinite value 'inf' at row 5"),
    ([*GOOD[:3], "2,y,-Infinity,4\n"], "has an infinite value"),
    ([*GOOD[:3], "2,y,nan,4\n"], "has a non-number 'nan' at row 5"),
    ([*GOOD[:3], "1,x,9,9\n"], "rows 2 and 5 are the same architecture with different values"),
    ([*GOOD[:3], "1,x,1,1\n"], "rows 2 and 5 are the same architecture;"),
])
def test_bad_tables_are_refused(tmp_path, rows, words):
    r = run_cli("search", "--space", str(_table_space(tmp_path, rows)), "--strategy", "rs", "--budget", "2", "-q",
                "--out", str(tmp_path / "r.sqlite"), cwd=tmp_path)
    assert words in _one_error(r)


def test_a_gz_table_that_expands_hugely_is_refused_early(tmp_path):
    rows = GOOD + ["1,x,1,1\n"] * 2_000_000  # ~40 MB of text in ~100 KB of gzip
    space = _table_space(tmp_path, rows, gz=True)
    assert (tmp_path / "t.csv.gz").stat().st_size < 200_000
    # the peak of this process's own memory (VmHWM): getrusage's ru_maxrss survives exec on Linux,
    # so a child of a large pytest process would report the parent's peak
    code = ("import sys; sys.argv = ['llmnas', 'search', '--space', sys.argv[1], '--strategy', 'rs', "
            "'--budget', '2', '-q', '--out', sys.argv[2]]; from llmnas.cli import main; rc = main(); "
            "hwm = [ln.split()[1] for ln in open('/proc/self/status') if ln.startswith('VmHWM:')][0]; "
            "print(hwm, file=sys.stderr); sys.exit(rc)")
    r = subprocess.run([sys.executable, "-c", code, str(space), str(tmp_path / "r.sqlite")], capture_output=True,
                       text=True, timeout=120, cwd=tmp_path)
    err, rss_kb = r.stderr.strip().splitlines()[:-1], int(r.stderr.strip().splitlines()[-1])
    assert r.returncode == 2 and len(err) == 1 and "more than 4 rows" in err[0], r.stderr
    assert rss_kb < 400_000  # the table was not read whole


def test_json_export_is_valid_json(tmp_path, good_store):
    p = tmp_path / "nan.sqlite"
    p.write_bytes(good_store.read_bytes())
    c = sqlite3.connect(p)
    c.execute("UPDATE trials SET metrics=? WHERE seq=0", (json.dumps({"flops": float("inf"), "x": float("nan")}),))
    c.commit()
    c.close()
    r = run_cli("export", str(p), "--format", "json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout, parse_constant=lambda name: pytest.fail(f"{name} is not JSON"))
    assert doc["trials"][0]["metrics"] == {"flops": None, "x": None}


def test_a_full_disk_is_one_store_error(tmp_path):
    p = tmp_path / "full.sqlite"
    store = Store(p)
    cfg = make_config({"strategy": "rs", "budget": 200})
    run = start(cfg, p, "x", store=store)
    pages = store.conn.execute("PRAGMA page_count").fetchone()[0]
    store.conn.execute(f"PRAGMA max_page_count={pages + 2}")  # SQLite now answers SQLITE_FULL, as on a full disk
    with pytest.raises(StoreError, match="cannot write the run store .*full.*free disk space"):
        run.run()
    store.close()
