"""Which LLM server and API-key variable a resumed run may use.

A run file says where its LLM requests went (``llm.base_url``, ``llm.endpoints``) and which
environment variable held the key (``llm.api_key_env``). Resuming a run file that someone else
wrote would otherwise send *your* value of that variable to *their* server. So a resume uses a
stored endpoint or key variable only when this command line names it (``--llm-base-url``,
``--llm-api-key-env``, which may also point the run somewhere else) or the user confirms the
stored ones with ``--trust-stored-llm``; otherwise it stops with one line saying both.
"""

from __future__ import annotations

from typing import Any

from .errors import ConfigError
from .redact import redact_url


def stored_endpoints(llm: dict[str, Any] | None) -> tuple[list[str], list[str]]:
    """(endpoint URLs, API-key variable names) a stored ``llm`` section would use."""
    llm = llm or {}
    if llm.get("backend") in (None, "embedded", "replay") and not llm.get("endpoints"):
        return [], []
    urls = [str(llm["base_url"])] if llm.get("base_url") else []
    keys = [str(llm["api_key_env"])] if llm.get("api_key_env") else []
    for e in llm.get("endpoints") or []:
        if isinstance(e, dict):
            if e.get("base_url") and str(e["base_url"]) not in urls:
                urls.append(str(e["base_url"]))
            if e.get("api_key_env") and str(e["api_key_env"]) not in keys:
                keys.append(str(e["api_key_env"]))
    return urls, keys


def confirm_llm(llm: dict[str, Any] | None, study: str, *, base_url: str | None = None,
                api_key_env: str | None = None, trust: bool = False) -> dict[str, Any] | None:
    """The ``llm`` section a resume may use; raises :class:`ConfigError` when the stored one
    names an endpoint or key variable that this command line did not name or confirm."""
    if llm is None:
        return llm
    if trust:
        hidden = [u for u in stored_endpoints(llm)[0] if "***@" in u]
        if hidden and not base_url:
            raise ConfigError(f"study {study!r} used {hidden[0]}, whose credentials were not stored; name the "
                              "endpoint again with --llm-base-url")
        if not base_url and not api_key_env:
            return llm
    out = dict(llm)
    if base_url:
        named = [u.strip() for u in base_url.split(",") if u.strip()]
        urls, _ = stored_endpoints(out)
        if named != urls:  # pointed elsewhere: the named endpoints replace the stored ones
            out["base_url"] = named[0]
            out["endpoints"] = [{"base_url": u} for u in named] if len(named) > 1 else None
            if out.get("backend") not in ("openai",):
                out["backend"] = "openai"
    if api_key_env:
        out["api_key_env"] = api_key_env
        if out.get("endpoints"):
            out["endpoints"] = [{**e, "api_key_env": None} for e in out["endpoints"]]
    urls, keys = stored_endpoints(out)
    named_urls = [u.strip() for u in (base_url or "").split(",") if u.strip()]
    unnamed_urls = [u for u in urls if u not in named_urls]
    unnamed_keys = [k for k in keys if k != api_key_env]
    if unnamed_urls or unnamed_keys:
        shown = ",".join(redact_url(u) for u in urls)
        parts = [f"--llm-base-url {shown}"] if unnamed_urls else []
        parts += [f"--llm-api-key-env {keys[0] if len(keys) == 1 else 'NAME'}"] if unnamed_keys else []
        what = f"to {shown}" + (f" with the API key in ${', $'.join(keys)}" if keys else "")
        raise ConfigError(f"study {study!r} sends its LLM requests {what}, as its run file says; a run file from "
                          f"someone else could send your key to their server, so name them on this command line: "
                          f"{' '.join(parts)} (or point it at your own server), or pass --trust-stored-llm")
    return out


def describe_llm(llm: dict[str, Any] | None) -> str:
    """One line for ``show``: backend, model, endpoint(s) and the API-key variable's name."""
    llm = llm or {}
    backend = llm.get("backend") or "embedded"
    if backend == "replay":
        return f"replay of {llm.get('replay_run')}"
    urls, keys = stored_endpoints(llm)
    line = f"{backend}, model {llm.get('model')}"
    if urls:
        line += ", endpoint " + ", ".join(redact_url(u) for u in urls)
    if backend != "embedded":
        line += ", API key from " + (", ".join(f"${k}" for k in keys) if keys else "no variable (none sent)")
    return line
