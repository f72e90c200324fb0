"""Limits on one HTTP exchange with an LLM server: a wall-clock deadline and a reply-size cap.

``httpx`` timeouts bound each socket operation, not the request: a server that sends one byte a
second never trips a 3 s read timeout, and one that sends 50 MB is read to the end. Here every
connect, write and read of a request made inside :func:`limits` gets at most the time left
until the request's deadline, and the bytes received are counted; past the deadline the
operation raises ``httpcore`` ``ReadTimeout`` (the ``openai`` client reports it as a timeout),
past the cap ``ReadError``, and :attr:`Limits.broken` says which limit was hit.

The limits sit in a network backend under the connection pool, so they hold for the status
line and headers too (a trickled header is still one read per byte), for every client built
by :func:`http_client` (remote endpoints and the embedded server on 127.0.0.1 alike).
"""

from __future__ import annotations

import contextlib
import contextvars
import time
from dataclasses import dataclass
from typing import Any, Iterator

import httpcore2
import httpx2

_CURRENT: contextvars.ContextVar["Limits | None"] = contextvars.ContextVar("llmnas_http_limits", default=None)


@dataclass
class Limits:
    """The limits of the request in flight and what it has used."""

    deadline: float  # time.monotonic() by which the whole reply must be in
    max_bytes: int
    received: int = 0
    broken: str = ""  # "" | "deadline" | "size"

    def left(self, timeout: float | None) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            self.broken = "deadline"
            raise httpcore2.ReadTimeout("the request's total deadline has passed")
        return left if timeout is None else min(timeout, left)

    def count(self, n: int) -> None:
        self.received += n
        if self.received > self.max_bytes:
            self.broken = "size"
            raise httpcore2.ReadError(f"the reply is larger than {self.max_bytes} bytes")


@contextlib.contextmanager
def limits(seconds: float, max_bytes: int) -> Iterator[Limits]:
    """Run the requests of the ``with`` block under one deadline and byte cap."""
    lim = Limits(time.monotonic() + seconds, max_bytes)
    token = _CURRENT.set(lim)
    try:
        yield lim
    finally:
        _CURRENT.reset(token)


class _Stream(httpcore2.NetworkStream):
    def __init__(self, inner: httpcore2.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        lim = _CURRENT.get()
        if lim is None:
            return self._inner.read(max_bytes, timeout)
        try:
            data = self._inner.read(max_bytes, lim.left(timeout))
        except httpcore2.ReadTimeout:
            if time.monotonic() >= lim.deadline:
                lim.broken = "deadline"
            raise
        lim.count(len(data))
        return data

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        lim = _CURRENT.get()
        self._inner.write(buffer, timeout if lim is None else lim.left(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore2.NetworkStream:
        lim = _CURRENT.get()
        inner = self._inner.start_tls(ssl_context, server_hostname, timeout if lim is None else lim.left(timeout))
        return _Stream(inner)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _Backend(httpcore2.NetworkBackend):
    def __init__(self, inner: httpcore2.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None, socket_options: Any = None) -> httpcore2.NetworkStream:
        lim = _CURRENT.get()
        return _Stream(self._inner.connect_tcp(host, port, timeout if lim is None else lim.left(timeout),
                                               local_address, socket_options))

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Any = None) -> httpcore2.NetworkStream:
        lim = _CURRENT.get()
        return _Stream(self._inner.connect_unix_socket(path, timeout if lim is None else lim.left(timeout),
                                                       socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _Transport(httpx2.HTTPTransport):
    """``httpx``'s own transport (pool, proxies, TLS) with the limits under its connections."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        pool = self._pool
        pool._network_backend = _Backend(pool._network_backend)  # every connection of the pool uses it


def http_client(**kwargs: Any) -> httpx2.Client:
    """An ``httpx`` client for the ``openai`` SDK whose requests obey :func:`limits`."""
    import openai

    return openai.DefaultHttpx2Client(transport=_Transport(), **kwargs)
