"""The LLM back-end registry: what ``--llm NAME[:ARG]`` means and which transport serves it.

A back-end is one :class:`Backend` registered here (or by a plug-in): ``fields`` turns the
``--llm`` argument and the ``--llm-model`` / ``--llm-base-url`` flags into settings fields, and
``transport`` builds the live transport for those settings (None for a back-end that only
serves recorded calls, as ``replay`` does). :class:`~llmnas.llm.base.LLMSettings` accepts any
registered name, :func:`~llmnas.llm.factory.parse_llm_spec` and
:func:`~llmnas.llm.factory.make_client` look it up here; adding a back-end touches no other file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from ..registry import Registry

if TYPE_CHECKING:
    from .base import LLMSettings, Transport


@dataclass(frozen=True)
class Backend:
    name: str
    #: how ``--llm`` spells it, for help and errors (e.g. ``openai:<model id>``)
    usage: tuple[str, ...]
    #: (ARG of ``--llm NAME:ARG`` or "", model flag, base-url flag) -> settings fields
    fields: Callable[[str, str | None, str | None], dict[str, Any]]
    #: settings -> live transport; None when the back-end serves recorded calls only
    transport: Callable[["LLMSettings"], "Transport"] | None = None


BACKENDS: Registry[Backend] = Registry("llm backend")


def register_backend(backend: Backend) -> Backend:
    BACKENDS.register(backend.name)(backend)
    return backend


def usage() -> tuple[str, ...]:
    """Every registered ``--llm`` spelling, in registration order."""
    return tuple(u for b in BACKENDS.in_order() for u in b.usage)


# ----- the built-in back-ends ------------------------------------------------------------------
def _embedded_fields(arg: str, model: str | None, base_url: str | None) -> dict[str, Any]:
    from .base import LLMSettings

    if base_url:
        raise ConfigError("--llm-base-url needs --llm openai; drop it to use the embedded model")
    return {"model": arg or model or LLMSettings.model_fields["model"].default}


def _embedded_transport(settings: "LLMSettings") -> "Transport":
    from .embedded import EmbeddedTransport

    return EmbeddedTransport(settings)


def _openai_fields(arg: str, model: str | None, base_url: str | None) -> dict[str, Any]:
    if not base_url:
        raise ConfigError("--llm openai needs --llm-base-url, e.g. http://127.0.0.1:8000/v1")
    urls = [u.strip() for u in base_url.split(",") if u.strip()]
    fields: dict[str, Any] = {"model": arg or model or "auto", "base_url": urls[0]}
    if len(urls) > 1:  # an endpoint pool: --llm-base-url URL1,URL2,...
        fields["endpoints"] = [{"base_url": u} for u in urls]
    return fields


def _openai_transport(settings: "LLMSettings") -> "Transport":
    if settings.endpoints or settings.max_concurrency:
        from .pool import make_pool

        return make_pool(settings)
    if not settings.base_url:
        raise ConfigError("llm backend 'openai' needs base_url (--llm-base-url), "
                          "e.g. http://127.0.0.1:8000/v1")
    from .openai_compat import OpenAITransport, read_api_key

    return OpenAITransport(settings, base_url=settings.base_url, model=settings.model,
                           api_key=read_api_key(settings))


def _replay_fields(arg: str, model: str | None, base_url: str | None) -> dict[str, Any]:
    if not arg:
        raise ConfigError("--llm replay needs the run to replay: --llm replay:<run path>")
    return {"replay_run": arg, **({"model": model} if model else {})}


register_backend(Backend("embedded", ("embedded", "embedded:<name or path.gguf>"), _embedded_fields,
                         _embedded_transport))
register_backend(Backend("openai", ("openai (with --llm-base-url)", "openai:<model id>"), _openai_fields,
                         _openai_transport))
register_backend(Backend("replay", ("replay:<run path>",), _replay_fields))
