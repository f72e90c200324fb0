"""One local HTTP server for the fake OpenAI-compatible endpoints of the tests.

``serve_json(answer)`` starts a threaded server on 127.0.0.1 whose every POST is answered by
``answer(body, headers)`` -> (status, JSON payload, extra headers), where ``headers`` is the
request's header message (``.get`` ignores case); a client that hangs up mid-reply is ignored. The fakes in tests/llm and tests/reliability differ only in ``answer``."""

from __future__ import annotations

import json
import threading
import time
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

Answer = Callable[[dict[str, Any], Message], tuple[int, dict[str, Any], dict[str, str]]]


def serve_json(answer: Answer, port: int = 0) -> tuple[ThreadingHTTPServer, str]:
    """Start the server (``port`` 0: any free one); returns it and its ``/v1`` base URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            status, payload, extra = answer(body, self.headers)
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

    ThreadingHTTPServer.allow_reuse_address = True
    httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}/v1"


def stop(httpd: ThreadingHTTPServer) -> None:
    httpd.shutdown()
    httpd.server_close()


# ----- faulty replies (the hostile-input tests) ------------------------------------------------
FAULTS = ("ok", "trickle", "trickle_headers", "huge", "non_json", "html", "list_content", "weird_usage",
          "huge_usage", "error_body", "redirect_loop", "choices_null", "stall")


def chat_body(text: str = '{"ok": true}', **extra: Any) -> dict[str, Any]:
    """A well-formed chat completion with ``text`` as the answer."""
    return {"id": "x", "object": "chat.completion", "created": 0, "model": "fake",
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20}, **extra}


def serve_faults(mode: str | Callable[[int], str], *, text: str = '{"ok": true}',
                 huge_bytes: int = 50_000_000) -> tuple[ThreadingHTTPServer, str, list[str]]:
    """A server on 127.0.0.1 whose replies are faulty in one of :data:`FAULTS` ways (``mode`` may
    be a function of the request count, from 1). Returns the server, its ``/v1`` URL and the list
    of modes it answered with (one per request)."""
    served: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _reply(self, status: int, data: bytes, ctype: str = "application/json", extra: dict | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802  (models list, redirect targets)
            self._answer()

        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self._answer()

        def _answer(self) -> None:
            m = mode(len(served) + 1) if callable(mode) else mode
            served.append(m)
            try:
                self._fault(m)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def _fault(self, m: str) -> None:
            ok = json.dumps(chat_body(text)).encode()
            if m == "ok":
                self._reply(200, ok)
            elif m == "trickle":  # headers at once, then one byte a second, forever
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(10 ** 9))
                self.end_headers()
                while True:
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(0.5)
            elif m == "trickle_headers":  # the status line and headers trickle
                for ch in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 10 ** 6:
                    self.wfile.write(bytes([ch]))
                    self.wfile.flush()
                    time.sleep(0.5)
            elif m == "stall":  # accepts, then says nothing
                time.sleep(3600)
            elif m == "huge":
                pad = "x" * huge_bytes
                self._reply(200, json.dumps(chat_body(pad)).encode())
            elif m == "non_json":
                self._reply(200, b'{"id": "x", "choices": [', "application/json")
            elif m == "html":
                self._reply(200, b"<html><body><h1>Proxy login</h1></body></html>", "text/html")
            elif m == "list_content":
                body = chat_body(text)
                body["choices"][0]["message"]["content"] = [{"type": "text", "text": text}]
                self._reply(200, json.dumps(body).encode())
            elif m == "weird_usage":
                self._reply(200, json.dumps(chat_body(text, usage={"prompt_tokens": "many", "completion_tokens": [1]})).encode())
            elif m == "huge_usage":
                self._reply(200, json.dumps(chat_body(text, usage={"prompt_tokens": 10 ** 30, "completion_tokens": -5})).encode())
            elif m == "error_body":  # HTTP 200 that is an error
                self._reply(200, json.dumps({"error": {"message": "model overloaded", "code": 503}}).encode())
            elif m == "choices_null":
                self._reply(200, json.dumps({**chat_body(text), "choices": None}).encode())
            elif m == "redirect_loop":
                self._reply(307, b"", extra={"Location": self.path})
            else:
                raise ValueError(m)

        def log_message(self, *args: Any) -> None:
            pass

    ThreadingHTTPServer.allow_reuse_address = True
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}/v1", served
