"""The example spaces shipped in examples/ run as the README and their comments say."""

from __future__ import annotations

import pytest

import json
from pathlib import Path

from _cli_helpers import ROOT, run_cli

EX = ROOT / "examples"


@pytest.mark.slow
def test_table_example(tmp_path):
    r = run_cli("search", "--space", str(EX / "nb201-3ops" / "space.yaml"), "--strategy", "ls", "--budget", "50",
                "--out", str(tmp_path / "t.sqlite"), "--study", "x", "-q", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    doc = json.loads(run_cli("export", str(tmp_path / "t.sqlite"), "--format", "json", cwd=tmp_path).stdout)
    assert doc["config"]["resolved"]["space_size"] == 729
    assert all(set(t["arch"].values()) <= {"skip_connect", "nor_conv_1x1", "nor_conv_3x3"} for t in doc["trials"])


def test_function_example_with_constraint(tmp_path):
    r = run_cli("search", "--space", "function-space.yaml", "--strategy", "rea", "--budget", "40",
                "--constraint", "params_M <= 0.3", "--out", str(tmp_path / "f.sqlite"), "--study", "x", "-q", cwd=EX)
    assert r.returncode == 0, r.stderr
    doc = json.loads(run_cli("export", str(tmp_path / "f.sqlite"), "--format", "json", cwd=tmp_path).stdout)
    ok = [t for t in doc["trials"] if t["status"] == "ok"]
    assert len(ok) == 40
    best = max((t for t in ok if t["feasible"]), key=lambda t: t["signal"])
    assert best["metrics"]["params_M"] <= 0.3
    assert any(not t["feasible"] for t in ok)  # over-budget candidates were evaluated but not eligible


def test_yaml_space_rejects_dataset(tmp_path):
    r = run_cli("search", "--space", str(EX / "nb201-3ops" / "space.yaml"), "--dataset", "cifar10", "-q",
                "--out", str(tmp_path / "x.sqlite"), cwd=tmp_path)
    assert r.returncode == 2 and "drop --dataset" in r.stderr
