"""``llmnas dashboard RUN|BENCH_DIR``: a run in the browser, live, through optuna-dashboard.

The run store (or every store under a bench folder) is opened read-only and mirrored into an
in-memory Optuna storage by :class:`~llmnas.report.optuna_export.RunMirror`; optuna-dashboard
(the ``dashboard`` extra) serves that storage on 127.0.0.1. Every ``interval`` seconds the
mirror reads what the search wrote since (new trials, finished pending ones, new studies and
new store files of a running bench), so a search running in another process shows its new
trials within seconds. Nothing is written to the llmnas store, and nothing outside memory.
"""

from __future__ import annotations

import threading
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any, Callable
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from ..errors import ConfigError
from .optuna_export import RunMirror


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        pass


class Dashboard:
    """The mirror plus the web server; ``start()`` serves in a thread, ``follow()`` keeps syncing."""

    def __init__(self, source: str | Path, host: str = "127.0.0.1", port: int = 8080, interval: float = 1.0) -> None:
        try:
            import optuna_dashboard
        except ImportError:
            raise ConfigError("llmnas dashboard needs optuna-dashboard; pip install 'llmnas[dashboard]'") from None
        import optuna

        if interval <= 0:
            raise ConfigError("--interval must be a positive number of seconds")
        self.interval = interval
        self.storage = optuna.storages.InMemoryStorage()
        self.mirror = RunMirror(source, self.storage)
        app = optuna_dashboard.wsgi(self.storage)
        try:
            self.server = make_server(host, port, app, server_class=_Server, handler_class=_QuietHandler)
        except OSError as exc:
            raise ConfigError(f"cannot listen on {host}:{port} ({exc.strerror or exc}); pick another --port (0: any free port)") from None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/dashboard/"

    def start(self) -> "Dashboard":
        self._thread = threading.Thread(target=self.server.serve_forever, name="llmnas-dashboard", daemon=True)
        self._thread.start()
        return self

    def follow(self, stop: threading.Event | None = None, on_sync: Callable[[int], None] | None = None) -> None:
        """Sync now, then every ``interval`` seconds, until ``stop`` is set (or Ctrl-C). The
        server is already up during the first pass, which for a large bench folder takes a
        while (about 2 ms per trial): its studies appear one by one."""
        stop = stop or threading.Event()
        while True:
            n = self.mirror.sync()
            if on_sync is not None:
                on_sync(n)
            if stop.wait(self.interval):
                return

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.mirror.close()


def serve(source: str | Path, host: str, port: int, interval: float, say: Callable[[str], None]) -> None:
    """Serve until Ctrl-C."""
    board = Dashboard(source, host, port, interval).start()
    say(f"dashboard of {source}: {board.url}")
    say("it follows the run live (read-only); Ctrl-C stops it")
    first = [True]

    def report(_: int) -> None:
        if first[0]:
            first[0] = False
            n_trials = sum(m.n for m in board.mirror.mirrors.values())
            say(f"{len(board.mirror.mirrors)} {'study' if len(board.mirror.mirrors) == 1 else 'studies'}, {n_trials} trials so far")

    try:
        board.follow(on_sync=report)
    except KeyboardInterrupt:
        pass
    finally:
        board.close()
