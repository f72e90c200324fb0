"""Crafted store rows (config as a list, arch as invalid JSON, signal as text, meta nested
too deeply, a call record that is not JSON) give one ``error:`` line naming the bad row in
show, export, resume and replay, never a traceback (17)."""

from __future__ import annotations

import sqlite3

import pytest

from _cli_helpers import run_cli
from llmnas.api import search


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    p = tmp_path_factory.mktemp("good") / "run.sqlite"
    search(store=p, study="x", strategy="rs", budget=6, seed=0)
    c = sqlite3.connect(p)
    c.execute("INSERT INTO llm_calls(study_id, round, record, created_at) VALUES (1, 0, ?, 0)",
              ('{"purpose": "navigator", "text": "ok", "messages": [], "params": {}}',))
    c.commit()
    c.close()
    return p


CRAFTS = {
    "config_list": ("UPDATE studies SET config='[]'", "study row 1 has a bad config (a JSON list"),
    "arch_invalid": ("UPDATE trials SET arch='{not json' WHERE seq=2", "trial row seq 2 has a bad arch (not valid JSON"),
    "signal_text": ("UPDATE trials SET signal='high' WHERE seq=1", "trial row seq 1 has a bad signal ('high' is not a number"),
    "meta_nested": ("UPDATE trials SET meta=? WHERE seq=3", "trial row seq 3 has a bad meta (nested too deeply"),
    "call_not_json": ("UPDATE llm_calls SET record='{oops'", "LLM call row 1 is not valid JSON"),
}


def _craft(good, tmp_path, name):
    sql, _ = CRAFTS[name]
    p = tmp_path / f"{name}.sqlite"
    p.write_bytes(good.read_bytes())
    c = sqlite3.connect(p)
    c.execute(sql, ("[" * 200_000 + "]" * 200_000,) if "?" in sql else ())
    c.commit()
    c.close()
    return p


def _one_error(r):
    lines = [ln for ln in r.stderr.strip().splitlines() if ln.strip()]
    assert r.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in r.stderr, r.stderr
    return lines[0]


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CRAFTS))
def test_crafted_rows_give_one_line_naming_the_row(good, tmp_path, name):
    p = _craft(good, tmp_path, name)
    words = CRAFTS[name][1]
    commands = [["show", str(p)], ["export", str(p), "--format", "json"], ["resume", str(p), "--budget", "9", "-q"]]
    if name == "call_not_json":
        commands = [["show", str(p)],
                    ["search", "--strategy", "collm", "--budget", "3", "--llm", f"replay:{p}", "--out", str(tmp_path / "r.sqlite"), "-q"]]
    for cmd in commands:
        line = _one_error(run_cli(*cmd, cwd=tmp_path))
        assert words in line and str(p) in line, (cmd, line)
