"""A resume after the space file was edited (options reordered, one added) is refused with one
line naming the fix, instead of mixing two spaces in one run (10); an unchanged file resumes."""

from __future__ import annotations

import pytest

import json

from _cli_helpers import run_cli


def _write(p, options):
    rows = "a,b,val,test\n" + "".join(f"{a},{b},{i + j},{i + j}\n" for i, a in enumerate(options) for j, b in enumerate(["x", "y"]))
    (p.parent / "t.csv").write_text(rows)
    p.write_text(json.dumps({"name": "s", "decisions": [{"name": "a", "options": options}, {"name": "b", "options": ["x", "y"]}],
                             "evaluator": {"type": "table", "path": "t.csv", "signal": "val", "report": "test"}}))


@pytest.mark.slow  # several CLI runs: >10 s on a busy 2-core machine
def test_resume_after_the_space_file_changed_is_refused(tmp_path):
    space = tmp_path / "s.yaml"
    _write(space, [1, 2, 3, 4])
    out = tmp_path / "r.sqlite"
    assert run_cli("search", "--space", str(space), "--strategy", "rs", "--budget", "3", "--out", str(out), "--study", "x",
                   "-q", cwd=tmp_path).returncode == 0
    for edited in ([4, 3, 2, 1], [1, 2, 3, 4, 5]):
        _write(space, edited)
        r = run_cli("resume", str(out), "--budget", "6", "-q", cwd=tmp_path)
        lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
        assert r.returncode == 2 and len(lines) == 1 and "is not the one study 'x' was run on" in lines[0], r.stderr
    _write(space, [1, 2, 3, 4])
    r = run_cli("resume", str(out), "--budget", "6", "-q", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    r = run_cli("export", str(out), cwd=tmp_path)
    assert r.stdout.count("\n") == 7 and r.stdout.count(",ok,") == 6, r.stdout
