from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 300, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the real ``llmnas`` command line in a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "llmnas.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=timeout,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
    )


@pytest.fixture
def cli(tmp_path: Path):
    def _run(*args: str, **kw):
        return run_cli(*args, cwd=kw.pop("cwd", tmp_path), **kw)

    return _run
