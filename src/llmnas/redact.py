"""Credentials out of what is stored or shown: ``user:password@`` in a URL becomes ``***@``."""

from __future__ import annotations

import re
from typing import Any

_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/@\s?#]*@")


def redact_url(url: str) -> str:
    """``url`` with any ``user:password@`` replaced by ``***@``."""
    return _USERINFO.sub(r"\1***@", url)


def has_credentials(url: str) -> bool:
    return redact_url(url) != url


def redact_all(obj: Any) -> Any:
    """A copy of a JSON-like value with every string's URL credentials redacted."""
    if isinstance(obj, str):
        return redact_url(obj)
    if isinstance(obj, dict):
        return {k: redact_all(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [redact_all(v) for v in obj]
    return obj
