"""Building clients: ``--llm`` flag parsing and :func:`make_client`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pydantic

from llmnas.errors import ConfigError
from llmnas.llm.base import CallRecord, CallSink, LLMSettings, Transport
from llmnas.llm.backends import BACKENDS, usage as backend_usage
from llmnas.llm.client import ChatClient
from llmnas.llm.replay import ReplayTransport

Records = Sequence[CallRecord] | Callable[[str], Sequence[CallRecord]]


def parse_llm_spec(llm: str | None, *, model: str | None = None, base_url: str | None = None,
                   api_key_env: str | None = None, **overrides: Any) -> LLMSettings:
    """Turn ``--llm`` / ``--llm-model`` / ``--llm-base-url`` / ``--llm-api-key-env`` into settings.

    ``llm`` is ``embedded`` (the default; ``embedded:<name or .gguf>`` picks the model),
    ``openai`` (needs ``base_url``; ``openai:<model>`` names the model, else ``--llm-model``,
    else ``auto``) or ``replay:<run path>``. ``overrides`` are further settings fields; None
    values are ignored. With no ``llm`` but a ``base_url``, the backend is ``openai``.
    """
    kind, _, arg = (llm or ("openai" if base_url else "embedded")).strip().partition(":")
    fields: dict[str, Any] = {k: v for k, v in overrides.items() if v is not None}
    if arg and model and arg != model:
        raise ConfigError(f"--llm {llm} and --llm-model {model} name different models; "
                          "give the model once")
    if kind not in BACKENDS:
        raise ConfigError(f"unknown --llm value {llm!r}; choose one of: {', '.join(backend_usage())}")
    fields.update(backend=kind, **BACKENDS.get(kind).fields(arg, model, base_url))
    if api_key_env:
        fields["api_key_env"] = api_key_env
    try:
        return LLMSettings(**fields)
    except pydantic.ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        msg = str(err["msg"]).removeprefix("Value error, ")
        keys = f"; valid keys: {', '.join(LLMSettings.model_fields)}" if err["type"] == "extra_forbidden" else ""
        raise ConfigError(f"invalid llm setting {where}: {msg}{keys}") from None


def make_client(settings: LLMSettings, *, sink: CallSink | None = None,
                replay: Records | None = None, replay_then_live: bool = False) -> ChatClient:
    """The client for ``settings``; nothing is loaded or contacted until the first ``chat``.

    ``replay`` is the recorded calls (or a loader called with ``settings.replay_run``). Backend
    ``replay`` serves only them and records the served calls (marked ``cached``) to ``sink``.
    ``replay_then_live`` (for resume) serves them first, then the live backend answers; the
    replayed calls are not recorded again.
    """
    if settings.backend == "replay":
        records = _records(replay, settings)
        transport: Transport = ReplayTransport(records, strict=settings.replay_strict,
                                               source=settings.replay_run or "the recorded run")
        return ChatClient(settings, transport, sink=sink)
    live = _live(settings)
    if not replay_then_live:
        return ChatClient(settings, live, sink=sink)
    transport = ReplayTransport(_records(replay, settings), live=live,
                                strict=settings.replay_strict,
                                source=settings.replay_run or "the resumed run")
    return ChatClient(settings, transport, sink=sink, record_cached=False)


def _live(settings: LLMSettings) -> Transport:
    build = BACKENDS.get(settings.backend).transport
    if build is None:
        raise ConfigError(f"llm backend {settings.backend!r} serves recorded calls only; it cannot answer live")
    return build(settings)


def _records(replay: Records | None, settings: LLMSettings) -> list[CallRecord]:
    if replay is None:
        raise ConfigError("replay needs the recorded LLM calls; pass the run's records "
                          "(make_client(..., replay=...)) or use --llm replay:<run path>")
    if callable(replay):
        if not settings.replay_run:
            raise ConfigError("replay needs llm.replay_run, the path of the run to replay")
        return list(replay(settings.replay_run))
    return list(replay)
