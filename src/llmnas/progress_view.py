"""The CLI's live view of a run: the budget bar plus a phase line fed by :mod:`llmnas.progress_events`.

On a terminal: a rich live display, refreshed 4 times a second, of the evaluated/budget bar
and a line such as ``Generator: proposing candidates · 212 tokens, 11.3 tok/s · 18 s``. Into a
file or a pipe (no terminal): one plain line at once for each new phase and then every
``interval_s`` seconds while nothing else happens, so a log never goes quiet for long.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.text import Text

from . import progress_events
from .progress_events import Event


class PhaseState:
    """The latest phase and LLM token progress, and the line that describes them."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.phase, self.detail = "starting", ""
        self.since = time.monotonic()
        self.tokens = 0
        self.token_elapsed = 0.0
        self.waiting = False
        self.in_llm = False
        self.first = (0, 0.0)  # (tokens, seconds) at the first token of the current reply
        self.llm_phase: tuple[str, str] | None = None  # the LLM call a sub-phase interrupted
        self.changes = 0  # bumped on every event (what the plain printer watches)

    def on_event(self, ev: Event) -> None:
        with self.lock:
            self.changes += 1
            if ev.kind == "phase":
                self.phase, self.detail, self.since = ev.phase, ev.detail, ev.time
                self.tokens, self.token_elapsed, self.waiting = 0, 0.0, False
                self.first = (0, 0.0)
                self.in_llm = ev.phase in {name for name, _ in progress_events.ROLES.values()} or ev.phase == "LLM"
                self.llm_phase = (ev.phase, ev.detail) if self.in_llm else self.llm_phase
            elif ev.kind == "tokens":
                if not self.in_llm and self.llm_phase:  # back from a sub-phase (the model load) to the call
                    (self.phase, self.detail), self.since, self.in_llm = self.llm_phase, ev.time, True
                if ev.tokens and not self.tokens:  # the first token: generation speed counts from here
                    self.first = (ev.tokens, ev.elapsed_s)
                self.tokens, self.token_elapsed, self.waiting = ev.tokens, ev.elapsed_s, ev.waiting

    def line(self, now: float | None = None) -> str:
        with self.lock:
            now = time.monotonic() if now is None else now
            text = self.phase + (f": {self.detail}" if self.detail else "")
            if self.in_llm:
                if self.tokens:
                    n0, t0 = self.first
                    text += f" · {self.tokens} tokens"
                    if self.token_elapsed > t0 and self.tokens > n0:  # generation only, not the prompt
                        text += f", {(self.tokens - n0) / (self.token_elapsed - t0):.1f} tok/s"
                elif self.waiting:
                    text += " · reading the prompt"
            return f"{text} · {now - self.since:.0f} s"


class LiveStatus:
    """Context manager that shows a run's progress; ``trial`` moves the bar."""

    def __init__(self, console: Console, name: str, total: int, completed: int = 0, interval_s: float = 5.0) -> None:
        self.console, self.interval_s = console, interval_s
        self.state = PhaseState()
        self.terminal = console.is_terminal
        self.name, self.total, self.completed, self.info = name, total, completed, ""
        self._progress: Progress | None = None
        self._live: Live | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._listening: Any = None
        self._last_print = 0.0
        self._printed = 0

    # ----- what the run reports --------------------------------------------------------------------
    def trial(self, completed: int, info: str) -> None:
        self.completed, self.info = completed, info
        if self._progress is not None:
            self._progress.update(self._task, completed=completed, info=info)

    def on_event(self, ev: Event) -> None:
        self.state.on_event(ev)
        if ev.blocking:  # no other thread runs until this phase ends: show it now
            if self._live is not None:
                self._live.refresh()
            elif self._thread is not None:
                self._printed = self.state.changes
                self._print_line()

    # ----- rendering -----------------------------------------------------------------------------
    def __rich__(self) -> Text:
        return Text("  " + self.state.line(), style="cyan")

    def _print_line(self) -> None:
        self.console.print(f"{self.name} {self.completed}/{self.total}: {self.state.line()}",
                           markup=False, highlight=False, soft_wrap=True)
        self._last_print = time.monotonic()

    def _plain_loop(self) -> None:
        """A line when the phase changed (at most one a second), else every ``interval_s``."""
        self._printed = self.state.changes
        while not self._stop.wait(0.25):
            quiet_for = time.monotonic() - self._last_print
            if quiet_for >= self.interval_s or (self.state.changes != self._printed and quiet_for >= 1.0):
                self._printed = self.state.changes
                self._print_line()

    def __enter__(self) -> LiveStatus:
        self._listening = progress_events.listening(self.on_event)
        self._listening.__enter__()
        if self.terminal:
            self._progress = Progress(
                TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[info]}"),
                TimeElapsedColumn(), TimeRemainingColumn(), console=self.console)
            self._task = self._progress.add_task(self.name, total=self.total, completed=self.completed, info="")
            self._live = Live(Group(self._progress, self), console=self.console, refresh_per_second=4, transient=False)
            self._live.__enter__()
        else:
            self._print_line()
            self._thread = threading.Thread(target=self._plain_loop, name="llmnas-progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self._live is not None:
                self._live.__exit__(None, None, None)
            if self._thread is not None:
                self._stop.set()
                self._thread.join(timeout=2)
                if self.state.changes != self._printed:  # where the run ended
                    self._print_line()
        finally:
            self._listening.__exit__(None, None, None)
