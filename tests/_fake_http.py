"""One local HTTP server for the fake OpenAI-compatible endpoints of the tests.

``serve_json(answer)`` starts a threaded server on 127.0.0.1 whose every POST is answered by
``answer(body, headers)`` -> (status, JSON payload, extra headers), where ``headers`` is the
request's header message (``.get`` ignores case); a client that hangs up mid-reply is ignored. The fakes in tests/llm and tests/reliability differ only in ``answer``."""

from __future__ import annotations

import json
import threading
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
