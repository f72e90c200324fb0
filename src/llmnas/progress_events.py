"""Live progress events: what a run is doing right now, for whoever shows it.

Deep parts of a run (the runner, the LLM client and transport, the embedded server) call the
emit functions here; a front end (the CLI's live status line, see :mod:`llmnas.progress_view`)
subscribes a listener for the duration of a run. With no listener every emit is a cheap no-op,
so library use and tests are unaffected, and the LLM transport streams replies only while
someone listens for tokens (:func:`wants_tokens`).

Events, in the order a CoLLM round emits them::

    phase("loading the model", "qwen2.5-coder-0.5b-q4_0", blocking=True)  # embedded server (once)
    phase("Navigator", "writing the strategy")              # ChatClient.chat, by purpose
    tokens(0, 0.0, waiting=True)                            # request sent, prompt being read
    tokens(37, 2.1)                                         # streamed reply so far
    phase("Generator", "proposing candidates")
    ...
    phase("evaluating", "12 architectures")                 # runner, before the executor runs

Listeners are called on the emitting thread and must be quick and thread-safe.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Iterator

#: labels of the LLM roles a ChatClient call's ``purpose`` names
ROLES = {
    "navigator": ("Navigator", "writing the search strategy"),
    "generator": ("Generator", "proposing candidates"),
    "ranker": ("LM-Searcher ranker", "choosing a candidate"),
    "rank-poc": ("ranking", "ordering architectures"),
}


@dataclass(frozen=True)
class Event:
    """``kind`` is "phase" (a new phase began) or "tokens" (an LLM reply advanced)."""

    kind: str
    phase: str = ""
    detail: str = ""
    tokens: int = 0  # completion tokens so far of the current LLM reply
    elapsed_s: float = 0.0  # seconds since the request was sent
    waiting: bool = False  # request sent, no token back yet (the server is reading the prompt)
    blocking: bool = False  # the phase holds the interpreter (no other thread runs until it ends)
    time: float = field(default_factory=time.monotonic)


Listener = Callable[[Event], None]
_LOCK = threading.Lock()
_LISTENERS: list[tuple[Listener, bool]] = []  # (listener, wants tokens)


@contextmanager
def listening(listener: Listener, tokens: bool = True) -> Iterator[None]:
    """Send every event to ``listener`` inside the block; ``tokens``: also per-token progress
    (which makes OpenAI-compatible transports stream their replies)."""
    entry = (listener, tokens)
    with _LOCK:
        _LISTENERS.append(entry)
    try:
        yield
    finally:
        with _LOCK:
            _LISTENERS.remove(entry)


def active() -> bool:
    return bool(_LISTENERS)


def wants_tokens() -> bool:
    """True while a listener wants per-token progress (transports then stream)."""
    return any(t for _, t in _LISTENERS)


def emit(event: Event) -> None:
    with _LOCK:
        listeners = list(_LISTENERS)
    for listener, tokens in listeners:
        if event.kind != "tokens" or tokens:
            listener(event)


def phase(name: str, detail: str = "", blocking: bool = False) -> None:
    """A new phase began (e.g. "evaluating", "12 architectures"). ``blocking``: it holds the
    interpreter (loading a model in C++ does), so a front end must show it now, on this thread."""
    if _LISTENERS:
        emit(Event("phase", name, detail, blocking=blocking))


def llm_call(purpose: str) -> None:
    """An LLM call for ``purpose`` (navigator, generator, ranker, ...) is about to be made."""
    if _LISTENERS:
        name, detail = ROLES.get(purpose, ("LLM", purpose or "answering"))
        emit(Event("phase", name, detail))


def tokens(n: int, elapsed_s: float, waiting: bool = False) -> None:
    """The current LLM reply has ``n`` completion tokens after ``elapsed_s`` seconds."""
    if _LISTENERS:
        emit(Event("tokens", tokens=n, elapsed_s=elapsed_s, waiting=waiting))
