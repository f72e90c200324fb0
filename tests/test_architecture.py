"""The package has no import cycle (scripts/import_cycles.py), and the checker finds one when it is there."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "import_cycles.py"


def _check(src: Path, package: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), str(src), package], capture_output=True, text=True, timeout=60)


def test_llmnas_has_no_import_cycle() -> None:
    r = _check(ROOT / "src", "llmnas")
    assert r.returncode == 0 and r.stdout.startswith("no import cycle"), r.stdout + r.stderr


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)


def test_the_checker_finds_planted_cycles_and_ignores_lazy_imports(tmp_path) -> None:
    _write(tmp_path, {
        "pkg/__init__.py": "",
        # a direct pair
        "pkg/a.py": "from .b import x\n",
        "pkg/b.py": "from . import a\nx = 1\n",
        # a cycle through a package's __init__: registry imports nothing, but reg/__init__ loads plugins
        "pkg/reg/__init__.py": "from .plugin import P\n",
        "pkg/reg/plugin.py": "from ..low import L\nP = L\n",
        "pkg/low.py": "from .reg.core import C\nL = C\n",
        "pkg/reg/core.py": "C = 1\n",
        # lazy and typing-only imports make no cycle
        "pkg/c.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .d import y\ndef f():\n    from .d import y\n",
        "pkg/d.py": "from .c import f\ny = 1\n",
    })
    r = _check(tmp_path, "pkg")
    assert r.returncode == 1, r.stdout
    lines = r.stdout.splitlines()
    assert "cycle of 2 modules: pkg.a, pkg.b" in lines, lines
    assert "cycle of 3 modules: pkg.low, pkg.reg, pkg.reg.plugin" in lines, lines
    assert not any("pkg.c" in ln for ln in lines) and lines[-1].startswith("2 import cycle(s)"), lines
