from __future__ import annotations

from pathlib import Path

import pytest

from _cli_helpers import run_cli


@pytest.fixture
def cli(tmp_path: Path):
    def _run(*args: str, **kw):
        return run_cli(*args, cwd=kw.pop("cwd", tmp_path), **kw)

    return _run
