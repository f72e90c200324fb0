"""How runs get their LLM client: settings from the run config, calls recorded to the store,
``--llm replay:RUN`` served from another run's records, and replay-then-live on resume."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .errors import ConfigError
from .store import Store


class StoreSink:
    """Records every LLM call in the run store, tagged with the runner's round and phase."""

    def __init__(self, store: Store, study_id: int) -> None:
        self.store, self.study_id = store, study_id
        self.round: int | None = None
        self.phase = ""

    def record_llm_call(self, record: Any) -> None:
        data = record.to_dict() if hasattr(record, "to_dict") else dict(record)
        data["phase"] = self.phase
        self.store.add_llm_call(self.study_id, self.round, data)


def split_run_ref(ref: str) -> tuple[str, str | None]:
    """``path.sqlite`` or ``path.sqlite#study``."""
    path, _, study = ref.partition("#")
    return path, study or None


def load_recorded_calls(ref: str) -> list[Any]:
    """Every recorded call of a stored run (``path[#study]``), in order, as CallRecords."""
    from .llm import CallRecord

    path, study = split_run_ref(ref)
    if not Path(path).exists():
        raise ConfigError(f"--llm replay:{ref}: run store {path!r} not found; give the .sqlite of a finished LLM run")
    with Store(path, create=False, readonly=True) as st:
        info = st.get_study(study)
        calls = st.llm_calls(info.id)
    if not calls:
        raise ConfigError(f"--llm replay:{ref}: that run recorded no LLM calls; replay needs a run of an LLM strategy")
    return [CallRecord.from_dict(c) for c in calls if not c.get("error")]


def llm_settings(cfg_llm: dict[str, Any] | None):  # type: ignore[no-untyped-def]
    from pydantic import ValidationError

    from .llm import LLMSettings

    try:
        return LLMSettings.model_validate(cfg_llm or {})
    except ValidationError as exc:
        e = exc.errors()[0]
        raise ConfigError(f"llm.{'.'.join(map(str, e['loc']))}: {e['msg']} (valid keys: {', '.join(LLMSettings.model_fields)})") from None


def make_run_client(settings: Any, store: Store, study_id: int, resume_from: tuple[int, str] | None):
    """The client for a run from its typed settings (``RunConfig.llm_settings()``);
    ``resume_from`` = (round, phase) of the interrupted step, whose recorded calls are served
    again before the live model is asked anything."""
    from .llm import make_client

    sink = StoreSink(store, study_id)
    if settings.backend == "replay":
        return make_client(settings, sink=sink, replay=load_recorded_calls), sink
    if resume_from is not None:
        from .llm import CallRecord

        rnd, phase = resume_from
        calls = [CallRecord.from_dict(c) for c in store.llm_calls(study_id)
                 if c.get("_round") == rnd and c.get("phase") == phase and not c.get("error")]
        if calls:
            settings = settings.model_copy(update={"replay_strict": False})
            return make_client(settings, sink=sink, replay=calls, replay_then_live=True), sink
    return make_client(settings, sink=sink), sink
