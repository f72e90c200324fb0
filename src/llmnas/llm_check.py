"""The ``llm:`` section of a run config, checked before anything is written.

An unknown key, a bad value, or a secret (``api_key``, ``token``, ...) written into the config
is refused with one line that never repeats the value, so a key typed into a YAML file is not
stored with the run, nor echoed to the terminal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .llm.base import LLMSettings

SECRET_WORDS = ("api_key", "apikey", "key", "token", "secret", "password", "authorization", "bearer")


def _secret_keys(obj: Any, where: str = "llm") -> list[str]:
    found = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            name = str(k).lower().replace("-", "_")
            if name != "api_key_env" and any(name == w or name.endswith("_" + w) for w in SECRET_WORDS):
                found.append(f"{where}.{k}")
            found += _secret_keys(v, f"{where}.{k}")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            found += _secret_keys(v, f"{where}.{i}")
    return found


def check_llm_section(llm: dict[str, Any]) -> "LLMSettings":
    """``llm`` typed as :class:`~llmnas.llm.LLMSettings` when it is valid; else ValueError."""
    import pydantic

    from .llm.base import LLMSettings

    secrets = _secret_keys(llm)
    if secrets:
        raise ValueError(f"{secrets[0].removeprefix('llm.')} would store a secret in the run; put the key in an environment variable "
                         "and give its NAME as llm.api_key_env (or --llm-api-key-env)")
    try:
        return LLMSettings.model_validate(llm)
    except pydantic.ValidationError as exc:
        e = exc.errors()[0]
        loc = ".".join(str(p) for p in e["loc"])
        if e["type"] == "extra_forbidden":
            raise ValueError(f"unknown key {loc!r} (valid keys: {', '.join(LLMSettings.model_fields)})") from None
        raise ValueError(f"{loc}: {e['msg']}") from None
