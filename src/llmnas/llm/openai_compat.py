"""Transport for any OpenAI-compatible ``/v1`` endpoint (vLLM, Ollama, llama.cpp, SGLang, hosted).

One retry layer, for transient faults only (connection errors, timeouts, 408/409/429/5xx),
with exponential back-off and jitter bounded by ``max_retries`` and ``retry_max_wait_s``.
The API key is read from the environment variable named by ``api_key_env`` when the
transport is built and is kept only inside the ``openai`` client object.
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import time
from typing import Any, Callable

import openai

from llmnas import progress_events
from llmnas.errors import ConfigError, EndpointError
from llmnas.llm.base import Completion, LLMSettings, Request
from llmnas.llm.http_guard import http_client, limits
from llmnas.llm.reply_body import read_completion, read_data
from llmnas.redact import redact_url

_RETRY_STATUS = {408, 409, 429}
_TIMING_KEYS = ("prompt_n", "prompt_ms", "prompt_per_second",
                "predicted_n", "predicted_ms", "predicted_per_second", "cache_n",
                "draft_n", "draft_n_accepted")
PROMPT_SCHEMA_NOTE = "\n\nReply with only a JSON value that matches this JSON schema:\n{schema}"


def read_api_key(settings: LLMSettings) -> str | None:
    """The value of the variable named by ``api_key_env`` (None when no name is set)."""
    if not settings.api_key_env:
        return None
    value = os.environ.get(settings.api_key_env, "")
    if not value:
        raise ConfigError(f"environment variable {settings.api_key_env} (named by "
                          f"--llm-api-key-env) is not set; export it with your API key")
    return value


class OpenAITransport:
    """Sends chat requests with the official ``openai`` client; see the module docstring."""

    name = "openai"

    def __init__(self, settings: LLMSettings, *, base_url: str, model: str,
                 api_key: str | None, schema_modes: tuple[str, ...] = ("json_schema", "prompt"),
                 label: str = "LLM endpoint",
                 fix: str = "start the server or fix --llm-base-url",
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings
        self.endpoint = redact_url(base_url.rstrip("/"))  # printable: no user:password@ (kept for requests only)
        self.model = model
        self._label = label
        self._fix = fix
        self._secret = api_key
        self._modes = list(schema_modes if settings.structured_output == "auto" else ("prompt",))
        self._sleep = sleep
        self._rng = random.Random()  # jitter only; never affects results
        self._client = openai.OpenAI(base_url=base_url.rstrip("/"), api_key=api_key or "none",
                                     max_retries=0, timeout=settings.timeout_s,
                                     http_client=http_client(timeout=settings.timeout_s))
        self._stream = True  # stream while a progress listener wants tokens; off once refused

    def __repr__(self) -> str:
        return f"OpenAITransport(endpoint={self.endpoint!r}, model={self.model!r})"

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._client.close()

    def complete(self, request: Request) -> Completion:
        """Send one request; fall back to the next schema mode when the server rejects one."""
        model = self._resolve_model(request.timeout_s)
        for _ in range(len(self._modes) + 1):
            mode = self._modes[0] if request.schema is not None else "none"
            kwargs = self._kwargs(request, model, mode)
            start = time.perf_counter()
            try:
                response, retries = self._send(kwargs, request.timeout_s)
            except openai.BadRequestError as exc:
                if mode in ("none", "prompt"):
                    raise EndpointError(self._rejected(exc)) from None
                self._modes.pop(0)  # this server cannot do it: remember for later calls
                continue
            if response is None:  # over llm.max_reply_bytes: an unusable reply, not a fault
                return Completion("", model=self.model, latency_s=time.perf_counter() - start,
                                  retries=retries, structured=mode, problem=(
                                      f"the reply was larger than llm.max_reply_bytes="
                                      f"{self.settings.max_reply_bytes}; it was not read"))
            return self._completion(response, time.perf_counter() - start, retries, mode, request.slot)
        raise EndpointError(f"{self._label} {self.endpoint} rejected every way of asking for "
                            "structured output; set llm.structured_output to 'prompt'")

    def _kwargs(self, request: Request, model: str, mode: str) -> dict[str, Any]:
        params = {k: v for k, v in request.params.items() if v is not None}
        kwargs: dict[str, Any] = {"model": model, "messages": request.messages, **params}
        schema = request.schema
        if mode == "json_schema":
            kwargs["response_format"] = {"type": "json_schema",
                                         "json_schema": {"name": "reply", "schema": schema}}
        elif mode == "grammar":  # llama.cpp + llguidance: the schema with one-line separators
            compact = {**(schema or {}), "x-guidance": {"whitespace_flexible": False,
                                                        "item_separator": ", ",
                                                        "key_separator": ": "}}
            kwargs["extra_body"] = {"grammar": "%llguidance {}\nstart: %json " + json.dumps(compact)}
        elif mode == "prompt":
            messages = [dict(m) for m in request.messages]
            messages[-1]["content"] += PROMPT_SCHEMA_NOTE.format(schema=json.dumps(schema))
            kwargs["messages"] = messages
        if request.slot is not None:  # llama.cpp server: keep this purpose's KV cache in its slot
            kwargs["extra_body"] = {**kwargs.get("extra_body", {}), "id_slot": request.slot}
        return kwargs

    def _send(self, kwargs: dict[str, Any], timeout_s: float) -> tuple[Any, int]:
        """POST with bounded retries on transient faults; returns (raw HTTP response, retries
        used), the response None when it was over ``max_reply_bytes``. Each try has a wall-clock
        deadline of ``timeout_s`` for the whole reply (see :mod:`llmnas.llm.http_guard`)."""
        s = self.settings
        waited, last = 0.0, None
        for attempt in range(s.max_retries + 1):
            try:
                with limits(timeout_s, s.max_reply_bytes) as lim:
                    if self._stream and progress_events.wants_tokens():
                        return self._streamed(kwargs, timeout_s), attempt
                    raw = self._client.chat.completions.with_raw_response.create(timeout=timeout_s, **kwargs)
                    return raw.http_response, attempt
            except (openai.APIConnectionError, openai.APIStatusError) as exc:
                if lim.broken == "size":
                    return None, attempt
                if isinstance(exc, openai.APIStatusError) and not _transient(exc.status_code):
                    if isinstance(exc, openai.BadRequestError):
                        raise
                    raise EndpointError(self._rejected(exc)) from None
                if _redirect_loop(exc):
                    raise EndpointError(f"{self._label} {self.endpoint} redirects in a loop (HTTP 3xx "
                                        f"more than 20 times); fix --llm-base-url (it usually ends in /v1)") from None
                last = exc
            delay = min(s.backoff_max_s, s.backoff_base_s * 2 ** attempt)
            delay = max(delay * (0.5 + 0.5 * self._rng.random()), _retry_after(last))
            delay = min(delay, s.backoff_max_s)
            if attempt == s.max_retries or waited + delay > s.retry_max_wait_s:
                break
            self._sleep(delay)
            waited += delay
        raise EndpointError(self._gave_up(last, attempt + 1, timeout_s)) from None

    def _streamed(self, kwargs: dict[str, Any], timeout_s: float) -> Any:
        """The reply streamed, so :mod:`llmnas.progress_events` hears its tokens as they come;
        returned as the dict a non-streamed response's body holds. A server that refuses to
        stream is asked again without (the raw HTTP response is returned), and never streamed to again."""
        start = time.perf_counter()
        progress_events.tokens(0, 0.0, waiting=True)
        try:
            stream = self._client.chat.completions.create(
                timeout=timeout_s, stream=True, stream_options={"include_usage": True}, **kwargs)
        except openai.BadRequestError:
            self._stream = False
            return self._client.chat.completions.with_raw_response.create(timeout=timeout_s, **kwargs).http_response
        text: list[str] = []
        reasoning: list[str] = []
        data: dict[str, Any] = {"model": self.model, "usage": None, "timings": None}
        finish, n, chunks = "", 0, 0
        try:
            parts = [chunk.model_dump() for chunk in self._counted(stream, start)]
        except (openai.APIConnectionError, openai.APIStatusError):
            raise  # transient or not: _send decides, as for a plain request
        except openai.APIError as exc:  # an error event inside the stream
            raise EndpointError(f"{self._label} {self.endpoint} broke off a streamed reply "
                                f"({self.redact(str(exc))[:200]}); rerun or resume") from None
        for part in parts:
            chunks += 1
            data["model"] = part.get("model") or data["model"]
            data["usage"] = part.get("usage") or data["usage"]
            data["timings"] = part.get("timings") or data["timings"]
            for choice in part.get("choices") or []:
                delta = choice.get("delta") or {}
                piece = delta.get("content") or ""
                thought = delta.get("reasoning_content") or delta.get("reasoning") or ""
                if piece or thought:
                    text.append(piece)
                    reasoning.append(thought)
                    n += 1
                finish = choice.get("finish_reason") or finish
        if not chunks:  # not an event stream (a server that ignores "stream"): ask plainly from now on
            self._stream = False
            return self._client.chat.completions.with_raw_response.create(timeout=timeout_s, **kwargs).http_response
        if data["usage"] is None:  # a server that ignores include_usage: the chunk count
            data["usage"] = {"prompt_tokens": 0, "completion_tokens": n}
        message = {"content": "".join(text), "reasoning_content": "".join(reasoning)}
        return {**data, "choices": [{"message": message, "finish_reason": finish}]}

    @staticmethod
    def _counted(stream: Any, start: float) -> Any:
        """The stream's chunks, telling :mod:`llmnas.progress_events` the reply's tokens so far
        (OpenAI-compatible servers send about one token per chunk)."""
        n = 0
        for chunk in stream:
            if any(c.delta and (c.delta.content or getattr(c.delta, "reasoning_content", None))
                   for c in chunk.choices or []):
                n += 1
                progress_events.tokens(n, time.perf_counter() - start)
            yield chunk

    def _completion(self, response: Any, latency: float, retries: int, mode: str,
                    slot: int | None = None) -> Completion:
        """The completion in a raw HTTP 200 reply (or the dict rebuilt from a streamed one); a
        body that is not a usable chat completion (not JSON, an HTML page, an error object, no
        choices) gives one with ``problem`` set."""
        common = dict(default_model=self.model, latency_s=latency, retries=retries,
                      structured=mode, redact=self.redact, timing_keys=_TIMING_KEYS)
        if isinstance(response, dict):
            done = read_data(response, **common)
        else:
            done = read_completion(response.content, response.headers.get("content-type", ""), **common)
        return dataclasses.replace(done, slot=slot)

    def _resolve_model(self, timeout_s: float) -> str:
        """``auto``: the one model the endpoint lists (asked once)."""
        if self.model != "auto":
            return self.model
        try:
            with limits(timeout_s, self.settings.max_reply_bytes):
                ids = [str(m.id) for m in self._client.models.list(timeout=timeout_s)]
        except openai.APIStatusError as exc:
            raise EndpointError(self._rejected(exc)) from None
        except openai.APIConnectionError as exc:
            raise EndpointError(self._gave_up(exc, 1, timeout_s)) from None
        except (AttributeError, TypeError, ValueError, KeyError):
            raise EndpointError(f"{self._label} {self.endpoint} answered the model list with something "
                                "that is not a list of models; name the model with --llm-model") from None
        if len(ids) != 1:
            raise ConfigError(f"{self._label} {self.endpoint} serves {len(ids)} models "
                              f"({', '.join(ids[:5]) or 'none'}); choose one with --llm-model")
        self.model = ids[0]
        return self.model

    def redact(self, text: str) -> str:
        """``text`` with the API key (if any), and any 6+ character start or end of it that a
        server may echo ("sk-abc123..."), replaced by ``***``."""
        if not self._secret:
            return text
        key = self._secret
        for n in range(len(key), min(len(key), 6) - 1, -1):
            text = text.replace(key[:n], "***").replace(key[-n:], "***")
        return text

    def _rejected(self, exc: openai.APIStatusError) -> str:
        code = exc.status_code
        if code in (401, 403):
            var = self.settings.api_key_env or "(none given)"
            return (f"{self._label} {self.endpoint} rejected the API key (HTTP {code}); put a "
                    f"valid key in the variable named by --llm-api-key-env ({var})")
        if code == 404:
            return (f"{self._label} {self.endpoint} has no model {self.model!r} or no chat "
                    f"endpoint (HTTP 404); fix --llm-model or --llm-base-url (it usually ends in /v1)")
        detail = self.redact(_short(exc))
        return (f"{self._label} {self.endpoint} rejected the request (HTTP {code}: {detail}); "
                "check the model's limits (context length, max_tokens) and `llmnas llm check`")

    def _gave_up(self, exc: Exception | None, tries: int, timeout_s: float) -> str:
        where = f"{self._label} {self.endpoint}"
        if isinstance(exc, openai.APITimeoutError):
            return (f"{where} timed out after {tries} tries (no complete reply within {timeout_s:g} s each); raise "
                    "llm.timeout_s or lower max_tokens, then check with `llmnas llm check`")
        if isinstance(exc, openai.APIStatusError):
            return (f"{where} kept failing after {tries} tries (HTTP {exc.status_code}); wait "
                    "and resume, or raise llm.max_retries / llm.retry_max_wait_s")
        return (f"cannot reach {where} after {tries} tries ({_cause(exc)}); {self._fix}, "
                "then check with `llmnas llm check`")


def _transient(status: int) -> bool:
    return status in _RETRY_STATUS or status >= 500


def _redirect_loop(exc: Exception) -> bool:
    import httpx2

    return isinstance(exc.__cause__, httpx2.TooManyRedirects)


def _retry_after(exc: Exception | None) -> float:
    """Seconds from a ``Retry-After`` header, else 0."""
    response = getattr(exc, "response", None)
    try:
        return float(response.headers.get("retry-after", 0)) if response is not None else 0.0
    except (TypeError, ValueError):
        return 0.0


def _cause(exc: Exception | None) -> str:
    """A short description of why a connection failed."""
    seen = exc
    for _ in range(6):
        if seen is None:
            break
        if isinstance(seen, ConnectionRefusedError) or "refused" in str(seen).lower():
            return "connection refused"
        seen = seen.__cause__ or seen.__context__
    return f"connection error: {type(exc.__cause__ or exc).__name__}" if exc else "no answer"


def _short(exc: openai.APIStatusError) -> str:
    body = exc.body if isinstance(exc.body, dict) else {}
    inner = body.get("error")
    message = body.get("message") or (inner.get("message") if isinstance(inner, dict) else inner)
    text = str(message or exc.message or "")
    return " ".join(text.split())[:200]
