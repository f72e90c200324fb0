"""Building clients: ``--llm`` flag parsing and :func:`make_client`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pydantic

from llmnas.errors import ConfigError
from llmnas.llm.base import CallRecord, CallSink, LLMSettings, Transport
from llmnas.llm.client import ChatClient
from llmnas.llm.embedded import EmbeddedTransport
from llmnas.llm.openai_compat import OpenAITransport, read_api_key
from llmnas.llm.replay import ReplayTransport

LLM_CHOICES = ("embedded", "embedded:<name or path.gguf>", "openai (with --llm-base-url)",
               "openai:<model id>", "replay:<run path>")
Records = Sequence[CallRecord] | Callable[[str], Sequence[CallRecord]]
DEFAULT_MODEL: str = LLMSettings.model_fields["model"].default


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
    if kind == "embedded":
        if base_url:
            raise ConfigError("--llm-base-url needs --llm openai; drop it to use the embedded model")
        fields.update(backend="embedded", model=arg or model or DEFAULT_MODEL)
    elif kind == "openai":
        if not base_url:
            raise ConfigError("--llm openai needs --llm-base-url, e.g. http://127.0.0.1:8000/v1")
        urls = [u.strip() for u in base_url.split(",") if u.strip()]
        fields.update(backend="openai", model=arg or model or "auto", base_url=urls[0])
        if len(urls) > 1:  # an endpoint pool: --llm-base-url URL1,URL2,...
            fields["endpoints"] = [{"base_url": u} for u in urls]
    elif kind == "replay" and arg:
        fields.update(backend="replay", replay_run=arg)
        if model:
            fields["model"] = model
    else:
        raise ConfigError(f"unknown --llm value {llm!r}; choose one of: {', '.join(LLM_CHOICES)}")
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
    if settings.backend == "embedded":
        return EmbeddedTransport(settings)
    if settings.endpoints or settings.max_concurrency:
        from llmnas.llm.pool import make_pool

        return make_pool(settings)
    if not settings.base_url:
        raise ConfigError("llm backend 'openai' needs base_url (--llm-base-url), "
                          "e.g. http://127.0.0.1:8000/v1")
    return OpenAITransport(settings, base_url=settings.base_url, model=settings.model,
                           api_key=read_api_key(settings))


def _records(replay: Records | None, settings: LLMSettings) -> list[CallRecord]:
    if replay is None:
        raise ConfigError("replay needs the recorded LLM calls; pass the run's records "
                          "(make_client(..., replay=...)) or use --llm replay:<run path>")
    if callable(replay):
        if not settings.replay_run:
            raise ConfigError("replay needs llm.replay_run, the path of the run to replay")
        return list(replay(settings.replay_run))
    return list(replay)
