"""Replay: serve a finished run's recorded calls in order, optionally then fall through to live.

Replay works per request (one :class:`~llmnas.llm.base.CallRecord` per re-ask), so the
client's parsing and re-ask logic run again unchanged and reproduce the same replies. The
request at position *i* must carry the same messages hash as record *i*; a difference means the
prompts, the strategy or its seed changed, and in strict mode raises
:class:`ReplayMismatchError`. Records of failed calls (``error`` set) are skipped: they carry
no answer.
"""

from __future__ import annotations

from collections.abc import Sequence

from llmnas.errors import LlmnasError
from llmnas.llm.base import CallRecord, Completion, Request, Transport, Usage, messages_hash


class ReplayMismatchError(LlmnasError):
    """A replayed run asked something other than what was recorded at that position."""


class ReplayExhaustedError(LlmnasError):
    """A pure replay ran past the last recorded call."""


class ReplayTransport:
    """Serves recorded completions in order; then ``live`` (if given) answers the rest."""

    name = "replay"

    def __init__(self, records: Sequence[CallRecord], *, live: Transport | None = None,
                 strict: bool = True, source: str = "the recorded run") -> None:
        self._queue = [r for r in records if r.error is None]
        self._pos = 0
        self._live = live
        self._strict = strict
        self._source = source

    @property
    def endpoint(self) -> str:
        if self._pos >= len(self._queue) and self._live is not None:
            return self._live.endpoint
        return f"replay:{self._source}"

    @property
    def remaining(self) -> int:
        """Recorded calls not yet served."""
        return len(self._queue) - self._pos

    def __repr__(self) -> str:
        return (f"ReplayTransport(source={self._source!r}, served={self._pos}/"
                f"{len(self._queue)}, live={self._live!r})")

    def complete(self, request: Request) -> Completion:
        if self._pos < len(self._queue):
            record = self._queue[self._pos]
            if messages_hash(request.messages) == record.messages_hash:
                self._pos += 1
                return _completion(record)
            if self._strict:
                raise ReplayMismatchError(
                    f"replay mismatch at call {self._pos + 1} of {self._source} (purpose "
                    f"{record.purpose!r}): the request differs from the recorded one, so the "
                    "prompts, strategy or seed changed; rerun with the recorded config and "
                    "llmnas version, or set llm.replay_strict to false")
            if self._live is not None:
                self._pos = len(self._queue)  # diverged: everything from here is live
            else:
                self._pos += 1
                return _completion(record)
        if self._live is not None:
            return self._live.complete(request)
        raise ReplayExhaustedError(
            f"{self._source} has only {len(self._queue)} recorded LLM calls and the replay "
            "asked for more; replay a finished run, or resume it to continue with a live model")

    def close(self) -> None:
        if self._live is not None:
            self._live.close()


def _completion(record: CallRecord) -> Completion:
    return Completion(
        text=record.text, reasoning=record.reasoning,
        usage=Usage(record.prompt_tokens, record.completion_tokens, record.cached_tokens),
        model=record.model, slot=record.slot,
        latency_s=record.latency_s, finish_reason=record.finish_reason,
        structured=record.structured, timings=record.timings, cached=True)
