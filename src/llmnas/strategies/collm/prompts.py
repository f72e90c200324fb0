"""Prompt templates as package-data files with strict ``{placeholder}`` fields.

A template is ``prompts/<name>.md`` (or ``<prompt_dir>/<name>.md``, which overrides the packaged
file of the same name). :func:`render` fails with a one-line :class:`ConfigError` when a field
of the template gets no value, or a value is given that the template does not use, so a
template and its caller cannot drift apart silently. Literal braces are written ``{{`` ``}}``.
"""

from __future__ import annotations

import string
from importlib import resources
from pathlib import Path
from typing import Any

from ...errors import ConfigError

TEMPLATES = ("navigator_system", "navigator_init", "navigator_refine", "generator_system",
             "navigator_previous", "generator_user", "sillm_system", "sillm_generate", "rank_poc",
             "arch_format_json", "arch_format_code", "reply_format_paper", "reply_format_brief",
             "generator_local", "sillm_generate_local", "generator_again", "navigator_refine_compact",
             "navigator_refine_stats")


def load(name: str, prompt_dir: str | Path | None = None) -> str:
    """Text of template ``name``: the user's override when present, else the packaged one."""
    if prompt_dir is not None:
        user = Path(prompt_dir) / f"{name}.md"
        if user.is_file():
            return user.read_text(encoding="utf-8")
    ref = resources.files(__package__).joinpath("prompts", f"{name}.md")
    if not ref.is_file():
        raise ConfigError(f"prompt template {name!r} not found (known: {', '.join(TEMPLATES)}); "
                          "reinstall llmnas or fix the prompt_dir file name")
    return ref.read_text(encoding="utf-8")


def fields(text: str, name: str = "template") -> set[str]:
    """The placeholder names of a template; only plain ``{name}`` fields are allowed."""
    out = set()
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise ConfigError(f"prompt template {name!r} is malformed ({exc}); write literal braces as {{{{ }}}}") from None
    for _, field, spec, conv in parsed:
        if field is None:
            continue
        if not field.isidentifier() or spec or conv:
            raise ConfigError(f"prompt template {name!r}: placeholder {{{field}}} must be a plain name "
                              "(no index, attribute, format spec or conversion)")
        out.add(field)
    return out


def render(name: str, prompt_dir: str | Path | None = None, /, **values: Any) -> str:
    """Render template ``name`` with exactly its placeholders (missing or unused ones fail)."""
    text = load(name, prompt_dir)
    wanted = fields(text, name)
    missing, unused = wanted - set(values), set(values) - wanted
    if missing or unused:
        parts = []
        if missing:
            parts.append(f"no value for {', '.join(sorted(missing))}")
        if unused:
            parts.append(f"unused value(s) {', '.join(sorted(unused))}")
        raise ConfigError(f"prompt template {name!r}: {'; '.join(parts)}; the template and its caller "
                          "must name the same placeholders")
    return text.format(**{k: str(v) for k, v in values.items()}).strip()
