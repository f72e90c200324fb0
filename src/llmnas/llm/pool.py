"""Several OpenAI-compatible endpoints behind one transport, each with a concurrency limit.

A cluster with more than one model server (or one server that takes N requests at a time) is
used in parallel without exceeding any server's limit:

* every request goes to the least busy endpoint that has a free slot (ties: round robin);
* an endpoint's limit (``max_concurrency``) holds across the threads of this process *and*
  across the processes of this machine (``llmnas bench`` workers, several runs): a slot is an
  exclusive ``flock`` on a small file under ``<cache>/endpoint-slots/``, which the kernel
  releases when its holder exits, even on SIGKILL, so no slot is ever leaked;
* an endpoint that keeps failing (after its own retries) is skipped for this request and the
  next endpoint is tried; the request fails only when every endpoint has failed it.

Slots do not span machines: on a cluster, give each machine's runs their share of the limit.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmnas.errors import EndpointError
from llmnas.llm.base import Completion, Request, Transport

POLL_S = 0.02  # how often a waiting request looks for a slot freed by another process
DOWN_S = 30.0  # an endpoint that failed is tried last for this long


@dataclass
class Member:
    transport: Transport
    limit: int | None  # None: no limit
    slot_dir: Path | None
    in_flight: int = 0
    served: int = 0
    down_until: float = 0.0
    fds: dict[int, int] = field(default_factory=dict)  # slot index -> open file descriptor

    @property
    def url(self) -> str:
        return self.transport.endpoint

    def try_slot(self) -> int | None:
        """Take a free slot (flock, non-blocking); returns its index, -1 without a limit, None when full."""
        if self.limit is None:
            return -1
        assert self.slot_dir is not None
        for i in range(self.limit):
            if i in self.fds:
                continue  # held by another thread of this process
            fd = os.open(self.slot_dir / f"slot-{i}.lock", os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            self.fds[i] = fd
            return i
        return None

    def free_slot(self, i: int) -> None:
        fd = self.fds.pop(i, None)
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


def slot_dir(base: Path, url: str, limit: int) -> Path:
    """The folder of one endpoint's slot files (one folder per URL and limit)."""
    tag = hashlib.sha256(url.rstrip("/").encode()).hexdigest()[:16]
    d = base / "endpoint-slots" / f"{tag}-{limit}"
    d.mkdir(parents=True, exist_ok=True)
    return d


class EndpointPool:
    """A :class:`~llmnas.llm.base.Transport` over several endpoints; see the module docstring."""

    name = "openai"

    def __init__(self, members: list[tuple[Transport, int | None]], slot_base: Path) -> None:
        if not members:
            raise ValueError("an endpoint pool needs at least one endpoint")
        self.members = [Member(t, lim, slot_dir(slot_base, t.endpoint, lim) if lim else None) for t, lim in members]
        self._cond = threading.Condition()
        self._next = 0
        self._local = threading.local()

    def __repr__(self) -> str:
        return "EndpointPool(" + ", ".join(f"{m.url} x{m.limit or 'inf'}" for m in self.members) + ")"

    @property
    def endpoint(self) -> str:
        """The endpoint that served this thread's latest request (all of them before any)."""
        return getattr(self._local, "url", None) or ",".join(m.url for m in self.members)

    def complete(self, request: Request) -> Completion:
        tried: set[int] = set()
        errors: list[str] = []
        while True:
            got = self._acquire(tried)
            if got is None:
                raise EndpointError(f"every endpoint of the pool failed this request: {' | '.join(errors)}"[:1500])
            idx, slot = got
            m = self.members[idx]
            self._local.url = m.url
            try:
                done = m.transport.complete(request)
                m.served += 1
                return done
            except EndpointError as exc:
                tried.add(idx)
                errors.append(str(exc))
                m.down_until = time.monotonic() + DOWN_S
            finally:
                self._release(idx, slot)

    def _acquire(self, tried: set[int]) -> tuple[int, int] | None:
        """Wait for a slot on the least busy endpoint not yet tried for this request."""
        with self._cond:
            while True:
                now = time.monotonic()
                order = [i for i in range(len(self.members)) if i not in tried]
                if not order:
                    return None
                n = len(self.members)
                order.sort(key=lambda i: (self.members[i].down_until > now,
                                          self.members[i].in_flight / (self.members[i].limit or 1e9),
                                          (i - self._next) % n))
                for i in order:
                    slot = self.members[i].try_slot()
                    if slot is not None:
                        self.members[i].in_flight += 1
                        self._next = (i + 1) % n
                        return i, slot
                self._cond.wait(POLL_S)

    def _release(self, idx: int, slot: int) -> None:
        with self._cond:
            m = self.members[idx]
            m.in_flight -= 1
            if slot >= 0:
                m.free_slot(slot)
            self._cond.notify()

    def stats(self) -> list[dict[str, Any]]:
        return [{"endpoint": m.url, "limit": m.limit, "served": m.served, "in_flight": m.in_flight} for m in self.members]

    def close(self) -> None:
        for m in self.members:
            for i in list(m.fds):
                m.free_slot(i)
            m.transport.close()


def make_pool(settings: Any) -> EndpointPool:
    """The pool an :class:`~llmnas.llm.base.LLMSettings` describes (``endpoints`` and/or
    ``max_concurrency``); each endpoint gets its own transport, key variable and model."""
    from llmnas.errors import ConfigError
    from llmnas.llm.models import default_cache_dir
    from llmnas.llm.openai_compat import OpenAITransport, read_api_key

    specs = settings.endpoints or []
    if not specs:
        if not settings.base_url:
            raise ConfigError("llm.max_concurrency needs an endpoint: set --llm-base-url (or llm.endpoints)")
        specs = [type("E", (), {"base_url": settings.base_url, "model": None, "api_key_env": None,
                                "max_concurrency": None})()]
    members: list[tuple[Transport, int | None]] = []
    for e in specs:
        s = settings.model_copy(update={"api_key_env": e.api_key_env or settings.api_key_env,
                                        "model": e.model or settings.model, "base_url": e.base_url,
                                        "endpoints": None})
        transport = OpenAITransport(s, base_url=e.base_url, model=s.model, api_key=read_api_key(s))
        members.append((transport, e.max_concurrency or settings.max_concurrency))
    return EndpointPool(members, default_cache_dir(settings.cache_dir))
