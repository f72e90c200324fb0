"""ScriptedClient: canned replies through the real client logic, for unit tests of strategies.

Parsing, re-asks and :class:`~llmnas.llm.base.CallRecord` emission are the production code
(:class:`~llmnas.llm.client.ChatClient`); only the transport is replaced. A reply may be a
string, an exception to raise (e.g. an :class:`~llmnas.errors.EndpointError`), or the script may
be a function of the messages.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from llmnas.errors import LlmnasError
from llmnas.llm.base import CallSink, Completion, LLMSettings, Message, Request, Usage
from llmnas.llm.client import ChatClient

Script = Sequence["str | BaseException"] | Callable[[list[Message]], str]


class ScriptExhaustedError(LlmnasError):
    """The test asked the scripted client more often than it has replies."""


class ScriptedTransport:
    """Returns the next scripted reply; usage counts whitespace-separated words."""

    name = "scripted"
    endpoint = "scripted"

    def __init__(self, script: Script, model: str = "scripted") -> None:
        self._script = script
        self._model = model
        self.requests: list[Request] = []

    def complete(self, request: Request) -> Completion:
        self.requests.append(request)
        if callable(self._script):
            item: str | BaseException = self._script(request.messages)
        else:
            if len(self.requests) > len(self._script):
                raise ScriptExhaustedError(
                    f"the scripted client has {len(self._script)} replies and was asked for "
                    f"reply {len(self.requests)}; add replies to the script")
            item = self._script[len(self.requests) - 1]
        if isinstance(item, BaseException):
            raise item
        words = sum(len(m.get("content", "").split()) for m in request.messages)
        return Completion(text=item, usage=Usage(words, len(item.split())), model=self._model,
                          structured="none" if request.schema is None else "prompt")

    def close(self) -> None:
        pass


class ScriptedClient(ChatClient):
    """An LLMClient answering from a script; ``requests`` lists what it was asked."""

    def __init__(self, script: Script, *, settings: LLMSettings | None = None,
                 sink: CallSink | None = None, model: str = "scripted") -> None:
        self.scripted = ScriptedTransport(script, model)
        super().__init__(settings or LLMSettings(model=model), self.scripted, sink=sink)

    @property
    def requests(self) -> list[Request]:
        """Every request sent so far (re-asks included), in order."""
        return self.scripted.requests
