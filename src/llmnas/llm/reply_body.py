"""Reading an HTTP 200 chat-completion body that may be anything a faulty server or proxy sends.

:func:`read_completion` never raises on the body: a reply that is not a usable chat completion
(not JSON, an HTML page, an error object, ``choices`` missing or null, content of an unknown
shape) becomes a :class:`~llmnas.llm.base.Completion` whose ``problem`` says what was wrong,
which the client records as an unusable reply and asks again (a bounded number of times).
Token counts that are not plausible numbers are counted as 0 and noted, never stored as given.
"""

from __future__ import annotations

import json
import math
from typing import Any, Callable

from llmnas.llm.base import Completion, Usage

MAX_TOKENS_REPORTED = 10 ** 9  # a count above this is not a real count


def read_completion(body: bytes, content_type: str, *, default_model: str, latency_s: float, retries: int,
                    structured: str, redact: Callable[[str], str],
                    timing_keys: tuple[str, ...]) -> Completion:
    """The completion in ``body``; see the module docstring."""
    def bad(problem: str) -> Completion:
        return Completion("", model=default_model, latency_s=latency_s, retries=retries, structured=structured,
                          problem=problem)

    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        what = content_type.split(";")[0].strip() or "no content type"
        return bad(f"the server's HTTP 200 reply is not JSON ({what}: {_snippet(redact, body)})")
    return read_data(data, default_model=default_model, latency_s=latency_s, retries=retries,
                     structured=structured, redact=redact, timing_keys=timing_keys)


def read_data(data: Any, *, default_model: str, latency_s: float, retries: int, structured: str,
              redact: Callable[[str], str], timing_keys: tuple[str, ...]) -> Completion:
    """The completion in a reply body already parsed as JSON (or rebuilt from a stream)."""
    def bad(problem: str) -> Completion:
        return Completion("", model=default_model, latency_s=latency_s, retries=retries, structured=structured,
                          problem=problem)

    if not isinstance(data, dict):
        return bad(f"the server's reply is JSON but not an object ({type(data).__name__})")
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        err = data.get("error")
        if err is not None:
            msg = err.get("message", err) if isinstance(err, dict) else err
            return bad(f"the server answered HTTP 200 with an error ({_snippet(redact, str(msg))})")
        return bad(f"the server's reply has no choices (choices: {_snippet(redact, json.dumps(choices))})")
    choice = choices[0]
    message = choice.get("message") if isinstance(choice.get("message"), dict) else {}
    text = _content(message.get("content"))
    if text is None:
        return bad(f"the reply's message content is neither text nor a list of text parts "
                   f"({type(message.get('content')).__name__})")
    reasoning = _content(message.get("reasoning_content")) or _content(message.get("reasoning")) or ""
    usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
    prompt, p_ok = _count(usage.get("prompt_tokens"))
    completion, c_ok = _count(usage.get("completion_tokens"))
    timings = data.get("timings") if isinstance(data.get("timings"), dict) else None
    if timings:
        timings = {k: float(timings[k]) for k in timing_keys if _finite(timings.get(k))} or None
    model = data.get("model")
    finish = choice.get("finish_reason")
    return Completion(
        text=text, reasoning=reasoning, usage=Usage(prompt, completion, _cached_tokens(usage, timings)),
        model=model if isinstance(model, str) and model else default_model,
        latency_s=latency_s, finish_reason=finish if isinstance(finish, str) else "",
        retries=retries, structured=structured, timings=timings,
        note="" if p_ok and c_ok else "the server's token counts were not plausible numbers; counted as 0",
    )


def _content(value: Any) -> str | None:
    """Text content: a string, null, or OpenAI-style parts ``[{"type": "text", "text": ...}]``."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(p, dict) for p in value):
        parts = [p.get("text") for p in value if p.get("type", "text") == "text"]
        if all(isinstance(t, str) for t in parts):
            return "".join(parts)  # type: ignore[arg-type]
    return None


def _count(value: Any) -> tuple[int, bool]:
    """A token count: (value, True) when it is a plausible integer, else (0, False); absent is 0."""
    if value is None:
        return 0, True
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not _finite(value):
        return 0, False
    if value < 0 or value > MAX_TOKENS_REPORTED or int(value) != value:
        return 0, False
    return int(value), True


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _snippet(redact: Callable[[str], str], raw: bytes | str, n: int = 120) -> str:
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    flat = " ".join(redact(text[:4 * n]).split())
    return (flat[:n] + "...") if len(flat) > n else (flat or "empty")


def _cached_tokens(usage: dict[str, Any], timings: dict[str, float] | None) -> int:
    """Prompt tokens served from the server's cache: OpenAI's ``prompt_tokens_details``
    (vLLM, llama.cpp, hosted APIs), else llama.cpp's ``timings.cache_n``; 0 when unreported."""
    details = usage.get("prompt_tokens_details") or {}
    value = details.get("cached_tokens") if isinstance(details, dict) else None
    if value is None and timings:
        value = timings.get("cache_n")
    try:
        return max(0, int(value or 0))
    except (TypeError, ValueError):
        return 0
