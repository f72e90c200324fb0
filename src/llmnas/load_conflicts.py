"""``--load-if-exists`` continues a stored study with the stored config; a flag of this command
that says something else (another strategy, dataset, seed, ...) is refused, not ignored."""

from __future__ import annotations

from typing import Any

from .config import RunConfig, make_config
from .errors import ConfigError
from .redact import redact_all
from .store import StudyInfo


def check_load_if_exists(cfg: RunConfig, info: StudyInfo) -> RunConfig:
    """The stored study's config; ConfigError when a setting given to this command differs."""
    stored = make_config({k: v for k, v in info.config.items() if k != "resolved"}, where="stored config")
    ours, theirs = cfg.model_dump(mode="json"), stored.model_dump(mode="json")
    ours_cmp = {**ours, "llm": redact_all(ours["llm"])}  # URL credentials are not stored
    differ = [f for f in sorted(cfg.model_fields_set) if f != "config_version" and ours_cmp.get(f) != theirs.get(f)]
    if differ:
        def show(d: dict[str, Any]) -> str:
            return ", ".join(f"{f}={d.get(f)!r}" for f in differ)

        hint = " (to extend the budget: llmnas resume RUN --budget N)" if "budget" in differ else ""
        raise ConfigError(f"--load-if-exists: study {info.name!r} is stored with {show(theirs)}, but this command "
                          f"says {show(ours)}; drop those settings to continue it, or pick another --study{hint}")
    if cfg.llm is not None and redact_all(cfg.llm) == stored.llm:
        stored = stored.model_copy(update={"llm": cfg.llm})  # this session's URL, with its credentials
    return stored
