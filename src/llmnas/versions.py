"""What produced a run: package versions and platform, recorded with every study."""

from __future__ import annotations

import platform
import sys
from importlib import metadata


def versions() -> dict[str, str]:
    out = {"python": sys.version.split()[0], "platform": platform.platform()}
    for pkg in ("llmnas", "numpy", "pydantic", "openai", "xllamacpp", "torch", "pandas"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    return out
