"""A corrupt, truncated or foreign store file, a store or config from a newer/older llmnas, and
unsafe YAML: each gets one clear `error:` line (exit 2), never a traceback, and nothing runs."""

from __future__ import annotations

import json
import sqlite3

import pytest

from llmnas.api import search
from llmnas.cli import main
from llmnas.store import SCHEMA_VERSION


def _cli(capsys, *args):
    rc = main(list(args))
    out = capsys.readouterr()
    return rc, out.out, out.err


def _one_error(err: str) -> str:
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture(scope="module")
def good_store(tmp_path_factory):
    p = tmp_path_factory.mktemp("good") / "run.sqlite"
    search(store=p, study="x", strategy="rs", budget=30, seed=0)
    return p


def _damaged(good_store, tmp_path, how):
    data = bytearray(good_store.read_bytes())
    p = tmp_path / f"{how}.sqlite"
    if how == "pages":  # header intact, table pages scrambled
        for i in range(4096, len(data), 5):
            data[i] = (data[i] * 31 + 7) % 256
    elif how == "truncated":
        data = data[:5000]
    elif how == "header":
        data[:16] = b"NOT SQLITE AT AL"
    elif how == "zeros":
        data = bytearray(len(data))
    p.write_bytes(bytes(data))
    return p


@pytest.mark.parametrize("how", ["pages", "truncated", "header", "zeros"])
@pytest.mark.parametrize("command", ["show", "resume", "export"])
def test_damaged_store_gets_one_clear_error(capsys, tmp_path, good_store, how, command):
    p = _damaged(good_store, tmp_path, how)
    rc, _, err = _cli(capsys, command, str(p))
    line = _one_error(err)
    assert rc == 2 and str(p) in line
    assert "damaged" in line or "not a readable llmnas run store" in line or "not an llmnas run store" in line


def test_foreign_sqlite_file(capsys, tmp_path):
    p = tmp_path / "other.sqlite"
    c = sqlite3.connect(p)
    c.execute("CREATE TABLE trials(x)")
    c.commit()
    c.close()
    rc, _, err = _cli(capsys, "show", str(p))
    assert rc == 2 and "not an llmnas run store" in _one_error(err)


@pytest.mark.parametrize("delta,fix", [(1, "upgrade llmnas"), (-1, "open it with the llmnas version that wrote it")])
def test_store_schema_from_another_version(capsys, tmp_path, good_store, delta, fix):
    p = tmp_path / "v.sqlite"
    p.write_bytes(good_store.read_bytes())
    c = sqlite3.connect(p)
    c.execute(f"PRAGMA user_version={SCHEMA_VERSION + delta}")
    c.commit()
    c.close()
    for command in ("show", "resume"):
        rc, _, err = _cli(capsys, command, str(p))
        assert rc == 2 and fix in _one_error(err)


def test_run_written_by_a_newer_llmnas(capsys, tmp_path, good_store):
    p = tmp_path / "newer.sqlite"
    p.write_bytes(good_store.read_bytes())
    c = sqlite3.connect(p)
    cfg = json.loads(c.execute("SELECT config FROM studies").fetchone()[0])
    cfg["config_version"] = 7
    cfg["future_knob"] = True
    c.execute("UPDATE studies SET config=?, versions=?", (json.dumps(cfg), json.dumps({"llmnas": "99.0.0"})))
    c.commit()
    c.close()
    rc, _, err = _cli(capsys, "resume", str(p))
    line = _one_error(err)
    assert rc == 2 and "written by llmnas 99.0.0" in line and "pip install -U llmnas" in line


@pytest.mark.parametrize("version,fix", [(2, "comes from a newer llmnas"), (0, "older than this llmnas supports"),
                                         ("one", "must be an integer")])
def test_config_file_from_another_version(capsys, tmp_path, version, fix):
    cfg = tmp_path / "run.yaml"
    cfg.write_text(f"config_version: {json.dumps(version)}\nstrategy: rs\nbudget: 5\n")
    rc, _, err = _cli(capsys, "search", "--config", str(cfg), "--out", str(tmp_path / "r.sqlite"), "-q")
    assert rc == 2 and fix in _one_error(err)
    assert not (tmp_path / "r.sqlite").exists()  # nothing was written


def test_config_with_keys_of_a_newer_version(capsys, tmp_path):
    cfg = tmp_path / "run.yaml"
    cfg.write_text("strategy: rs\nbudget: 5\nexecutor: {kind: ray, autoscale: true}\n")
    rc, _, err = _cli(capsys, "search", "--config", str(cfg), "--out", str(tmp_path / "r.sqlite"), "-q")
    assert rc == 2 and "unknown key 'executor.autoscale'" in _one_error(err)


@pytest.mark.parametrize("target", ["config", "space"])
def test_yaml_with_python_tags_is_refused_and_never_run(capsys, tmp_path, target):
    marker = tmp_path / "PWNED"
    evil = f'!!python/object/apply:os.system ["touch {marker}"]'
    if target == "config":
        f = tmp_path / "run.yaml"
        f.write_text(f"strategy: rs\nbudget: {evil}\n")
        args = ["search", "--config", str(f)]
    else:
        f = tmp_path / "space.yaml"
        f.write_text(f"name: {evil}\ndecisions:\n  - {{name: a, options: [1, 2]}}\n")
        args = ["search", "--space", str(f), "--strategy", "rs", "--budget", "1"]
    rc, _, err = _cli(capsys, *args, "--out", str(tmp_path / "r.sqlite"), "-q")
    assert rc == 2 and "malformed YAML" in _one_error(err)
    assert not marker.exists()
