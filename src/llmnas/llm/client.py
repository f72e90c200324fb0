"""ChatClient: the one implementation of :class:`~llmnas.llm.base.LLMClient`.

It owns what every backend shares: defaults from the settings, reasoning separation, lenient
parsing and schema validation, bounded re-asks with the reason added to the conversation, and
one :class:`~llmnas.llm.base.CallRecord` per request handed to the sink. Backends differ only
in their transport (embedded, openai, replay, scripted).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from llmnas import progress_events
from llmnas.errors import ConfigError, EndpointError, LLMReplyError
from llmnas.llm.base import (
    CallRecord, CallSink, Completion, LLMSettings, Message, Reply, Request, Transport, Usage,
    Validate,
)
from llmnas.llm.parsing import check_schema, parse_json, split_reasoning

REASK = ("Your previous reply could not be used: {reason}. "
         "Answer the same request again, and reply with only what was asked for.")


class ChatClient:
    """An :class:`LLMClient` over one transport; see the module docstring."""

    def __init__(self, settings: LLMSettings, transport: Transport, *,
                 sink: CallSink | None = None, record_cached: bool = True) -> None:
        self.settings = settings
        self.transport = transport
        self.sink = sink
        self.record_cached = record_cached

    def __repr__(self) -> str:
        return (f"ChatClient(backend={self.settings.backend!r}, model={self.settings.model!r}, "
                f"transport={self.transport!r})")

    def close(self) -> None:
        """Release the transport (the embedded server stops when its last client closes)."""
        self.transport.close()

    def __enter__(self) -> ChatClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def chat(self, messages: list[Message], *, schema: dict[str, Any] | None = None,
             purpose: str = "", validate: Validate | None = None,
             temperature: float | None = None, top_p: float | None = None,
             max_tokens: int | None = None, seed: int | None = None,
             stop: list[str] | None = None, timeout_s: float | None = None) -> Reply:
        """Ask, parse, validate; re-ask at most ``max_reasks`` times; raise when still unusable."""
        if schema is not None and (bad := check_schema(schema)) is not None:
            raise ConfigError(f"the JSON schema for {purpose or 'this call'} is invalid ({bad}); "
                              "fix the schema")
        s = self.settings
        params = {"temperature": s.temperature if temperature is None else temperature,
                  "top_p": s.top_p if top_p is None else top_p,
                  "max_tokens": s.max_tokens if max_tokens is None else max_tokens,
                  "seed": s.seed if seed is None else seed,
                  "stop": s.stop if stop is None else stop}
        timeout = s.timeout_s if timeout_s is None else timeout_s
        convo = [dict(m) for m in messages]
        prompt = completion = cached = 0
        latency = 0.0
        reply: Reply | None = None
        progress_events.llm_call(purpose)
        for ask in range(s.max_reasks + 1):
            request = Request(convo, schema, params, timeout, purpose)
            try:
                done = self.transport.complete(request)
            except EndpointError as exc:
                self._emit(CallRecord(purpose, convo, schema, params, error=str(exc), ask=ask,
                                      backend=self.transport.name,
                                      endpoint=self.transport.endpoint, timestamp=_now()))
                raise
            if done.problem:  # the server's reply was no completion: record it, ask the same again
                self._emit(self._record(purpose, convo, schema, params, done, "", "", "failed",
                                        done.problem, ask))
                if ask == s.max_reasks:
                    raise EndpointError(
                        f"{self.transport.endpoint} sent no usable reply to {purpose or 'a call'} in "
                        f"{ask + 1} asks ({_one_line(done.problem)}); check the server (and any proxy "
                        "in between) with `llmnas llm check`")
                continue
            text, reasoning = split_reasoning(_valid_utf8(done.text), _valid_utf8(done.reasoning))
            parsed, status, reason = _judge(text, schema, validate, done, params["max_tokens"])
            if done.note and not reason:
                reason = done.note
            prompt += done.usage.prompt_tokens
            completion += done.usage.completion_tokens
            cached += done.usage.cached_tokens
            latency += done.latency_s
            self._emit(self._record(purpose, convo, schema, params, done, text, reasoning,
                                    status, reason, ask))
            reply = Reply(text, reasoning, Usage(prompt, completion, cached), done.model, latency,
                          parsed, status, reason, done.cached, ask + 1, done.timings,
                          done.finish_reason)
            if status != "failed":
                return reply
            convo = [*convo, {"role": "assistant", "content": text},
                     {"role": "user", "content": REASK.format(reason=reason)}]
        assert reply is not None
        error = LLMReplyError(
            f"the LLM reply for {purpose or 'a call'} was unusable after {reply.asks} asks "
            f"({_one_line(reply.parse_reason)}); try a stronger model, raise llm.max_reasks "
            "or llm.max_tokens, or simplify the request")
        error.reply = reply  # type: ignore[attr-defined]
        raise error

    def _record(self, purpose: str, convo: list[Message], schema: dict[str, Any] | None,
                params: dict[str, Any], done: Completion, text: str, reasoning: str,
                status: str, reason: str, ask: int) -> CallRecord:
        s = self.settings
        cost = None
        if s.price_in_per_mtok is not None and s.price_out_per_mtok is not None:
            cost = (done.usage.prompt_tokens * s.price_in_per_mtok
                    + done.usage.completion_tokens * s.price_out_per_mtok) / 1e6
        return CallRecord(
            purpose, convo, schema, dict(params), text=text, reasoning=reasoning,
            prompt_tokens=done.usage.prompt_tokens,
            completion_tokens=done.usage.completion_tokens, latency_s=done.latency_s,
            parse_status=status, parse_reason=reason, model=done.model,
            backend=self.transport.name, endpoint=self.transport.endpoint, timestamp=_now(),
            ask=ask, retries=done.retries, structured=done.structured,
            finish_reason=done.finish_reason, cached=done.cached, cost_usd=cost,
            timings=done.timings, cached_tokens=done.usage.cached_tokens, slot=done.slot)

    def _emit(self, record: CallRecord) -> None:
        if self.sink is not None and (self.record_cached or not record.cached):
            self.sink.record_llm_call(record)


def _judge(text: str, schema: dict[str, Any] | None, validate: Validate | None,
           done: Completion, max_tokens: int) -> tuple[Any, str, str]:
    """(parsed value, parse status, reason) for one reply."""
    parsed, status, reason = None, "none", ""
    if schema is not None:
        result = parse_json(text, schema)
        parsed, status, reason = result.value, result.status, result.reason
        if status == "failed":
            if done.finish_reason == "length":
                reason += f"; the reply hit max_tokens={max_tokens}"
            return (None, status, reason)
    if validate is not None:
        bad = validate(parsed if schema is not None else text)
        if bad is not None:
            return (parsed, "failed", f"validate: {bad}")
    return parsed, status, reason


def _valid_utf8(text: str) -> str:
    """``text`` with lone surrogates (JSON ``\\udXXX`` escapes, undecodable bytes) replaced by
    U+FFFD, so a reply can always be hashed, stored and sent back to the model."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


def _one_line(text: str) -> str:
    return " ".join(text.split())[:300]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")
