"""Text from users, files and LLM replies, made safe to print with rich.

:func:`clean` drops control characters (terminal escape sequences such as ``ESC[2J`` or an
OSC title, bidirectional overrides) but keeps newlines and tabs; :func:`safe` also escapes
rich markup, so ``a[b]c`` prints as written and ``[/]`` cannot crash the printer.
"""

from __future__ import annotations

import re
from typing import Any

from rich.markup import escape

_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def clean(text: Any) -> str:
    """``str(text)`` without control characters (newlines and tabs kept)."""
    return _CONTROL.sub("", str(text))


def safe(text: Any) -> str:
    """``text`` cleaned and with rich markup escaped: prints literally in markup strings."""
    return escape(clean(text))
