"""A fingerprint of a search space, stored with a run, so a resume after the space file was
edited (options reordered, added or removed: each stored key would then mean another
architecture) is refused with one line instead of mixing two spaces in one run."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from .errors import ConfigError


def space_fingerprint(space: Any) -> str:
    """sha256 over the space's name, size and decisions (names and typed options, in order)."""
    decisions = [[d.name, [[type(o).__name__, o] for o in d.options]] for d in space.decisions]
    blob = json.dumps({"name": space.name, "size": space.size(), "decisions": decisions}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def check_space_unchanged(stored_config: dict[str, Any], space: Any, study: str) -> None:
    """ConfigError when the stored fingerprint (runs stored before it existed have none) differs."""
    resolved = stored_config.get("resolved") if isinstance(stored_config.get("resolved"), dict) else {}
    stored = resolved.get("space_fingerprint")
    if stored is None or stored == space_fingerprint(space):
        return
    where = stored_config.get("space", "the space")
    was = resolved.get("space_size")
    raise ConfigError(f"the space {where} is not the one study {study!r} was run on (its decisions or options "
                      f"changed since: {was} architectures then, {space.size()} now); each stored trial key would "
                      "mean another architecture, so restore the space file as it was, or start a new run")
