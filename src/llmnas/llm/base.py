"""The LLM layer's contract: settings, the reply, the call record, the sink and the client.

Who calls what, in which order
------------------------------
1. The CLI or ``llmnas.search()`` builds an :class:`LLMSettings` (the ``llm:`` section of the
   run config; :func:`llmnas.llm.parse_llm_spec` turns the ``--llm*`` flags into one) and calls
   :func:`llmnas.llm.make_client` with the run store as the :class:`CallSink`.
2. A strategy calls :meth:`LLMClient.chat` with chat messages, an optional JSON schema and an
   optional ``validate`` callback. The client sends the request (retrying transient endpoint
   faults), separates reasoning from the answer, parses and validates the answer, and, when
   the answer is unusable, re-asks a bounded number of times with the reason added to the
   conversation.
3. Every request that reached (or tried to reach) the model becomes one :class:`CallRecord`,
   handed to the sink *before* ``chat`` returns or raises: one per re-ask, one for a call that
   failed. The sink is the only place records go; the client keeps no log of its own.
4. The runner calls :meth:`LLMClient.close` at the end (the embedded server also stops at exit).

What must hold
--------------
* No secret is ever stored: :class:`LLMSettings` holds the *name* of the environment variable
  with the API key, and records, reprs and error messages never contain its value.
* ``chat`` either returns a usable :class:`Reply` (``parse_status`` is ``ok``, ``repaired`` or
  ``none``) or raises :class:`~llmnas.errors.EndpointError` (the endpoint kept failing) or
  :class:`~llmnas.errors.LLMReplyError` (the replies stayed unusable; the last reply is on the
  exception's ``reply`` attribute, so a strategy can count it and move on).
* Every loop is bounded: ``max_retries`` / ``retry_max_wait_s`` for endpoint faults,
  ``max_reasks`` for unusable replies.

Example
-------
>>> client = make_client(LLMSettings(model="smollm2-135m"), sink=store)    # doctest: +SKIP
>>> schema = {"type": "array", "items": {"enum": [0, 1, 2, 3, 4]}, "minItems": 6, "maxItems": 6}
>>> reply = client.chat([{"role": "user", "content": "Propose a cell."}], schema=schema,
...                     purpose="generator")                                # doctest: +SKIP
>>> reply.parsed, reply.parse_status, reply.usage.completion_tokens        # doctest: +SKIP
([3, 3, 1, 0, 3, 2], 'ok', 17)
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Protocol, runtime_checkable

import pydantic

Message = dict[str, str]
Validate = Callable[[Any], "str | None"]
PARSE_STATUSES = ("ok", "repaired", "failed", "none")


def check_base_url(url: str | None) -> str | None:
    """An http(s) URL with a host, else ValueError naming the problem."""
    if url is None:
        return url
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises on a bad port)
    except ValueError as exc:
        raise ValueError(f"base URL {url!r} is malformed ({exc}); write it like http://127.0.0.1:8000/v1") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"base URL {url!r} needs http:// or https:// and a host, e.g. http://127.0.0.1:8000/v1")
    return url


class EndpointSettings(pydantic.BaseModel, extra="forbid"):
    """One server of an endpoint pool (``llm.endpoints``); unset fields come from the llm section."""

    base_url: str
    model: str | None = None
    api_key_env: str | None = None
    max_concurrency: int | None = pydantic.Field(None, ge=1)

    @pydantic.field_validator("base_url")
    @classmethod
    def _check_url(cls, v: str) -> str | None:
        return check_base_url(v)


class LLMSettings(pydantic.BaseModel, extra="forbid"):
    """The ``llm:`` section of a run config. JSON-serialisable; contains no secret."""

    #: a registered back-end (``llm/backends.py``): embedded, openai, replay or a plug-in's
    backend: str = "embedded"
    #: named embedded model (see ``LLM_MODELS``), path to a ``.gguf`` file, or remote model id
    #: (``auto``: the only model the endpoint lists). The default is the packaged Qwen2.5-Coder-0.5B
    #: file with its block weights as Q4_0, made on first use (docs/llm.md, "A faster runtime form")
    model: str = "qwen2.5-coder-0.5b-q4_0"
    base_url: str | None = None
    #: NAME of the environment variable holding the API key; the value is never stored
    api_key_env: str | None = None
    #: several OpenAI-compatible servers used in parallel (``--llm-base-url URL1,URL2``), see
    #: ``llm/pool.py``; each request goes to the least busy one with a free slot
    endpoints: list[EndpointSettings] | None = None
    #: most requests in flight per endpoint, across the threads and processes of this machine
    max_concurrency: int | None = pydantic.Field(None, ge=1)
    #: path of a run store to replay from (backend ``replay``)
    replay_run: str | None = None
    #: replay: a request whose messages differ from the recorded ones raises (else: goes live
    #: in replay-then-live mode, or serves the recorded reply anyway in pure replay)
    replay_strict: bool = True

    temperature: float = pydantic.Field(0.7, ge=0.0)
    top_p: float = pydantic.Field(0.95, gt=0.0, le=1.0)
    max_tokens: int = pydantic.Field(1024, ge=1)
    seed: int | None = None
    stop: list[str] | None = None

    timeout_s: float = pydantic.Field(120.0, gt=0.0)  # wall-clock deadline of each try, whole reply
    #: a reply body larger than this is not read (counted as an unusable reply)
    max_reply_bytes: int = pydantic.Field(8_000_000, ge=1024)
    max_retries: int = pydantic.Field(10, ge=0)  # with the jittered back-off: outlasts a 1-minute outage
    backoff_base_s: float = pydantic.Field(1.0, ge=0.0)
    backoff_max_s: float = pydantic.Field(30.0, ge=0.0)
    #: total seconds of back-off sleep allowed per call before giving up
    retry_max_wait_s: float = pydantic.Field(120.0, ge=0.0)
    max_reasks: int = pydantic.Field(2, ge=0)

    #: how a schema reaches the model: ``auto`` tries the server's structured output and falls
    #: back to prompt + lenient parser when the server rejects it; ``prompt`` never sends it
    structured_output: Literal["auto", "prompt"] = "auto"
    #: embedded: force one-line JSON (``", "`` / ``": "`` separators), which saves tokens
    compact_json: bool = True

    n_ctx: int = pydantic.Field(8192, ge=256)  # per slot
    #: embedded: CPU threads (default: every usable core when the machine is otherwise idle,
    #: else one fewer, at most 8; ``llmnas bench`` gives each of W parallel runs cores // W)
    n_threads: int | None = pydantic.Field(None, ge=1)
    #: embedded: server slots, each with its own KV cache of ``n_ctx`` tokens; calls of one
    #: purpose (Navigator, Generator, ranker) stay in one slot, so a conversation that grows at
    #: the end is never re-read from the start (1: every purpose shares one slot)
    slots: int = pydantic.Field(2, ge=1, le=8)
    #: embedded: speculative decoding from n-grams of the prompt and reply so far (llama.cpp's
    #: ``ngram-simple``): drafts are checked by the model, so the text is the one it would
    #: write anyway, only sooner where it repeats itself (code lists). Off by default: once, with
    #: a grammar-constrained request, the runtime aborted the whole process (docs/llm.md)
    speculative: Literal["ngram", "none"] = "none"
    #: where assembled model files are cached (default ``$LLMNAS_CACHE`` or ``~/.cache/llmnas``)
    cache_dir: str | None = None

    price_in_per_mtok: float | None = None
    price_out_per_mtok: float | None = None

    @pydantic.field_validator("base_url")
    @classmethod
    def _check_url(cls, v: str | None) -> str | None:
        return check_base_url(v)

    @pydantic.field_validator("backend")
    @classmethod
    def _check_backend(cls, v: str) -> str:
        from .backends import BACKENDS  # the registry imports this module's types only for typing

        if v not in BACKENDS:
            raise ValueError(BACKENDS.unknown_message(v))
        return v


@dataclass(frozen=True)
class Usage:
    """Token counts of one call, as the endpoint reported them (0 when it did not)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    #: prompt tokens the server took from its KV / prompt cache instead of processing them
    cached_tokens: int = 0


@dataclass(frozen=True)
class Reply:
    """What ``chat`` returns: the usable answer of the last (re-)ask.

    ``text`` is the answer without reasoning; ``reasoning`` is the separated
    ``reasoning_content`` / ``<think>`` text (never fed back to the model). ``parsed`` is the
    schema-valid JSON value (or ``None`` without a schema). ``usage`` and ``latency_s`` add up
    all the asks of this ``chat`` call. ``cached`` is true when the reply was replayed.
    ``finish_reason`` is the last ask's (``length``: the reply was cut at ``max_tokens``).
    """

    text: str
    reasoning: str
    usage: Usage
    model: str
    latency_s: float
    parsed: Any | None
    parse_status: str
    parse_reason: str
    cached: bool = False
    asks: int = 1
    timings: dict[str, float] | None = None
    finish_reason: str = ""


@dataclass
class CallRecord:
    """One request to the model (each re-ask is its own record). JSON-able via ``to_dict``.

    ``messages_hash`` identifies the request for replay (see :func:`messages_hash`).
    ``error`` is set (and ``text`` empty) when the call failed; ``cached`` marks a replayed
    call. ``params`` holds the sampling parameters actually sent. ``cached_tokens`` is the part
    of ``prompt_tokens`` the server reused from its prompt cache (0 when it reports none);
    ``slot`` the embedded server slot that served the call (None: the server chose).
    """

    purpose: str
    messages: list[Message]
    schema: dict[str, Any] | None
    params: dict[str, Any]
    text: str = ""
    reasoning: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    parse_status: str = "none"
    parse_reason: str = ""
    model: str = ""
    backend: str = ""
    endpoint: str = ""
    error: str | None = None
    timestamp: str = ""
    ask: int = 0
    retries: int = 0
    structured: str = "none"
    finish_reason: str = ""
    cached: bool = False
    cost_usd: float | None = None
    timings: dict[str, float] | None = None
    messages_hash: str = ""
    cached_tokens: int = 0
    slot: int | None = None

    def __post_init__(self) -> None:
        if not self.messages_hash:
            self.messages_hash = messages_hash(self.messages)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict of every field."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CallRecord:
        """Inverse of :meth:`to_dict`; unknown keys (from newer versions) are ignored."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


@runtime_checkable
class CallSink(Protocol):
    """Receives every :class:`CallRecord`; the run store implements it."""

    def record_llm_call(self, record: CallRecord) -> None: ...


@runtime_checkable
class LLMClient(Protocol):
    """The one interface every strategy talks to. See the module docstring for the rules."""

    settings: LLMSettings

    def chat(
        self,
        messages: list[Message],
        *,
        schema: dict[str, Any] | None = None,
        purpose: str = "",
        validate: Validate | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        max_tokens: int | None = None,
        seed: int | None = None,
        stop: list[str] | None = None,
        timeout_s: float | None = None,
    ) -> Reply: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Request:
    """One request as a transport sees it (after the client applied defaults)."""

    messages: list[Message]
    schema: dict[str, Any] | None
    params: dict[str, Any]
    timeout_s: float
    #: what the call is for (``navigator``, ``generator``, ``ranker``...): the embedded server
    #: keeps one slot (KV cache) per purpose, so alternating roles do not evict each other
    purpose: str = ""
    #: embedded: the server slot to use (set by the embedded transport; None: the server picks)
    slot: int | None = None


@dataclass(frozen=True)
class Completion:
    """A transport's raw answer, before reasoning separation and parsing."""

    text: str
    reasoning: str = ""
    usage: Usage = field(default_factory=Usage)
    model: str = ""
    latency_s: float = 0.0
    finish_reason: str = ""
    retries: int = 0
    structured: str = "none"  # how the schema reached the server: json_schema, grammar, prompt, none
    timings: dict[str, float] | None = None
    cached: bool = False
    slot: int | None = None
    #: set when the server's reply was not a usable completion (not JSON, no choices, too large)
    problem: str = ""
    #: something odd about an otherwise usable reply (e.g. implausible token counts)
    note: str = ""


class Transport(Protocol):
    """Sends one request (retrying transient faults itself) and returns a raw completion.

    Raises :class:`~llmnas.errors.EndpointError` when the endpoint keeps failing; the message
    names the endpoint and the fix. ``name`` is the backend, ``endpoint`` a printable URL.
    """

    name: str
    endpoint: str

    def complete(self, request: Request) -> Completion: ...

    def close(self) -> None: ...


def messages_hash(messages: list[Message]) -> str:
    """sha256 of the canonical JSON of ``messages``: what replay compares position by position."""
    blob = json.dumps(messages, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()
