"""A store deleted (or replaced) while a run writes to it stops the run with one ``error:``
line, not "exit 0, store: ..." with every trial lost (11)."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from llmnas.errors import StoreError
from llmnas.store import Store


def _space(tmp_path):
    (tmp_path / "slow.py").write_text("import time\ndef evaluate(arch):\n    time.sleep(0.05)\n"
                                      "    return {'signal': float(arch['a'] * 10 + arch['b']), 'report': 0.0}\n")
    p = tmp_path / "s.yaml"
    p.write_text(json.dumps({"name": "s", "decisions": [{"name": "a", "options": list(range(10))},
                                                        {"name": "b", "options": list(range(10))}],
                             "evaluator": {"type": "function", "callable": "slow:evaluate", "report": "report"}}))
    return p


@pytest.mark.slow
@pytest.mark.parametrize("how", ["delete", "replace"])
def test_a_store_removed_mid_run_stops_with_one_error(tmp_path, how):
    out = tmp_path / "d.sqlite"
    proc = subprocess.Popen([sys.executable, "-m", "llmnas.cli", "search", "--space", str(_space(tmp_path)), "--strategy",
                             "rs", "--budget", "90", "--out", str(out), "--study", "x", "-q"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while not out.exists() and time.time() < deadline:
        time.sleep(0.02)
    time.sleep(0.5)
    for suffix in ("", "-wal", "-shm"):
        (tmp_path / f"d.sqlite{suffix}").unlink(missing_ok=True)
    if how == "replace":
        with Store(out) as st:
            st.create_study("other", {}, 0, {})
    stdout, stderr = proc.communicate(timeout=60)
    lines = [ln for ln in stderr.splitlines() if ln.strip() and not ln.startswith("note: ")]
    assert proc.returncode == 2, (stdout, stderr)
    assert len(lines) == 1 and lines[0].startswith("error: the run store") and ("deleted" in lines[0] or "replaced" in lines[0])
    assert "store:" not in stdout


def test_a_write_after_the_file_is_gone_raises(tmp_path):
    p = tmp_path / "x.sqlite"
    st = Store(p)
    info = st.create_study("x", {}, 0, {})
    p.unlink()
    with pytest.raises(StoreError, match="was deleted while this run was writing"):
        st.add_event(info.id, "k", "m")
    st.close()
