"""Lenient extraction of JSON from model replies, schema validation, reasoning separation.

Each function returns a reason instead of raising, so the client can record it and re-ask.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import jsonschema

_THINK = re.compile(r"<think>(.*?)(?:</think>|$)", re.DOTALL | re.IGNORECASE)
_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[ \t]*\n?(.*?)(?:```|$)", re.DOTALL)
_WORDS = {"true": "true", "false": "false", "null": "null",
          "True": "true", "False": "false", "None": "null"}


@dataclass(frozen=True)
class ParseResult:
    """``status`` is ``ok`` (strict JSON), ``repaired`` (needed leniency) or ``failed``."""

    value: Any
    status: str
    reason: str


def split_reasoning(text: str, reasoning: str = "") -> tuple[str, str]:
    """Move ``<think>…</think>`` blocks out of ``text``; join them to an existing ``reasoning``."""
    found = [m.group(1).strip() for m in _THINK.finditer(text)]
    if not found:
        return text.strip(), reasoning.strip()
    answer = _THINK.sub("", text).strip()
    parts = [p for p in [reasoning.strip(), *found] if p]
    return answer, "\n\n".join(parts)


def parse_json(text: str, schema: dict[str, Any] | None = None) -> ParseResult:
    """Parse a JSON value from a reply, leniently, and validate it against ``schema``.

    Tried in order: the whole text as JSON; then each fenced block and the first balanced
    ``{…}`` / ``[…]`` span, each normalised (single quotes, trailing commas, ``True``/``None``).
    A value nested too deeply for the JSON decoder fails with that reason (never raises).
    """
    try:
        return _parse_json(text, schema)
    except RecursionError:
        return ParseResult(None, "failed", "json: nested too deeply to decode")


def _parse_json(text: str, schema: dict[str, Any] | None) -> ParseResult:
    stripped = text.strip()
    try:
        return _validated(json.loads(stripped), "ok", schema)
    except ValueError:
        pass
    last_reason = "no JSON value found in the reply"
    for candidate in _candidates(stripped):
        normalised, reason = _normalise(candidate)
        if normalised is None:
            last_reason = reason
            continue
        try:
            value = json.loads(normalised)
        except ValueError as exc:
            last_reason = f"json: {exc.msg} at char {exc.pos}"
            continue
        return _validated(value, "repaired", schema)
    return ParseResult(None, "failed", last_reason)


def validate_schema(value: Any, schema: dict[str, Any]) -> str | None:
    """None when ``value`` satisfies ``schema``, else a one-line reason fit to show a model."""
    validator_cls = jsonschema.validators.validator_for(schema)
    error = jsonschema.exceptions.best_match(validator_cls(schema).iter_errors(value))
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path) or "top level"
    return f"schema: {error.message} (at {where})"


def check_schema(schema: dict[str, Any]) -> str | None:
    """None when ``schema`` itself is a valid JSON schema, else the reason."""
    try:
        jsonschema.validators.validator_for(schema).check_schema(schema)
    except jsonschema.exceptions.SchemaError as exc:
        return exc.message
    return None


def _validated(value: Any, status: str, schema: dict[str, Any] | None) -> ParseResult:
    reason = validate_schema(value, schema) if schema is not None else None
    if reason is not None:
        return ParseResult(value, "failed", reason)
    return ParseResult(value, status, "" if status == "ok" else "lenient parse")


def _candidates(text: str) -> list[str]:
    """Fenced blocks first, then the span from the first bracket to its match (or the end)."""
    out = [m.group(2).strip() for m in _FENCE.finditer(text) if m.group(2).strip()]
    for source in [*out, text]:
        span = _bracket_span(source)
        if span and span not in out:
            out.append(span)
    return out


def _bracket_span(text: str) -> str | None:
    starts = [i for i in (text.find("{"), text.find("[")) if i >= 0]
    if not starts:
        return None
    start = min(starts)
    depth, quote, i = 0, "", start
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
            if depth == 0:
                return text[start:i + 1]
        i += 1
    return text[start:]  # unbalanced: let the normaliser report the truncation


def _normalise(text: str) -> tuple[str | None, str]:
    """Rewrite near-JSON (Python literals, single quotes, trailing commas) as JSON."""
    out: list[str] = []
    stack: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in "\"'":
            end, body = _read_string(text, i)
            if end < 0:
                return None, f"json: unterminated string at char {i} (reply cut off?)"
            out.append(json.dumps(body))
            i = end
            continue
        if ch in "{[":
            stack.append("}" if ch == "{" else "]")
        elif ch in "}]":
            if not stack or stack.pop() != ch:
                return None, f"json: unbalanced '{ch}' at char {i}"
            while out and out[-1].strip() in ("", ","):
                if out.pop().strip() == ",":
                    break
        elif ch.isalpha() or ch == "_":
            j = i
            while j < n and (text[j].isalnum() or text[j] == "_"):
                j += 1
            word = text[i:j]
            if word not in _WORDS:
                return None, f"json: unexpected word {word!r} at char {i}"
            out.append(_WORDS[word])
            i = j
            continue
        out.append(ch)
        i += 1
    if stack:
        return None, f"json: {len(stack)} unclosed bracket(s) at the end (reply cut off?)"
    return "".join(out), ""


def _read_string(text: str, start: int) -> tuple[int, str]:
    """Read a quoted string starting at ``start``; return (index after it, its value) or (-1, "")."""
    quote, i, chars = text[start], start + 1, []
    escapes = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "/": "/"}
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            if nxt == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", text[i + 2:i + 6]):
                chars.append(chr(int(text[i + 2:i + 6], 16)))
                i += 6
                continue
            chars.append(escapes.get(nxt, nxt))
            i += 2
            continue
        if ch == quote:
            return i + 1, "".join(chars)
        chars.append(ch)
        i += 1
    return -1, ""
