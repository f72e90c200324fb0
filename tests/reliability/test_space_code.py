"""A space that names Python code keeps working, but visibly (22): the CLI says which module it
imports from where before the run, and the space's folder cannot shadow the standard library
(a ``multiprocessing.py`` beside the YAML file is not imported by ``--executor process``)."""

from __future__ import annotations

import pytest

import json

from _cli_helpers import run_cli


def _space(tmp_path, callable_="evalmod:evaluate"):
    (tmp_path / "evalmod.py").write_text("def evaluate(arch):\n    return {'signal': float(arch['a']), 'report': 0.0}\n")
    p = tmp_path / "s.yaml"
    p.write_text(json.dumps({"name": "s", "decisions": [{"name": "a", "options": list(range(8))}],
                             "evaluator": {"type": "function", "callable": callable_, "report": "report"}}))
    return p


@pytest.mark.slow
def test_the_cli_says_which_code_a_space_runs(tmp_path):
    space = _space(tmp_path)
    r = run_cli("search", "--space", str(space), "--strategy", "rs", "--budget", "3", "--out", str(tmp_path / "r.sqlite"),
                "-q", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert f"note: space {space} runs Python code: evalmod:evaluate from {tmp_path / 'evalmod.py'}" in r.stderr
    r = run_cli("search", "--space", str(_space(tmp_path, "subprocess:run")), "--strategy", "rs", "--budget", "3",
                "--out", str(tmp_path / "q.sqlite"), "-q", cwd=tmp_path)
    assert "runs Python code: subprocess:run from the Python path" in r.stderr


@pytest.mark.slow
def test_the_space_folder_does_not_shadow_the_standard_library(tmp_path):
    marker = tmp_path / "SHADOWED"
    cwd, tmp_path = tmp_path, tmp_path / "space"  # not the working folder, which python -m puts first itself
    tmp_path.mkdir()
    (tmp_path / "multiprocessing.py").write_text(f"open({str(marker)!r}, 'w').write('x')\nraise SystemExit(3)\n")
    (tmp_path / "json.py").write_text(f"open({str(marker)!r}, 'w').write('x')\n")
    space = _space(tmp_path)
    r = run_cli("search", "--space", str(space), "--strategy", "rs", "--budget", "4", "--executor", "process",
                "--workers", "2", "--out", str(tmp_path / "r.sqlite"), "-q", cwd=cwd, timeout=120)
    assert r.returncode == 0, r.stderr
    assert not marker.exists()
    r = run_cli("search", "--space", str(_space(tmp_path, "json:dumps")), "--strategy", "rs", "--budget", "2",
                "--out", str(tmp_path / "j.sqlite"), "-q", cwd=cwd)
    assert r.returncode == 2 and "name of a standard-library module" in r.stderr and not marker.exists()
