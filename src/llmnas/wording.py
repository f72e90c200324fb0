"""Small helpers for messages users read: plurals and "did you mean" hints."""

from __future__ import annotations

import difflib
from typing import Iterable


def plural(n: int, word: str, many: str | None = None) -> str:
    """``plural(1, "worker")`` -> "1 worker"; ``plural(2, "worker")`` -> "2 workers"."""
    return f"{n} {word if n == 1 else (many or word + 's')}"


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """"; did you mean 'x'?" when a choice is close to ``name``, else ""."""
    close = difflib.get_close_matches(name, list(choices), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""
