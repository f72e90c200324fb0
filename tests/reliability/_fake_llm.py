"""An OpenAI-compatible HTTP server on 127.0.0.1 that plays CoLLM's two roles with legal
NB201 candidates, and can be stopped, restarted on the same port, made to fail, or made to
hold a request (to kill the client during an LLM call)."""

from __future__ import annotations

import json
import random
import socket
import threading
import time
from http.server import ThreadingHTTPServer
from typing import Any, Callable

from _fake_http import serve_json, stop

OPS = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]
EDGES = ["edge_0_1", "edge_0_2", "edge_1_2", "edge_0_3", "edge_1_3", "edge_2_3"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def collm_reply(body: dict[str, Any], n: int) -> str:
    """Navigator: a strategy text. Generator: 6 cells that depend only on the request count."""
    system = body["messages"][0]["content"]
    if system.startswith("You are the Generator"):
        rng = random.Random(n)
        cells = [{e: rng.choice(OPS) for e in EDGES} for _ in range(6)]
        return json.dumps({"candidates": cells})
    return "Favour nor_conv_3x3 on most edges; keep one skip_connect."


def body_for(text: str) -> dict[str, Any]:
    return {"id": "x", "object": "chat.completion", "created": 0, "model": "fake",
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20}}


class CollmServer:
    """``fail(n)`` returns an HTTP status to answer request ``n`` with (or None for a reply);
    ``hold(body, n)`` True makes request ``n`` wait until ``release()``."""

    def __init__(self, port: int | None = None, fail: Callable[[int], int | None] | None = None,
                 hold: Callable[[dict, int], bool] | None = None, count: int = 0) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.fail, self.hold = fail, hold
        self.count = count  # requests answered so far (seeds the made-up candidates)
        self.requests: list[tuple[int, str, int]] = []  # (n, role, status)
        self.holding = threading.Event()
        self._go = threading.Event()
        self._lock = threading.Lock()
        self.httpd: ThreadingHTTPServer | None = None

    def start(self) -> "CollmServer":
        def answer(body: dict[str, Any], headers: Any) -> tuple[int, dict[str, Any], dict[str, str]]:
            with self._lock:
                self.count += 1
                n = self.count
            role = "generator" if body["messages"][0]["content"].startswith("You are the Generator") else "navigator"
            if self.hold is not None and self.hold(body, n):
                self.holding.set()
                self._go.wait(60)
            code = self.fail(n) if self.fail else None
            self.requests.append((n, role, code or 200))
            if code:
                return code, {"error": {"message": "busy"}}, ({"Retry-After": "0"} if code == 429 else {})
            return 200, body_for(collm_reply(body, n)), {}

        self.httpd, _ = serve_json(answer, self.port)
        return self

    def release(self) -> None:
        self._go.set()

    def stop(self) -> None:
        if self.httpd is not None:
            stop(self.httpd)
            self.httpd = None

    def restart_after(self, seconds: float) -> threading.Thread:
        def later() -> None:
            time.sleep(seconds)
            self.start()

        t = threading.Thread(target=later, daemon=True)
        t.start()
        return t


# the server plays the paper-shaped prompts (JSON objects, a free-text strategy)
LLM_FLAGS = ["--strategy", "collm", "--option", "n_min=4", "--option", "n_max=6", "--option", "navigator_max_tokens=64",
             "--option", "encoding=json", "--option", "navigator_format=paper",
             "--llm", "openai", "--llm-model", "fake", "--llm-option", "backoff_base_s=0.1", "--llm-option", "backoff_max_s=0.5"]
