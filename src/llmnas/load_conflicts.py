"""``--load-if-exists`` continues a stored study with the stored config; a flag of this command
that says something else (another strategy, dataset, seed, ...) is refused, not ignored. LLM
settings that only change how fast or how patiently the run talks to its model (threads,
timeouts, retries) are this session's to choose: a run stored with 2 threads continues with 1."""

from __future__ import annotations

from typing import Any

from .config import RunConfig, make_config
from .errors import ConfigError
from .redact import redact_all
from .store import StudyInfo


#: LLM settings with no effect on what the model answers, only on speed and patience
RUNTIME_LLM_KEYS = frozenset({"n_threads", "timeout_s", "max_retries", "backoff_base_s", "backoff_max_s",
                              "retry_max_wait_s", "cache_dir"})


def _answer_settings(llm: Any) -> Any:
    """An LLM settings dict without :data:`RUNTIME_LLM_KEYS` (anything else as it is)."""
    return {k: v for k, v in llm.items() if k not in RUNTIME_LLM_KEYS} if isinstance(llm, dict) else llm


def check_load_if_exists(cfg: RunConfig, info: StudyInfo) -> RunConfig:
    """The stored study's config; ConfigError when a setting given to this command differs."""
    stored = make_config({k: v for k, v in info.config.items() if k != "resolved"}, where="stored config")
    ours, theirs = cfg.model_dump(mode="json"), stored.model_dump(mode="json")
    ours_cmp = {**ours, "llm": _answer_settings(redact_all(ours["llm"]))}  # URL credentials are not stored
    theirs_cmp = {**theirs, "llm": _answer_settings(theirs["llm"])}
    differ = [f for f in sorted(cfg.model_fields_set)
              if f != "config_version" and ours_cmp.get(f) != theirs_cmp.get(f)]
    if differ:
        mine, stored_llm = ours_cmp.get("llm"), theirs_cmp.get("llm")
        llm_keys = sorted(k for k in {*mine, *stored_llm} if mine.get(k) != stored_llm.get(k)) \
            if isinstance(mine, dict) and isinstance(stored_llm, dict) else []

        def show(d: dict[str, Any]) -> str:
            parts = []
            for f in differ:
                if f == "llm" and llm_keys:  # only the LLM keys that differ, not all thirty
                    parts += [f"llm.{k}={(d['llm'] or {}).get(k)!r}" for k in llm_keys]
                else:
                    parts.append(f"{f}={d.get(f)!r}")
            return ", ".join(parts)

        hint = " (to extend the budget: llmnas resume RUN --budget N)" if "budget" in differ else ""
        raise ConfigError(f"--load-if-exists: study {info.name!r} is stored with {show(theirs)}, but this command "
                          f"says {show(ours)}; drop those settings to continue it, or pick another --study{hint}")
    if cfg.llm is not None and _answer_settings(redact_all(cfg.llm)) == _answer_settings(stored.llm):
        # this session's URL (with its credentials) and its threads, timeouts and retries
        stored = stored.with_llm(cfg)
    return stored
