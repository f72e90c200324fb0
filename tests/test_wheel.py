"""The NB201 table ships inside the wheel and loads from an installed copy in about a second."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_contains_data_and_loads_fast(tmp_path):
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path / "dist"), str(ROOT)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    (wheel,) = (tmp_path / "dist").glob("llmnas-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "llmnas/data/nb201/nb201.npz" in names
    assert "llmnas/data/nb201/PROVENANCE.md" in names
    assert "llmnas/data/nb201/LICENSE" in names
    for name in ("lmsearcher-ranker.gguf", "adapter.json", "CARD.md"):  # the shipped LM-Searcher ranker
        assert f"llmnas/strategies/lmsearcher/finetune/ranker/{name}" in names
    for name in ("model.npz", "model.json", "CARD.md"):  # the shipped NCode ranker model
        assert f"llmnas/strategies/lmsearcher/ncode_ranker/{name}" in names
    for folder in ("nb301", "nbmacro", "transnasmacro", "transnasmicro"):
        assert f"llmnas/data/{folder}/{folder}.npz" in names
        assert f"llmnas/data/{folder}/PROVENANCE.md" in names
        assert any(n.startswith(f"llmnas/data/{folder}/LICENSE") for n in names)
    target = tmp_path / "site"
    r = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-compile", "--target", str(target), str(wheel)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    code = (
        "import time, llmnas; t=time.perf_counter(); from llmnas.data import load_nb201; d=load_nb201(); "
        "dt=time.perf_counter()-t; print(llmnas.__file__); print(len(d['ops']), round(max(d['c10_test_200']), 2), dt)"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                       env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"})
    assert r.returncode == 0, r.stderr
    path, facts = r.stdout.strip().splitlines()
    assert path.startswith(str(target))
    n, best, seconds = facts.split()
    assert (n, best) == ("15625", "94.37")
    assert float(seconds) < 1.5
    # the other packaged tables load from the installed copy too
    code = ("from llmnas.spaces.tables.tables import load_table; import llmnas; "
            "print(*[len(next(iter(load_table(f).values()))) for f in ('nb301', 'nbmacro', 'transnasmacro', 'transnasmicro')])")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                       env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"})
    assert r.returncode == 0, r.stderr
    assert all(int(n) > 0 for n in r.stdout.split()) and len(r.stdout.split()) == 4
    # the shipped NCode ranker loads from the installed copy (sha256 checked) and answers from its pool
    code = ("import llmnas.strategies.lmsearcher.ncode_ranker as n; r = n.load_ncode_ranker(); "
            "print(n.__file__); print(r.sha256 == n.SHIPPED_SHA256, r.choose([('01234', 1.0), ('11111', 0.0)], ['01230', '11110']))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                       env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"})
    assert r.returncode == 0, r.stderr
    path, facts = r.stdout.strip().splitlines()
    assert path.startswith(str(target))
    ok, pick = facts.split()
    assert ok == "True" and pick in ("0", "1")
